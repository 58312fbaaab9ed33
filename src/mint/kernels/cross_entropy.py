"""Softmax cross-entropy with label smoothing, fused and numerically stable, as Numba loops.

Shapes: logits and probs (N, C), target (N,) int64 class indices, losses and grad_losses (N,).
With ``m[n] = max_c logits[n, c]`` (the log-sum-exp trick: every exponent is <= 0, so nothing
overflows and the largest term is exactly 1) and label smoothing ``e`` (0 for none)::

    lse[n]            = m[n] + log(sum_c exp(logits[n, c] - m[n]))
    losses[n]         = lse[n] - (1 - e) logits[n, target[n]] - e / C sum_c logits[n, c]  (X1, X4)
    probs[n, c]       = exp(logits[n, c] - lse[n])
    grad_logits[n, c] = (probs[n, c] - e / C - (1 - e) [c == target[n]]) grad_losses[n]  (X3, X5)

``grad_losses`` is dL/dlosses: 1 / N for a mean over the batch, 1 for a sum, the caller's
gradient for ``reduction="none"``.

Each row is one task, written so that its loops run in SIMD lanes or overlap in the CPU: the
maximum and the sums in blocks of ``_BLOCK`` columns, the exponentials with
:func:`mint.kernels.vector_math.exp_nonpositive` (``np.exp`` is a scalar library call). Rows are
independent, so a large batch runs parallel over rows, and a small one (MNIST's 64 x 10, a few
microseconds of work, less than waking Numba's thread pool costs) serially over the same row
functions. A row's numbers do not depend on which thread computes it, nor on how many there
are: the losses are the same for any thread count, and ``mint.functional`` sums them in order.
"""

import numpy as np
from numba import njit, prange

from mint.kernels.vector_math import exp_nonpositive

# Columns per block of a row's maximum and sums: each block's result is a short chain of its
# own, so the blocks overlap in the CPU instead of the whole row waiting on one compare or add
# after another (6x faster on 1,000 classes than one running maximum), and the sums still add
# in a fixed order.
_BLOCK = 8
# Rows run in parallel from this many logits on (N * C): below it (an MNIST batch is 640), the
# thread pool's wake-up costs more than the rows.
_PARALLEL_SIZE = 16384


# The row functions are inlined into their callers (inline="always"): a call per row of 10
# classes cost more than the row.
@njit(cache=True, inline="always")
def _row_max(values, n):
    """max_c values[n, c] (the first element, or a NaN, may win over a NaN: callers only need a
    NaN to propagate, which it does through the exponentials)."""
    C = values.shape[1]
    best = values[n, 0]
    blocked = C - C % _BLOCK
    for start in range(0, blocked, _BLOCK):
        block_best = values[n, start]
        for k in range(1, _BLOCK):
            block_best = max(block_best, values[n, start + k])
        best = max(best, block_best)
    for c in range(blocked, C):
        best = max(best, values[n, c])
    return best


@njit(cache=True, inline="always")
def _row_sum(values, n, shift):
    """sum_c (values[n, c] - shift), block by block."""
    C = values.shape[1]
    total = values.dtype.type(0)
    blocked = C - C % _BLOCK
    for start in range(0, blocked, _BLOCK):
        block_total = values[n, start] - shift
        for k in range(1, _BLOCK):
            block_total += values[n, start + k] - shift
        total += block_total
    for c in range(blocked, C):
        total += values[n, c] - shift
    return total


@njit(cache=True, inline="always")
def _forward_row(logits, target, label_smoothing, n, losses, probs):
    """Fill losses[n] and probs[n] (X1, X4) from logits[n]."""
    C = logits.shape[1]
    smoothing = logits.dtype.type(label_smoothing)
    row_max = _row_max(logits, n)
    for c in range(C):
        probs[n, c] = exp_nonpositive(logits[n, c] - row_max)
    total = _row_sum(probs, n, probs.dtype.type(0))
    for c in range(C):
        probs[n, c] /= total
    # The weights (1 - e) and e / C of the logits sum to 1, so m[n] cancels out of them.
    losses[n] = np.log(total) - (1 - smoothing) * (logits[n, target[n]] - row_max)
    if label_smoothing:
        losses[n] -= smoothing / C * _row_sum(logits, n, row_max)


# contract: the polynomial of exp_nonpositive in fused multiply-adds (1.8x faster, and each
# multiply-add rounds once instead of twice).
@njit(cache=True, fastmath={"contract"})
def _forward_rows(logits, target, label_smoothing, losses, probs):
    for n in range(logits.shape[0]):
        _forward_row(logits, target, label_smoothing, n, losses, probs)


@njit(parallel=True, cache=True, fastmath={"contract"})
def _forward_rows_parallel(logits, target, label_smoothing, losses, probs):
    # Iteration n writes only losses[n] and probs[n].
    for n in prange(logits.shape[0]):
        _forward_row(logits, target, label_smoothing, n, losses, probs)


def cross_entropy_forward(logits, target, label_smoothing):
    """(losses (N,), probs (N, C)) from logits (N, C), target (N,) and label smoothing."""
    losses = np.empty(logits.shape[0], dtype=logits.dtype)
    probs = np.empty_like(logits)
    rows = _forward_rows_parallel if logits.size >= _PARALLEL_SIZE else _forward_rows
    rows(logits, target, label_smoothing, losses, probs)
    return losses, probs


@njit(cache=True, inline="always")
def _backward_row(probs, target, label_smoothing, grad_losses, n, grad_logits):
    """Fill grad_logits[n] (X3, X5)."""
    C = probs.shape[1]
    smoothing = probs.dtype.type(label_smoothing / C)
    scale = grad_losses[n]
    for c in range(C):
        grad_logits[n, c] = (probs[n, c] - smoothing) * scale
    t = target[n]
    grad_logits[n, t] = (probs[n, t] - smoothing - probs.dtype.type(1 - label_smoothing)) * scale


@njit(cache=True, inline="always")
def _backward_rows(probs, target, label_smoothing, grad_losses, grad_logits):
    for n in range(probs.shape[0]):
        _backward_row(probs, target, label_smoothing, grad_losses, n, grad_logits)


@njit(parallel=True, cache=True)
def _backward_rows_parallel(probs, target, label_smoothing, grad_losses, grad_logits):
    # Iteration n writes only grad_logits[n].
    for n in prange(probs.shape[0]):
        _backward_row(probs, target, label_smoothing, grad_losses, n, grad_logits)


def cross_entropy_backward(probs, target, label_smoothing, grad_losses):
    """grad_logits (N, C) = (probs - e / C - (1 - e) onehot(target)) * grad_losses[:, None]."""
    grad_logits = np.empty_like(probs)
    rows = _backward_rows_parallel if probs.size >= _PARALLEL_SIZE else _backward_rows
    rows(probs, target, label_smoothing, grad_losses, grad_logits)
    return grad_logits
