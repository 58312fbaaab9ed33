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

Both kernels are serial: a batch of logits is N * C numbers (64 * 10 for MNIST), a few
microseconds of work, less than waking Numba's thread pool costs.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def cross_entropy_forward(logits, target, label_smoothing):
    """(losses (N,), probs (N, C)) from logits (N, C), target (N,) and label smoothing."""
    N, C = logits.shape
    smoothing = logits.dtype.type(label_smoothing)
    kept = logits.dtype.type(1) - smoothing
    losses = np.empty(N, dtype=logits.dtype)
    probs = np.empty((N, C), dtype=logits.dtype)
    for n in range(N):
        row_max = logits[n, 0]
        for c in range(1, C):
            row_max = max(row_max, logits[n, c])
        total = logits.dtype.type(0)
        shifted_sum = logits.dtype.type(0)
        for c in range(C):
            e = np.exp(logits[n, c] - row_max)
            probs[n, c] = e
            total += e
            shifted_sum += logits[n, c] - row_max
        for c in range(C):
            probs[n, c] /= total
        # The weights (1 - e) and e / C of the logits sum to 1, so m[n] cancels out of them.
        losses[n] = (np.log(total) - kept * (logits[n, target[n]] - row_max)
                     - smoothing / C * shifted_sum)
    return losses, probs


@njit(cache=True)
def cross_entropy_backward(probs, target, label_smoothing, grad_losses):
    """grad_logits (N, C) = (probs - e / C - (1 - e) onehot(target)) * grad_losses[:, None]."""
    N, C = probs.shape
    smoothing = probs.dtype.type(label_smoothing) / C
    kept = probs.dtype.type(1 - label_smoothing)
    grad_logits = np.empty_like(probs)
    for n in range(N):
        for c in range(C):
            grad_logits[n, c] = (probs[n, c] - smoothing) * grad_losses[n]
        grad_logits[n, target[n]] = (probs[n, target[n]] - smoothing - kept) * grad_losses[n]
    return grad_logits
