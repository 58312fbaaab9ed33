"""Softmax cross-entropy, fused and numerically stable, as Numba loops.

Shapes: logits and probs (N, C), target (N,) int64 class indices, losses (N,). With
``m[n] = max_c logits[n, c]`` (the log-sum-exp trick: every exponent is <= 0, so nothing
overflows and the largest term is exactly 1)::

    losses[n]         = log(sum_c exp(logits[n, c] - m[n])) - (logits[n, target[n]] - m[n])
    probs[n, c]       = exp(logits[n, c] - m[n]) / sum_k exp(logits[n, k] - m[n])
    grad_logits[n, c] = (probs[n, c] - [c == target[n]]) * scale

``scale`` is 1 / N for a mean over the batch and 1 for a sum.

Both kernels are serial: a batch of logits is N * C numbers (64 * 10 for MNIST), a few
microseconds of work, less than waking Numba's thread pool costs.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def cross_entropy_forward(logits, target):
    """(losses (N,), probs (N, C)) from logits (N, C) and target (N,)."""
    N, C = logits.shape
    losses = np.empty(N, dtype=logits.dtype)
    probs = np.empty((N, C), dtype=logits.dtype)
    for n in range(N):
        row_max = logits[n, 0]
        for c in range(1, C):
            row_max = max(row_max, logits[n, c])
        total = logits.dtype.type(0)
        for c in range(C):
            e = np.exp(logits[n, c] - row_max)
            probs[n, c] = e
            total += e
        for c in range(C):
            probs[n, c] /= total
        losses[n] = np.log(total) - (logits[n, target[n]] - row_max)
    return losses, probs


@njit(cache=True)
def cross_entropy_backward(probs, target, scale):
    """grad_logits (N, C) = (probs (N, C) - onehot(target (N,))) * scale."""
    N, C = probs.shape
    scale = probs.dtype.type(scale)
    one = probs.dtype.type(1)
    grad_logits = np.empty_like(probs)
    for n in range(N):
        for c in range(C):
            grad_logits[n, c] = probs[n, c] * scale
        grad_logits[n, target[n]] = (probs[n, target[n]] - one) * scale
    return grad_logits
