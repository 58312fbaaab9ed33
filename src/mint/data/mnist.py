"""MNIST and Fashion-MNIST: four IDX files each (MNIST's names), found in a data folder or
downloaded into it, checked by SHA-256, read as float images in [0, 1] and int64 labels.

MNIST lives in a data directory: the ``root`` argument, else the ``MINT_DATA`` environment
variable, else ``~/.cache/mint/mnist``. Each of its four files may be gzip-compressed
(``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``). A missing file is
downloaded from :data:`MNIST_MIRRORS`, written atomically and verified before it is kept.
Files are verified by the SHA-256 of their *decompressed* bytes, so any faithful
re-compression of the standard files is accepted too. A well-formed IDX file that is not the
standard one (your own data in MNIST's format) is used with a warning.
"""

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from mint.data.idx import _decompressed, parse_idx
from mint.data.sources import DataError, _check_sha256, _data_folder, _download
from mint.data.transforms import _as_images

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


def download_mnist_file(stem: str, directory: Path, mirrors=None, timeout=None) -> Path:
    """Download ``<stem>.gz`` from the first mirror that serves it intact, into ``directory``."""
    mirrors = MNIST_MIRRORS if mirrors is None else tuple(mirrors)
    return _download(
        [mirror.rstrip("/") + f"/{stem}.gz" for mirror in mirrors], directory / f"{stem}.gz",
        lambda raw, url: _verified_bytes(raw, stem, url), timeout,
        f"Put the four MNIST files (gzip or not) in {directory} by hand, or point MINT_DATA at "
        f"a folder that holds them", "root=... or the MINT_DATA environment variable")


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
