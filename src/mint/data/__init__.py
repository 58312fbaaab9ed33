"""Data sets and batching: MNIST and Fashion-MNIST from IDX files, CIFAR-10 from its binary
archive, the bundled 8x8 digits, folders of your own images, a batch iterator.

One module per source (:mod:`~mint.data.mnist`, :mod:`~mint.data.cifar10`,
:mod:`~mint.data.digits`, :mod:`~mint.data.image_folder`), over :mod:`~mint.data.sources`
(data folders, downloads, checksums) and :mod:`~mint.data.idx` (the IDX format); what is done to
the arrays in :mod:`~mint.data.transforms` and :mod:`~mint.data.batches`; the data sets the
command line offers in :mod:`~mint.data.datasets`. Every name is importable from ``mint.data``.

Every failure a user can fix (no file and no network, a truncated download, a corrupt file)
raises :class:`DataError` with a message that says what to do.
"""

from mint.data.batches import Batches
from mint.data.cifar10 import (
    CIFAR10_ARCHIVE,
    CIFAR10_BATCHES,
    CIFAR10_CLASSES,
    CIFAR10_SHA256,
    CIFAR10_SIZE,
    CIFAR10_URLS,
    load_cifar10,
)
from mint.data.datasets import DATASETS, DIGIT_CLASSES, DatasetEntry
from mint.data.digits import DIGITS_TEST_FRACTION, load_digits
from mint.data.idx import parse_idx, read_idx
from mint.data.image_folder import (
    IMAGE_SUFFIXES,
    VAL_FRACTION,
    ImageFolder,
    image_files,
    load_image_folder,
    read_images,
)
from mint.data.mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_MIRRORS,
    FASHION_MNIST_SHA256,
    MNIST_CLASSES,
    MNIST_MIRRORS,
    MNIST_SHA256,
    MNIST_SPLITS,
    download_mnist_file,
    load_fashion_mnist,
    load_mnist,
    missing_mnist_files,
    mnist_dir,
)
from mint.data.sources import DOWNLOAD_TIMEOUT, DataError
from mint.data.transforms import augment, channel_statistics, normalize

__all__ = [
    "CIFAR10_ARCHIVE", "CIFAR10_BATCHES", "CIFAR10_CLASSES", "CIFAR10_SHA256", "CIFAR10_SIZE",
    "CIFAR10_URLS", "DATASETS", "DIGITS_TEST_FRACTION", "DIGIT_CLASSES", "DOWNLOAD_TIMEOUT",
    "FASHION_MNIST_CLASSES", "FASHION_MNIST_MIRRORS", "FASHION_MNIST_SHA256", "IMAGE_SUFFIXES",
    "MNIST_CLASSES", "MNIST_MIRRORS", "MNIST_SHA256", "MNIST_SPLITS", "VAL_FRACTION", "Batches",
    "DataError", "DatasetEntry", "ImageFolder", "augment", "channel_statistics",
    "download_mnist_file", "image_files", "load_cifar10", "load_digits", "load_fashion_mnist",
    "load_image_folder", "load_mnist", "missing_mnist_files", "mnist_dir", "normalize",
    "parse_idx", "read_idx", "read_images",
]
