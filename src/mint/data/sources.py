"""Where data sets come from: their folders, files downloaded from mirrors (checked before
they are kept, written atomically), SHA-256 checks, and :class:`DataError`, which every loader
of :mod:`mint.data` raises for a failure a user can fix, with a message that says what to do."""

import hashlib
import http.client
import os
import sys
import urllib.request
from pathlib import Path

from mint.files import write_atomically

DOWNLOAD_TIMEOUT = 30.0  # seconds without progress before a mirror is given up


class DataError(RuntimeError):
    """A data set could not be found, downloaded, verified or parsed; the message says why."""


def _progress_disabled():
    """tqdm's ``disable``: off in CI, else only on a terminal (``None`` asks tqdm to check)."""
    return True if os.environ.get("CI") else None


def _data_folder(root, name) -> Path:
    """The folder of data set ``name``: ``root``, else ``~/.cache/mint/<name>``."""
    return Path(root).expanduser() if root is not None else Path.home() / ".cache" / "mint" / name


def _fetch(url: str, timeout: float) -> bytes:
    """All bytes at ``url``, with a progress bar; raises DataError on any failure or truncation."""
    from tqdm import tqdm

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            chunks = []
            with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                      leave=False, disable=_progress_disabled(), file=sys.stderr) as bar:
                while chunk := response.read(1 << 16):
                    chunks.append(chunk)
                    bar.update(len(chunk))
    # URLError, HTTPError, timeouts, bad URLs, and IncompleteRead when a connection drops.
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise DataError(f"{url}: {getattr(error, 'reason', None) or error}") from error
    data = b"".join(chunks)
    if total is not None and len(data) != total:
        raise DataError(f"{url}: download truncated at {len(data)} of {total} bytes")
    return data


def _download(urls, destination, verify, timeout, advice, writable):
    """Write to ``destination`` the bytes of the first of ``urls`` that downloads and passes
    ``verify(raw, url)`` (which raises DataError); else DataError ending in ``advice``.
    ``writable`` says how to give another folder."""
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    failures = []
    for url in urls:
        try:
            raw = _fetch(url, timeout)
            verify(raw, url)
        except DataError as error:
            failures.append(str(error))
            continue
        try:
            write_atomically(destination, lambda file, data=raw: file.write(data))
        except OSError as error:
            raise DataError(
                f"cannot write {destination}: {error.strerror or error}; pass a writable "
                f"data directory ({writable})"
            ) from error
        return destination
    raise DataError(f"could not download {destination.name} "
                    f"({'; '.join(failures) or 'no mirror given'}). {advice}")


def _check_sha256(raw: bytes, expected: str, source: str, name: str):
    """DataError unless the SHA-256 of ``raw`` (read from ``source``) is ``expected``."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise DataError(f"{source} is not the standard {name} (SHA-256 {digest[:12]}..., "
                        f"expected {expected[:12]}...)")
