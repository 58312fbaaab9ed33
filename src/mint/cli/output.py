"""What the commands share to end and report: the exceptions that end a command with one line
and its exit status (a usage error 2, a failure 1, an interrupt 130), an OSError in one line,
the refusal of an output that cannot be written before any work is done, and counted nouns."""

from mint import files


class _UsageError(Exception):
    """Arguments that parse but do not fit together (or with a checkpoint)."""


class _Failure(Exception):
    """A failure the message explains (exit status 1)."""


class _Interrupted(Exception):
    """Ctrl-C, once the command has said what it saved (the message)."""


def _os_error(error):
    """An OSError in one line: "file: reason" when it names a file."""
    return f"{error.filename}: {error.strerror}" if error.filename and error.strerror \
        else str(error)


def _check_writable(option, path):
    """Refuse (usage error) an output ``path`` (of ``option``; ``None``: none asked for) that
    cannot be written, before any work is done."""
    if path is None:
        return
    try:
        files.check_writable(path)
    except OSError as error:
        raise _UsageError(f"{option}: cannot write {path} ({error.strerror})") from None


def _count(n, noun, plural=None):
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"
