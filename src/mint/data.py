"""Data sets and batching: MNIST and Fashion-MNIST from IDX files, CIFAR-10 from its binary
archive, the bundled 8x8 digits, folders of your own images, a batch iterator.

MNIST lives in a data directory: the ``root`` argument, else the ``MINT_DATA`` environment
variable, else ``~/.cache/mint/mnist``. Each of its four files may be gzip-compressed
(``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``). A missing file is
downloaded from :data:`MNIST_MIRRORS`, written atomically and verified before it is kept.
Files are verified by the SHA-256 of their *decompressed* bytes, so any faithful
re-compression of the standard files is accepted too. A well-formed IDX file that is not the
standard one (your own data in MNIST's format, such as Fashion-MNIST) is used with a warning.

Every failure a user can fix (no file and no network, a truncated download, a corrupt file)
raises :class:`DataError` with a message that says what to do.
"""

import gzip
import hashlib
import http.client
import io
import os
import sys
import tarfile
import urllib.request
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from mint import _checks as check
from mint.files import write_atomically
from mint.functional import shift_flip

MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

MNIST_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of each standard file's decompressed IDX bytes (the published .gz digests differ
# between re-compressions of the same data, these do not).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MNIST_CLASSES = 10  # labels 0 to 9
DOWNLOAD_TIMEOUT = 30.0  # seconds without progress before a mirror is given up

# The IDX type byte -> big-endian numpy dtype (yann.lecun.com/exdb/mnist, "THE IDX FILE FORMAT").
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class DataError(RuntimeError):
    """A data set could not be found, downloaded, verified or parsed; the message says why."""


def _progress_disabled():
    """tqdm's ``disable``: off in CI, else only on a terminal (``None`` asks tqdm to check)."""
    return True if os.environ.get("CI") else None


# ------------------------------------------------------------------------------------- IDX files


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """The array stored in IDX bytes (already decompressed); ``name`` appears in errors."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(
            f"{name} is not an IDX file (it starts with {data[:4].hex() or 'nothing'}, "
            f"expected 0000 then a type byte and a dimension count)"
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name} is truncated: {len(data)} bytes, less than its header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(
            f"{name} is {state}: {len(data)} bytes, but shape {shape} of {dtype} needs "
            f"{expected}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _decompressed(raw: bytes, name: str) -> bytes:
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(f"{name} is a damaged gzip file ({error})") from error


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not (detected from its first bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from error
    return parse_idx(_decompressed(raw, str(path)), str(path))


# ----------------------------------------------------------------------------------------- MNIST


def mnist_dir(root=None) -> Path:
    """The MNIST directory: ``root``, else ``$MINT_DATA``, else ``~/.cache/mint/mnist``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("MINT_DATA"):
        return Path(os.environ["MINT_DATA"]).expanduser()
    return Path.home() / ".cache" / "mint" / "mnist"


def _mnist_folder(root=None) -> Path:
    """:func:`mnist_dir`, which must be a folder or not exist yet, else DataError."""
    directory = mnist_dir(root)
    if directory.exists() and not directory.is_dir():
        named = f"MINT_DATA={directory}" if root is None else str(directory)
        raise DataError(
            f"{named} is not a directory: point it at the folder that holds the four MNIST "
            f"files, or at a new folder to download them into"
        )
    return directory


def _find(directory: Path, stem: str):
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def missing_mnist_files(root=None, split=None):
    """Names of the MNIST files (of ``split``, default both) absent from :func:`mnist_dir`."""
    directory = _mnist_folder(root)
    splits = MNIST_SPLITS if split is None else {split: MNIST_SPLITS[split]}
    return [stem for stems in splits.values() for stem in stems if _find(directory, stem) is None]


def _differs_from_standard(data: bytes, stem: str):
    """``None`` if ``data`` are the bytes of the standard ``stem``, else how they differ."""
    digest = hashlib.sha256(data).hexdigest()
    if digest == MNIST_SHA256[stem]:
        return None
    return (f"not the standard {stem} (SHA-256 of its contents is {digest[:12]}..., expected "
            f"{MNIST_SHA256[stem][:12]}...)")


def _verified_bytes(raw: bytes, stem: str, source: str) -> bytes:
    """Decompressed bytes of an MNIST file whose SHA-256 is the standard one, else DataError."""
    data = _decompressed(raw, source)
    difference = _differs_from_standard(data, stem)
    if difference:
        raise DataError(f"{source} is {difference}")
    return data


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


def download_mnist_file(stem: str, directory: Path, mirrors=None, timeout=None) -> Path:
    """Download ``<stem>.gz`` from the first mirror that serves it intact, into ``directory``."""
    mirrors = MNIST_MIRRORS if mirrors is None else tuple(mirrors)
    return _download(
        [mirror.rstrip("/") + f"/{stem}.gz" for mirror in mirrors], directory / f"{stem}.gz",
        lambda raw, url: _verified_bytes(raw, stem, url), timeout,
        f"Put the four MNIST files (gzip or not) in {directory} by hand, or point MINT_DATA at "
        f"a folder that holds them", "root=... or the MINT_DATA environment variable")


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


def load_mnist(root=None, split="train", download=True, *, mirrors=None, timeout=None):
    """MNIST ``split`` ("train" or "test") as ``(images, labels)``.

    images: float32 (N, 1, 28, 28) scaled to [0, 1]; labels: int64 (N,) in 0..9. Files missing
    from :func:`mnist_dir` ``(root)`` are downloaded when ``download`` is true (from ``mirrors``,
    default :data:`MNIST_MIRRORS`, giving up on a mirror after ``timeout`` seconds of silence).
    A well-formed IDX file that is not the standard one is used, with a UserWarning.
    """
    if split not in MNIST_SPLITS:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    directory = _mnist_folder(root)
    arrays, paths = [], []
    for stem in MNIST_SPLITS[split]:
        path = _find(directory, stem)
        if path is None:
            if not download:
                raise DataError(
                    f"MNIST file {stem}(.gz) not found in {directory}; pass download=True, or "
                    f"point MINT_DATA at a folder that holds the four MNIST files"
                )
            path = download_mnist_file(stem, directory, mirrors, timeout)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise DataError(f"cannot read {path}: {error.strerror or error}") from error
        try:
            contents = _decompressed(raw, str(path))
            arrays.append(parse_idx(contents, str(path)))
            paths.append(path)
        except DataError as error:
            raise DataError(f"{error}; delete it so that it is downloaded again") from None
        difference = _differs_from_standard(contents, stem)
        if difference:
            warnings.warn(f"{path} is {difference}; using it as it is", UserWarning,
                          stacklevel=2)
    return _idx_images_and_labels(arrays, paths, directory, "MNIST")


def _idx_images_and_labels(arrays, paths, directory, name):
    """The IDX ``arrays`` (images, labels) read from ``paths`` as ``(images, labels)`` of
    :func:`load_mnist`, once their shapes, types and labels (0 to 9) are checked."""
    (images, labels), (images_path, labels_path) = arrays, paths
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path} holds {images.dtype} of shape {images.shape}; {name} "
                        f"images are unsigned bytes of shape (N, height, width)")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{labels_path} holds {labels.dtype} of shape {labels.shape}; {name} "
                        f"labels are integers of shape (N,)")
    bad = np.flatnonzero((labels < 0) | (labels >= MNIST_CLASSES))
    if len(bad):
        raise DataError(f"{labels_path} holds label {labels[bad[0]]} (image {bad[0]}); {name} "
                        f"labels are 0 to {MNIST_CLASSES - 1}")
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{name} files in {directory} do not match: images {images.shape}, labels "
            f"{labels.shape}"
        )
    return _as_images(images, 255.0), labels.astype(np.int64)


# --------------------------------------------------------------------------------- Fashion-MNIST

FASHION_MNIST_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
# SHA-256 of the four .gz files as Zalando publishes them (MNIST's file names).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _data_folder(root, name) -> Path:
    """The folder of data set ``name``: ``root``, else ``~/.cache/mint/<name>``."""
    return Path(root).expanduser() if root is not None else Path.home() / ".cache" / "mint" / name


def load_fashion_mnist(root=None, split="train", download=True, *, mirrors=None, timeout=None):
    """Fashion-MNIST ``split`` ("train" or "test") as ``(images, labels)``, as
    :func:`load_mnist` gives MNIST (labels name :data:`FASHION_MNIST_CLASSES`).

    Reads the split's two files, gzip-compressed as published (MNIST's file names, ``.gz``),
    in ``root``, else ``~/.cache/mint/fashion-mnist``; downloads a missing one there (from
    ``mirrors``, default :data:`FASHION_MNIST_MIRRORS`) when ``download`` is true. Each file's
    SHA-256 is checked before it is read, or kept when downloaded.
    """
    if split not in MNIST_SPLITS:
        raise ValueError(f"load_fashion_mnist: split must be 'train' or 'test', got {split!r}")
    mirrors = FASHION_MNIST_MIRRORS if mirrors is None else tuple(mirrors)
    directory = _data_folder(root, "fashion-mnist")
    names = ", ".join(f"{stem}.gz" for stem in FASHION_MNIST_SHA256)
    source = f", from {mirrors[0]}" if mirrors else ""
    advice = (f"Put the four Fashion-MNIST files ({names}{source}) in {directory}, or give the "
              f"folder that holds them (--data-dir)")
    arrays, paths = [], []
    for stem in MNIST_SPLITS[split]:
        path = directory / f"{stem}.gz"
        if not path.is_file():
            if not download:
                raise DataError(f"{path} not found. {advice}")
            _download([mirror.rstrip("/") + f"/{stem}.gz" for mirror in mirrors], path,
                      lambda raw, url, stem=stem: _check_sha256(
                          raw, FASHION_MNIST_SHA256[stem], url, f"{stem}.gz"),
                      timeout, advice, "root=... or --data-dir")
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise DataError(f"cannot read {path}: {error.strerror or error}") from error
        try:
            _check_sha256(raw, FASHION_MNIST_SHA256[stem], str(path), f"Fashion-MNIST {stem}.gz")
            arrays.append(parse_idx(_decompressed(raw, str(path)), str(path)))
        except DataError as error:
            raise DataError(f"{error}; delete it so that it is downloaded again") from None
        paths.append(path)
    return _idx_images_and_labels(arrays, paths, directory, "Fashion-MNIST")


def _check_sha256(raw: bytes, expected: str, source: str, name: str):
    """DataError unless the SHA-256 of ``raw`` (read from ``source``) is ``expected``."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise DataError(f"{source} is not the standard {name} (SHA-256 {digest[:12]}..., "
                        f"expected {expected[:12]}...)")


# -------------------------------------------------------------------------------------- CIFAR-10

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


def _as_images(pixels: np.ndarray, peak: float) -> np.ndarray:
    """(N, H, W) pixel values in [0, peak] -> float32 (N, 1, H, W) in [0, 1]."""
    return (pixels.astype(np.float32) / np.float32(peak))[:, None, :, :]


# ---------------------------------------------------------------------------------------- digits

DIGITS_TEST_FRACTION = 0.2
_DIGITS_SPLIT_SEED = 0


def load_digits(split="train"):
    """scikit-learn's bundled 8x8 digits (1797 images) as ``(images, labels)``, offline.

    images: float32 (N, 1, 8, 8) in [0, 1]; labels: int64 (N,). The ``"train"`` and ``"test"``
    splits are a fixed, seeded 80/20 partition; ``"all"`` returns every image in sklearn's order.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"load_digits: split must be 'train', 'test' or 'all', got {split!r}")
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images, labels = _as_images(bunch.images, 16.0), bunch.target.astype(np.int64)
    if split == "all":
        return images, labels
    order = np.random.default_rng(_DIGITS_SPLIT_SEED).permutation(len(labels))
    n_test = int(round(DIGITS_TEST_FRACTION * len(labels)))
    chosen = order[:n_test] if split == "test" else order[n_test:]
    chosen.sort()
    return images[chosen], labels[chosen]


# --------------------------------------------------------------------------------- image folders

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
VAL_FRACTION = 0.1  # of an image folder without train/ and val/, kept apart for validation
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


@dataclass
class ImageFolder:
    """What :func:`load_image_folder` read: ``(images, labels)`` for each split, as float32
    (N, C, H, W) in [0, 1] and int64 (N,), and the class names (the folder names, in order)."""

    train: tuple
    val: tuple
    classes: list


def load_image_folder(root, image_size=None, channels=None, val_fraction=None, seed=0):
    """The images of ``root``, one sub-folder per class (torchvision's ``ImageFolder`` layout).

    With sub-folders ``train`` and ``val`` (each one sub-folder per class) those are the
    splits; else a fraction ``val_fraction`` (default :data:`VAL_FRACTION`) of the images,
    drawn with ``seed``, is the validation split. Files ending in :data:`IMAGE_SUFFIXES` are
    read with Pillow; other files are skipped with a warning that counts them. ``image_size=N``
    crops each image to its largest centred square and resizes it to N x N; without it all the
    images must have one size. ``channels`` is 1 (grayscale) or 3 (RGB); by default 1 when
    every image is grayscale, else 3. Images with transparent pixels are refused. Every
    failure (an empty class folder, a single class, an unreadable image, mixed sizes) raises
    :class:`DataError` naming the file or folder.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give a folder with one sub-folder of images "
                        f"per class")
    if channels not in (None, 1, 3):
        raise ValueError(f"load_image_folder: channels must be None, 1 or 3, got {channels!r}")
    if image_size is not None:
        image_size = check.integer("load_image_folder", "image_size", image_size, 1)
    if (root / "train").is_dir() and (root / "val").is_dir():
        if val_fraction is not None:
            raise DataError(f"{root} holds train and val folders, so a validation fraction "
                            f"does not apply")
        classes, train_files = _class_files(root / "train")
        val_classes, val_files = _class_files(root / "val")
        if val_classes != classes:
            raise DataError(f"{root / 'val'} holds the classes {', '.join(val_classes)} but "
                            f"{root / 'train'} holds {', '.join(classes)}; they must match")
    else:
        classes, files = _class_files(root)
        train_files, val_files = _split(files, root, val_fraction, seed)
    paths = [path for path, _ in train_files + val_files]
    images = [_decode(path) for path in paths]
    if channels is None:
        channels = 1 if all(image.mode in _GRAY_MODES for image in images) else 3
    other = next((i for i, image in enumerate(images) if image.size != images[0].size), None)
    if image_size is None and other is not None:
        raise DataError(f"{paths[other]} is {_size(images[other])} but {paths[0]} is "
                        f"{_size(images[0])}; give an image size (--image-size N, "
                        f"image_size=N) to resize them all")
    size = None if image_size is None else (image_size, image_size)
    pixels = np.stack([_pixels(image, path, channels, size)
                       for image, path in zip(images, paths, strict=True)])
    labels = np.array([label for _, label in train_files + val_files], dtype=np.int64)
    n = len(train_files)
    return ImageFolder((pixels[:n], labels[:n]), (pixels[n:], labels[n:]), classes)


def read_images(paths, in_shape):
    """The image files ``paths`` as float32 (N, C, H, W) in [0, 1] for a model that takes
    ``in_shape`` (C, H, W): converted to grayscale or RGB, cropped to the aspect ratio of H x W
    around the centre and resized, as :func:`load_image_folder` does."""
    channels, height, width = in_shape
    if channels not in (1, 3):
        raise DataError(f"the model takes images of {channels} channels; image files give 1 "
                        f"(grayscale) or 3 (RGB)")
    return np.stack([_pixels(_decode(path), path, channels, (width, height)) for path in paths])


def image_files(path):
    """``[path]`` for a file; for a folder, the image files in it and below, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise DataError(f"{path} holds no image ({', '.join(IMAGE_SUFFIXES)} files)")
    return found


def _class_files(folder):
    """The class names (sub-folders of ``folder``, sorted) and the ``(path, label)`` of each
    image in them; warns of the files skipped as not images."""
    classes = sorted(entry.name for entry in folder.iterdir()
                     if entry.is_dir() and not entry.name.startswith("."))
    if len(classes) < 2:
        held = f"one class folder ({classes[0]})" if classes else "no class folder"
        raise DataError(f"{folder} holds {held}; a classifier needs at least two, one "
                        f"sub-folder of images per class")
    files, skipped = [], []
    for label, name in enumerate(classes):
        entries = sorted(p for p in (folder / name).rglob("*") if p.is_file())
        images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise DataError(f"{folder / name} holds no image ({', '.join(IMAGE_SUFFIXES)} "
                            f"files); remove it or put its images in it")
        skipped += [p for p in entries if p.suffix.lower() not in IMAGE_SUFFIXES]
        files += [(p, label) for p in images]
    if skipped:
        warnings.warn(f"skipped {len(skipped)} file(s) in {folder} that are not "
                      f"{'/'.join(IMAGE_SUFFIXES)} images, such as {skipped[0]}", UserWarning,
                      stacklevel=3)
    return classes, files


def _split(files, root, val_fraction, seed):
    """A seeded ``val_fraction`` of ``files`` for validation, the rest for training."""
    fraction = VAL_FRACTION if val_fraction is None else val_fraction
    fraction = check.real("load_image_folder", "val_fraction", fraction, 0.0, below=1.0)
    if fraction == 0:
        raise ValueError("load_image_folder: val_fraction must be in (0, 1), got 0")
    n_val = max(1, round(fraction * len(files)))
    if n_val >= len(files):
        raise DataError(f"{root} holds {len(files)} images: too few to keep a fraction "
                        f"{fraction:g} for validation and train on the others")
    order = np.random.default_rng(seed).permutation(len(files))
    return [files[i] for i in sorted(order[n_val:])], [files[i] for i in sorted(order[:n_val])]


def _decode(path):
    """The image at ``path``, decoded by Pillow, or DataError naming the file. (10,000 32x32
    PNGs take 1.4 s; decoding on two threads saved 7% of that.)"""
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"{path} is not an image Pillow can read ({error})") from None


def _size(image):
    return f"{image.width}x{image.height}"


def _pixels(image, path, channels, size):
    """``image`` as float32 (channels, H, W) in [0, 1]: cropped and resized to ``size``, a
    (width, height) (``None``: as it is)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        if image.convert("RGBA").getchannel("A").getextrema()[0] < 255:
            raise DataError(f"{path} has transparent pixels; Mint reads grayscale or RGB "
                            f"images: flatten it onto a background first")
    image = image.convert("L" if channels == 1 else "RGB")
    if size is not None and image.size != size:
        image = ImageOps.fit(image, size, Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / np.float32(255)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def channel_statistics(images):
    """``{"mean": [...], "std": [...]}``: the per-channel mean and standard deviation of
    ``images`` (N, C, H, W), as floats, for :func:`normalize` (a channel that never varies gets
    a deviation of 1, so that normalising leaves it finite)."""
    mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
    std = images.std(axis=(0, 2, 3), dtype=np.float64)
    return {"mean": mean.tolist(), "std": np.where(std > 0, std, 1.0).tolist()}


def normalize(images, mean, std):
    """``(images - mean) / std`` per channel, float32."""
    shape = (1, -1, 1, 1)
    mean, std = (np.asarray(v, np.float32).reshape(shape) for v in (mean, std))
    return (images - mean) / std


# ------------------------------------------------------------------------------- the registry


DIGIT_CLASSES = [str(digit) for digit in range(10)]


@dataclass(frozen=True)
class DatasetEntry:
    """A data set as the command line offers it: ``load(root, **options)`` returns ``(train,
    test, classes)``, two ``(images, labels)`` pairs and the class names; ``normalize``: whether
    a run standardises each channel by the training split's statistics. The rest are the
    defaults of a run on it, used for each option a user leaves out.
    """

    load: Callable
    summary: str
    epochs: int
    batch_size: int
    strategy: str
    threads: int | None  # None: all cores
    normalize: bool = False


def _folder(root, **options):
    if root is None:
        raise DataError("the folder data set needs the folder of images: --data-dir DIR")
    folder = load_image_folder(root, **options)
    return folder.train, folder.val, folder.classes


# name -> entry: the CLI's --dataset choices, help and per-data-set defaults come from here.
# The digits train in seconds, less than compiling the Numba loops takes on a first run, so
# they default to the vectorized strategy; and to one thread, as their arrays are too small to
# share out (several threads cost far more than they save, above all on a busy machine).
DATASETS = {
    "mnist": DatasetEntry(lambda root: (load_mnist(root, "train"), load_mnist(root, "test"),
                                        DIGIT_CLASSES),
                          "MNIST, 60,000 + 10,000 28x28 digits", epochs=1, batch_size=64,
                          strategy="loop", threads=None),
    "digits": DatasetEntry(lambda root: (load_digits("train"), load_digits("test"),
                                         DIGIT_CLASSES),
                           "scikit-learn's bundled 8x8 digits, 1,438 + 359, offline", epochs=10,
                           batch_size=32, strategy="vectorized", threads=1),
    "fashion-mnist": DatasetEntry(
        lambda root: (load_fashion_mnist(root, "train"), load_fashion_mnist(root, "test"),
                      FASHION_MNIST_CLASSES),
        "Fashion-MNIST, 60,000 + 10,000 28x28 clothes (its four .gz files in --data-dir, else "
        "~/.cache/mint/fashion-mnist)", epochs=1, batch_size=64, strategy="loop", threads=None),
    "cifar10": DatasetEntry(lambda root: (load_cifar10(root, "train"),
                                          load_cifar10(root, "test"), CIFAR10_CLASSES),
                            f"CIFAR-10, 50,000 + 10,000 32x32 colour photos ({CIFAR10_ARCHIVE} "
                            f"in --data-dir, else ~/.cache/mint/cifar10)", epochs=10,
                            batch_size=64, strategy="loop", threads=None, normalize=True),
    "folder": DatasetEntry(_folder, "your own images in --data-dir, one sub-folder per class",
                           epochs=10, batch_size=32, strategy="loop", threads=None,
                           normalize=True),
}


# ---------------------------------------------------------------------------------- augmentation


def augment(images, rng, crop_padding=0, flip=False, *, strategy=None):
    """A randomly augmented copy of the image batch ``images`` (N, C, H, W), drawn from ``rng``.

    ``crop_padding=P`` takes from each image zero-padded by P pixels a random H x W crop
    (torchvision's ``RandomCrop(size, padding=P)``): a shift by ``dy, dx`` uniform in
    ``[-P, P]``, filled with zeros. ``flip`` mirrors each image left-right with probability
    1/2 (``RandomHorizontalFlip``): right for photographs, wrong for digits (a mirrored 3 is no
    digit). The draws come from the ``numpy.random.Generator`` ``rng`` (the shifts, (N, 2),
    then the N coin flips; only what is asked for), so a generator in the same state gives the
    same batch. With the defaults nothing is drawn and ``images`` itself is returned. The work
    is :func:`mint.functional.shift_flip`, a Numba kernel (or its NumPy twin).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"augment: rng must be a numpy.random.Generator, got "
                        f"{type(rng).__name__}")
    images = check.float_array("augment", "images", images, ndim=4)
    crop_padding = check.integer("augment", "crop_padding", crop_padding, 0)
    flip = check.boolean("augment", "flip", flip)
    if crop_padding == 0 and not flip:
        return images
    n = images.shape[0]
    shifts = (rng.integers(-crop_padding, crop_padding, size=(n, 2), endpoint=True)
              if crop_padding else np.zeros((n, 2), np.int64))
    flips = rng.random(n) < 0.5 if flip else np.zeros(n, bool)
    return shift_flip(images, shifts, flips, strategy=strategy)


# -------------------------------------------------------------------------------------- batching


class Batches:
    """Iterate over ``(images[i:j], labels[i:j])`` batches, reshuffled on every pass.

    ``seed`` is an int, ``None`` (fresh entropy) or a ``numpy.random.Generator``, which is used
    as it is (so a caller that owns the generator can save and restore its state). With
    ``drop_last`` a final batch smaller than ``batch_size`` is skipped. ``augment``, a function
    ``(images, rng) -> images`` such as ``functools.partial(augment, crop_padding=2)``, is
    applied to each batch's images with the batches' generator (after the epoch's shuffle).
    """

    def __init__(self, images, labels, batch_size, shuffle=False, seed=None, drop_last=False,
                 augment=None):
        if len(images) != len(labels):
            raise ValueError(
                f"Batches: images and labels must have the same length, got {len(images)} "
                f"and {len(labels)}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Batches: batch_size must be a positive int, got {batch_size!r}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, bool(shuffle), bool(drop_last)
        if augment is not None and not callable(augment):
            raise TypeError(f"Batches: augment must be None or a function (images, rng) -> "
                            f"images, got {type(augment).__name__}")
        self.rng = np.random.default_rng(seed)
        self.augment = augment

    def __len__(self):
        full, rest = divmod(len(self.labels), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        n = len(self.labels)
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            index = slice(start, stop) if order is None else order[start:stop]
            images = self.images[index]
            if self.augment is not None:
                images = self.augment(images, self.rng)
            yield images, self.labels[index]
