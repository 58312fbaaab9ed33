"""The registry of the data sets the command line offers: name -> loader, summary and the
defaults of a run on it."""

from collections.abc import Callable
from dataclasses import dataclass

from mint.data.cifar10 import CIFAR10_ARCHIVE, CIFAR10_CLASSES, load_cifar10
from mint.data.digits import load_digits
from mint.data.image_folder import load_image_folder
from mint.data.mnist import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist
from mint.data.sources import DataError

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
