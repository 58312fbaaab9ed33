"""Mint: a small deep-learning framework whose back-propagation is readable Numba loops."""

import importlib
import os

# OpenMP threads (Numba's default threading layer, and PyTorch's) spin-wait after each parallel
# region by default. Mint calls many short kernels with Python in between, so on a machine with
# few cores, or shared with other work, the spinning threads take the time the next call needs:
# measured on 2 shared cores, lenet train step (batch 64, 2 threads) 320 ms spinning vs 59-79 ms
# passive, conv2d forward 32 ms vs 9 ms; with Mint and PyTorch in one process (as in mint bench)
# PyTorch's step went from 374 ms to 52 ms too. Passive waiting is set before Numba (or PyTorch,
# when imported after Mint) loads OpenMP; an OMP_WAIT_POLICY already set is respected.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# OpenBLAS (NumPy's BLAS, which the vectorized strategy calls) spins for about 2**28 cycles after
# each call unless told otherwise; the Numba kernels or PyTorch ops that run next then share the
# cores with it: a lenet loop-strategy step right after one matmul took 50 ms instead of 33.
# 2**4 cycles puts its threads to sleep at once (the vectorized step is as fast either way). This
# takes effect when Mint is imported before NumPy, as in the ``mint`` command.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

__version__ = "0.1.0"

# Where each public name lives. They are imported on first use (PEP 562), so that ``import
# mint`` is instant and ``python -m mint`` can catch a Ctrl-C while Numba and NumPy load.
# mint.onnx, mint.interop and mint.distributed import onnx, torch and mpi4py only when a
# function of theirs needs them.
_SUBMODULES = ("distributed", "functional", "interop", "nn", "onnx", "optim")
_HOMES = {
    "Buffer": "mint.nn",
    "Parameter": "mint.nn",
    "STRATEGIES": "mint.strategy",
    "get_num_threads": "mint.runtime",
    "get_strategy": "mint.strategy",
    "manual_seed": "mint.runtime",
    "predict": "mint.prediction",
    "set_num_threads": "mint.runtime",
    "set_strategy": "mint.strategy",
    "summary": "mint.summarize",
    "use_strategy": "mint.strategy",
}

__all__ = sorted([*_SUBMODULES, *_HOMES])


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"mint.{name}")
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mint' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
