"""Timing: warm every strategy's callable of a case (compilation is never timed), then time
them interleaved, round after round, so that drifts of a noisy machine hit every strategy
alike; medians, FLOP/s, images/s and the ratio to the fastest. :func:`run` times the cases of
named ops, :func:`sweep` the lenet network cases over batch sizes and thread counts."""

import statistics
import time
from dataclasses import dataclass

import mint
from mint.bench.specs import (
    ALL_STRATEGIES,
    OPS,
    SWEEP_BATCHES,
    SWEEP_THREADS,
    TORCH_STRATEGIES,
    cases,
    sweep_cases,
)


@dataclass
class Result:
    op: str
    direction: str
    shape: str
    strategy: str
    median_ms: float
    gflops: float | None
    images_per_s: float
    items: int  # images per call (the batch size)
    threads: int  # Mint's (and BLAS's and torch's) threads during the measurement
    ratio_to_fastest: float = 1.0


def _time_once(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_case(case, strategies, rounds=15, warmup=2):
    """Warm each strategy's callable, then time them interleaved; one Result per strategy.

    Each round starts with the next strategy, so every strategy follows every other one equally
    often: what one leaves behind (OpenBLAS threads still spinning after a vectorized call, a
    cache full of its data) does not always fall on the same neighbour.
    """
    callables = {s: case.make(s) for s in strategies}
    for fn in callables.values():
        for _ in range(warmup):
            fn()
    samples = {s: [] for s in strategies}
    order = list(strategies)
    for round_ in range(rounds):
        first = round_ % len(order)
        for s in order[first:] + order[:first]:
            samples[s].append(_time_once(callables[s]))
    results = []
    for s in strategies:
        median = statistics.median(samples[s])
        results.append(Result(
            case.op, case.direction, case.shape, s, median * 1e3,
            case.flops / median / 1e9 if case.flops else None, case.items / median,
            case.items, mint.get_num_threads(),
        ))
    fastest = min(r.median_ms for r in results)
    for r in results:
        r.ratio_to_fastest = r.median_ms / fastest
    return results


def set_threads(threads, strategies):
    """``threads`` threads for Mint's kernels and BLAS, and for torch when a strategy uses it."""
    mint.set_num_threads(threads)
    if any(s in TORCH_STRATEGIES for s in strategies):
        import torch

        torch.set_num_threads(threads)


def run(ops=OPS, strategies=ALL_STRATEGIES, rounds=15, progress=None):
    """Time every case of ``ops`` for each strategy; returns a flat list of Results.

    ``progress``, if given, wraps the list of cases (e.g. ``tqdm``) to show how far it got.
    """
    selected = cases(ops)
    results = []
    for case in (progress(selected) if progress else selected):
        results.extend(time_case(case, strategies, rounds))
    return results


def sweep(strategies=ALL_STRATEGIES, threads=SWEEP_THREADS, batches=SWEEP_BATCHES, rounds=15,
          progress=None):
    """Time the lenet training step and inference at each batch size of ``batches``, with each
    thread count of ``threads`` (set before each case); a flat list of Results.

    ``progress`` wraps the list of (threads, case) pairs, as in :func:`run`.
    """
    work = [(count, case) for count in threads for case in sweep_cases(batches)]
    results = []
    for count, case in (progress(work) if progress else work):
        set_threads(count, strategies)
        results.extend(time_case(case, strategies, rounds))
    return results
