"""What every benchmark class shares: timing settings, thread set-up, seeded inputs, and the
once-per-process preparation that keeps compilation and first-call costs out of every timing.

The suite defines its own cases and calls only Mint's public API (``mint.functional``,
``mint.nn``, ``mint.models``, ``mint.optim``), so a commit cannot change what is measured.

asv re-runs ``setup`` before every timed call. Each benchmark's ``setup`` therefore only looks
up callables that :func:`prepared` built and warmed once in this process: the call after a
``setup`` is a steady-state call, not the first one on fresh arrays.

Threads: Numba's kernels (the loop strategy) get :data:`THREADS` threads and BLAS (the
vectorized strategy's matrix products) gets one, so only one pool ever has worker threads and
they cannot fight over the cores, whichever of NumPy and Mint was imported first (asv_runner
imports NumPy before this suite, too early for Mint's OPENBLAS_THREAD_TIMEOUT). threadpoolctl
applies the limit after import. Measured on a loaded 2-core VM, BLAS on two threads made the
vectorized lenet step about 3x slower and its quartiles 2-4x wider than on one. The ResNet-18
cases (``resnet18.py``) run with BLAS at its default threads instead, as a user's program does:
a kernel that starts BLAS threads inside its parallel loops shows there (more CPU time).
"""

import functools
import os
import time

import numba
import numpy as np
import threadpoolctl

import mint

STRATEGIES = list(mint.STRATEGIES)
THREADS = 2
WARM_CALLS = 5  # the first calls after building are slower (page faults, kept buffers, caches)


class Benchmark:
    """Timing settings of every class.

    ``timer`` is the CPU time of the whole process (every thread), not the wall clock: on a
    shared 2-core VM under load the median wall time of a loop convolution moved by +-20% from one
    process to the next while its CPU time moved by +-2%, and asv's runs are minutes apart. More
    work, slower code or spinning threads all cost CPU time; only a kernel that stops running in
    parallel keeps it (``mint bench`` shows wall-clock speed, side by side).

    Each of ``rounds`` processes per commit (asv alternates the commits between rounds) builds
    and warms its callables once, then takes ``repeat`` samples of one call each; asv compares
    the medians of all samples and asks a Mann-Whitney test whether they differ.
    """

    timer = time.process_time
    rounds = 4
    # At least 10 samples per process, then up to 100 within 3 s (wall): the op calls of a few
    # microseconds need the many samples for a stable median, the steps of 0.1 s get about 30.
    repeat = (10, 100, 3.0)
    warmup_time = 0.2  # wall seconds; prepared() has already made the first calls
    timeout = 300


def use_threads(blas=1):
    """THREADS threads for Numba (fewer if it was started with fewer), ``blas`` for BLAS."""
    mint.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    threadpoolctl.threadpool_limits(blas, user_api="blas")


def use_default_threads():
    """THREADS threads for Numba, and BLAS's default: a thread per core (OpenBLAS's)."""
    use_threads(blas=os.cpu_count())


def prepared(make):
    """Decorate ``make(*params) -> tuple of callables``: it runs once per process and per
    parameters, and each callable it returns is called WARM_CALLS times before it is timed.
    (A builder's ``shape`` is a label of its module's SHAPES, or the tuple itself:
    ``instructions.py`` counts smaller cases than the times.)"""

    @functools.cache
    def build(*params):
        use_threads()
        callables = make(*params)
        for fn in callables:
            for _ in range(WARM_CALLS):
                fn()
        return callables

    return build


def random_arrays(*shapes, seed=0):
    """Seeded float32 standard-normal arrays of the given shapes."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
