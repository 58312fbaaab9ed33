"""Shared set-up for the asv suite: the shapes and inputs come from :mod:`mint.bench`, so asv
and ``mint bench`` time the same work. Compilation happens in ``setup``, never in a timing."""

import time

import numba

import mint
from mint import bench

STRATEGIES = list(mint.STRATEGIES)
THREADS = 2


def prepare(cases, strategy):
    """Callables of ``cases`` for ``strategy``, each run once so that Numba has compiled it."""
    mint.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    callables = [case.make(strategy) for case in cases]
    for fn in callables:
        fn()
    return callables


def median_seconds(fn, min_seconds=0.2):
    """Median duration of repeated calls of ``fn`` (at least 3, for at least ``min_seconds``)."""
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def gflops(case, fn):
    """GFLOP/s of ``fn``, one call of which does ``case.flops`` floating-point operations."""
    return case.flops / median_seconds(fn) / 1e9


__all__ = ["STRATEGIES", "bench", "gflops", "median_seconds", "prepare"]
