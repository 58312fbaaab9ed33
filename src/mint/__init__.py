"""Mint: a small deep-learning framework whose back-propagation is readable Numba loops."""

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

from mint import functional, nn, optim
from mint.nn import Buffer, Parameter
from mint.runtime import get_num_threads, manual_seed, set_num_threads
from mint.strategy import STRATEGIES, get_strategy, set_strategy, use_strategy
from mint.summarize import summary

__version__ = "0.1.0"

__all__ = [
    "Buffer",
    "Parameter",
    "STRATEGIES",
    "functional",
    "get_num_threads",
    "get_strategy",
    "manual_seed",
    "nn",
    "optim",
    "set_num_threads",
    "set_strategy",
    "summary",
    "use_strategy",
]
