"""Softmax cross-entropy, fused and numerically stable, with NumPy.

Same functions, shapes and equations as :mod:`mint.kernels.cross_entropy`: logits and probs
(N, C), target (N,) int64, losses (N,).
"""

import numpy as np


def cross_entropy_forward(logits, target):
    """(losses (N,), probs (N, C)) from logits (N, C) and target (N,)."""
    rows = np.arange(logits.shape[0])
    # Subtracting each row's maximum keeps every exponent <= 0 (log-sum-exp trick).
    shifted = logits - logits.max(axis=1, keepdims=True, initial=-np.inf)
    exps = np.exp(shifted)
    totals = exps.sum(axis=1)
    losses = np.log(totals) - shifted[rows, target]
    return losses, exps / totals[:, None]


def cross_entropy_backward(probs, target, scale):
    """grad_logits (N, C) = (probs (N, C) - onehot(target (N,))) * scale."""
    grad_logits = probs.copy()
    grad_logits[np.arange(probs.shape[0]), target] -= 1
    grad_logits *= scale
    return grad_logits
