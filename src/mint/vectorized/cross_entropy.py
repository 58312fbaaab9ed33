"""Softmax cross-entropy with label smoothing, fused and numerically stable, with NumPy.

Same functions, shapes and equations as :mod:`mint.kernels.cross_entropy`: logits and probs
(N, C), target (N,) int64, losses and grad_losses (N,).
"""

import numpy as np


def cross_entropy_forward(logits, target, label_smoothing):
    """(losses (N,), probs (N, C)) from logits (N, C), target (N,) and label smoothing
    (X1), (X4)."""
    rows, num_classes = np.arange(logits.shape[0]), logits.shape[1]
    # Subtracting each row's maximum keeps every exponent <= 0 (log-sum-exp trick).
    shifted = logits - logits.max(axis=1, keepdims=True, initial=-np.inf)
    exps = np.exp(shifted)
    totals = exps.sum(axis=1)
    losses = (np.log(totals) - (1 - label_smoothing) * shifted[rows, target]
              - label_smoothing / num_classes * shifted.sum(axis=1))
    return losses.astype(logits.dtype, copy=False), exps / totals[:, None]


def cross_entropy_backward(probs, target, label_smoothing, grad_losses):
    """grad_logits (N, C) = (probs - e / C - (1 - e) onehot(target)) * grad_losses[:, None]
    (X3), (X5)."""
    grad_logits = probs - probs.dtype.type(label_smoothing / probs.shape[1])
    grad_logits[np.arange(probs.shape[0]), target] -= probs.dtype.type(1 - label_smoothing)
    grad_logits *= grad_losses[:, None]
    return grad_logits
