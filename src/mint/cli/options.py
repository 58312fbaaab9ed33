"""What the commands share to read their arguments: the argparse value types (a positive int,
a path with ``~`` expanded, a PNG file, a thread count, ...), the data-set options of ``train``
and ``evaluate``, and the block that applies ``--strategy`` and ``--threads``."""

import argparse
import contextlib
import math
from pathlib import Path

import numba

import mint
from mint import data


def _number(kind, minimum, strict):
    """An argparse ``type``: a ``kind`` (int/float) > or >= ``minimum``, finite."""
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'} {bound}, got {text!r}"
            ) from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


positive_int = _number(int, 0, strict=True)
nonnegative_int = _number(int, 0, strict=False)
positive_float = _number(float, 0.0, strict=True)
nonnegative_float = _number(float, 0.0, strict=False)


def _below_one(number, interval):
    """An argparse ``type``: ``number`` (an argparse type) that must also be below 1, the error
    naming ``interval``."""
    def parse(text):
        value = number(text)
        if value >= 1:
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value

    return parse


_zero_to_one = _below_one(nonnegative_float, "[0, 1)")
_fraction = _below_one(positive_float, "(0, 1)")


def _path(text):
    """An argparse ``type``: a path, ``~`` expanded (shells leave ``--out=~/x`` as it is)."""
    return Path(text).expanduser()


def _png_file(text):
    """An argparse ``type``: the path of a PNG file to write."""
    path = _path(text)
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"expected a file name ending in .png, got {text!r}")
    return path


def _png_file_or_folder(text):
    """An argparse ``type``: the path of a PNG file to write, or an existing folder."""
    path = _path(text)
    if path.suffix.lower() != ".png" and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"expected a folder or a file name ending in .png, got {text!r}"
        )
    return path


def _threads(text):
    value = positive_int(text)
    if value > numba.config.NUMBA_NUM_THREADS:
        raise argparse.ArgumentTypeError(
            f"must be at most {numba.config.NUMBA_NUM_THREADS} on this machine, got {text}"
        )
    return value


def _add_data_options(parser, dataset_help, limit_help):
    parser.add_argument("--dataset", choices=("auto", *data.DATASETS), default="auto",
                        help=dataset_help + "; " + "; ".join(
                            f"{name}: {entry.summary}" for name, entry in data.DATASETS.items()))
    parser.add_argument(
        "--data-dir", metavar="DIR", type=_path,
        help="folder of the data set's files: the MNIST files (default: $MINT_DATA, else "
             "~/.cache/mint/mnist), Fashion-MNIST's (default: ~/.cache/mint/fashion-mnist), "
             "cifar-10-binary.tar.gz (default: ~/.cache/mint/cifar10), or for --dataset "
             "folder your images",
    )
    parser.add_argument(
        "--limit", metavar="N", type=positive_int,
        help=limit_help,
    )
    parser.add_argument("--strategy", choices=sorted(mint.STRATEGIES),
                        help="how ops compute: Numba loops or NumPy/BLAS (default: "
                             + ", ".join(f"{d.strategy} on {name}"
                                         for name, d in data.DATASETS.items()) + ")")
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for the kernels and BLAS (default: " + ", ".join(
                            f"{'all cores' if d.threads is None else d.threads} on {name}"
                            for name, d in data.DATASETS.items()) + ")")


@contextlib.contextmanager
def _compute_settings(strategy, threads):
    """Use ``strategy`` and ``threads`` inside the block, then restore the previous ones."""
    previous_threads = mint.get_num_threads()
    if threads is not None:
        mint.set_num_threads(threads)
    try:
        with mint.use_strategy(strategy):
            yield
    finally:
        if threads is not None:
            mint.set_num_threads(previous_threads)
