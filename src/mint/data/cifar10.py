"""CIFAR-10 from the binary version of its archive (fixed-size records, no pickle): found in a
data folder or downloaded into it, its size and SHA-256 checked before it is read."""

import io
import tarfile
import zlib
from pathlib import Path

import numpy as np

from mint.data.sources import DataError, _check_sha256, _data_folder, _download

CIFAR10_URLS = ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",)
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"  # the binary version: fixed-size records, no pickle
CIFAR10_SIZE = 170_052_171  # bytes
CIFAR10_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
CIFAR10_BATCHES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)],
                   "test": ["test_batch.bin"]}
_CIFAR10_RECORD = 1 + 3 * 32 * 32  # a label byte, then 1024 red, 1024 green, 1024 blue bytes


def _check_cifar10_archive(raw: bytes, source: str):
    if len(raw) != CIFAR10_SIZE:
        raise DataError(f"{source} is {len(raw):,} bytes, but {CIFAR10_ARCHIVE} is "
                        f"{CIFAR10_SIZE:,}: truncated or another file")
    _check_sha256(raw, CIFAR10_SHA256, source, CIFAR10_ARCHIVE)


def load_cifar10(root=None, split="train", download=True, *, timeout=None):
    """CIFAR-10 ``split`` ("train" or "test") as ``(images, labels)``: float32 (N, 3, 32, 32)
    in [0, 1] and int64 (N,) in 0..9 (the names in :data:`CIFAR10_CLASSES`).

    Reads :data:`CIFAR10_ARCHIVE` (the binary version) in ``root``, else
    ``~/.cache/mint/cifar10``; downloads it there when it is missing and ``download`` is
    true. Its size and SHA-256 are checked before it is read (or kept, when downloaded).
    """
    if split not in CIFAR10_BATCHES:
        raise ValueError(f"load_cifar10: split must be 'train' or 'test', got {split!r}")
    directory = _data_folder(root, "cifar10")
    path = directory / CIFAR10_ARCHIVE
    advice = (f"Put {CIFAR10_ARCHIVE} ({CIFAR10_SIZE:,} bytes, from "
              f"{CIFAR10_URLS[0].rsplit('/', 1)[0]}/) in {directory}, or give the folder "
              f"that holds it (--data-dir)")
    if not path.is_file():
        if not download:
            raise DataError(f"{path} not found. {advice}")
        _download(CIFAR10_URLS, path, _check_cifar10_archive, timeout, advice,
                  "root=... or --data-dir")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        _check_cifar10_archive(raw, str(path))
        records = _cifar10_records(raw, split, path)
    except DataError as error:
        raise DataError(f"{error}; delete it so that it is downloaded again") from None
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(CIFAR10_CLASSES))
    if len(bad):
        raise DataError(f"{path} holds label {labels[bad[0]]} (record {bad[0]} of {split}); "
                        f"CIFAR-10 labels are 0 to {len(CIFAR10_CLASSES) - 1}")
    return images, labels


def _cifar10_records(raw: bytes, split: str, path: Path) -> np.ndarray:
    """The records of ``split``'s batches in the archive ``raw``, as uint8 (N, 3073)."""
    batches = []
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as archive:
            for name in CIFAR10_BATCHES[split]:
                member = archive.extractfile(f"cifar-10-batches-bin/{name}")
                contents = member.read()
                if len(contents) % _CIFAR10_RECORD:
                    raise DataError(f"{path}: {name} is {len(contents)} bytes, not a whole "
                                    f"number of {_CIFAR10_RECORD}-byte records")
                batches.append(np.frombuffer(contents, np.uint8).reshape(-1, _CIFAR10_RECORD))
    except (KeyError, tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DataError(f"{path} is not a readable CIFAR-10 binary archive ({error})") from None
    return np.concatenate(batches)
