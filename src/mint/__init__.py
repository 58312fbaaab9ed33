"""Mint: a small deep-learning framework whose back-propagation is readable Numba loops."""

from mint import functional, nn, optim
from mint.nn import Parameter
from mint.runtime import get_num_threads, manual_seed, set_num_threads
from mint.strategy import STRATEGIES, get_strategy, set_strategy, use_strategy

__version__ = "0.1.0"

__all__ = [
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
    "use_strategy",
]
