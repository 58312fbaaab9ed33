"""Writing files so that a crash at any moment leaves either the old file or the new one, and
locking a folder so that one process at a time writes into it."""

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; folders are not locked there
    fcntl = None

LOCK_NAME = ".mint.lock"


def write_atomically(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, sync it, then rename it onto
    ``path``. On any error (or an interrupt) the temporary file is removed and ``path`` is left
    as it was; an ``OSError`` (a full disk, a read-only folder) names ``path``, not the
    temporary file or no file at all. The file gets the mode ``path`` had, else the one the
    umask gives a new file. Returns ``path`` as a :class:`~pathlib.Path`."""
    path = Path(path)
    with _naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = _temporary_beside(path, path.parent)
        try:
            os.chmod(temporary, _mode_for(path))  # mkstemp makes files only their owner can read
            with os.fdopen(handle, "wb") as file:
                write(file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    _sync_directory(path.parent)
    return path


def check_writable(path):
    """Raise an ``OSError`` naming ``path`` unless :func:`write_atomically` could write it:
    ``path`` is no folder and a file can be created in its folder (or, if that does not exist
    yet, in the nearest folder above it, where the missing ones would be created). Leaves
    nothing behind: for a command to check its output before it does its work."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    with _naming(path):
        handle, temporary = _temporary_beside(path, folder)
    os.close(handle)
    os.unlink(temporary)


def _temporary_beside(path, folder):
    """``mkstemp`` in ``folder``, named after ``path`` as :func:`remove_temporaries` finds it."""
    return tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")


@contextlib.contextmanager
def _naming(path):
    """Re-raise an ``OSError`` of the block as one about ``path`` (same errno, same class)."""
    try:
        yield
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error


def _mode_for(path):
    """The permission bits of ``path``, else those ``open`` would give a new file."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)  # reading the umask means setting it; put it back at once
        os.umask(umask)
        return 0o666 & ~umask


def remove_temporaries(folder, names):
    """Remove the temporary files :func:`write_atomically` left in ``folder`` for the files
    called ``names`` (a process killed while writing cannot remove its own); returns them."""
    stale = [path for name in names for path in Path(folder).glob(f".{name}.*.tmp")]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


class FolderInUse(RuntimeError):
    """Another process holds the lock of a folder; ``pid`` is its process id (or ``None``)."""

    def __init__(self, folder, pid):
        super().__init__(f"{folder} is locked by process {pid}")
        self.folder, self.pid = folder, pid


@contextlib.contextmanager
def locked_folder(folder):
    """Hold an exclusive lock on ``folder`` (a ``.mint.lock`` file in it) inside the block.

    Fails at once with :class:`FolderInUse` if another process holds it, and with ``OSError``
    if no file can be created in ``folder``. The lock dies with its process, even on
    ``kill -9``; the lock file is removed when the block ends.
    """
    path = Path(folder) / LOCK_NAME
    while True:
        file = open(path, "a+")  # closed when the block ends
        try:
            if fcntl is not None:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            text = file.read().strip()
            file.close()
            raise FolderInUse(folder, int(text) if text.isdigit() else None) from None
        # The holder we waited for may have removed the file as we opened it: lock the file
        # that is at ``path`` now, or try again.
        if _same_file(file, path):
            break
        file.close()
    try:
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
        yield path
    finally:
        path.unlink(missing_ok=True)
        file.close()


def _same_file(file, path):
    try:
        return os.path.samestat(os.fstat(file.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def _sync_directory(directory):
    """Make the rename itself durable (POSIX); harmless where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
