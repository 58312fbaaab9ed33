"""Process-wide settings: random seed for parameter initialisation, and thread count."""

import numba
import numpy as np
import threadpoolctl

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator that initialises parameters, so model creation is reproducible."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def default_generator() -> np.random.Generator:
    """The generator that layers draw their initial weights from."""
    return _generator


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the Numba kernels and in BLAS (the vectorized strategy)."""
    limit = numba.config.NUMBA_NUM_THREADS
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= limit:
        raise ValueError(f"set_num_threads: n must be an int in [1, {limit}], got {n!r}")
    numba.set_num_threads(int(n))
    threadpoolctl.threadpool_limits(int(n))


def get_num_threads() -> int:
    """The number of threads the Numba kernels use."""
    return numba.get_num_threads()
