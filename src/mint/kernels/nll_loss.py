"""Negative log-likelihood of class indices, with class weights and an ignored index, as Numba
loops.

Shapes: log_probs (N, C) (a LogSoftmax output), target (N,) int64, weight (C,), losses and
grad_losses (N,). Samples whose target equals ``ignore_index`` count for nothing::

    losses[n]            = -weight[t] log_probs[n, t],  t = target[n]    (0 if t is ignored)  (X6)
    grad_log_probs[n, c] = -weight[t] grad_losses[n] [c == t]            (0 if t is ignored)  (X7)

Serial: one gather (and the backward's N * C zeros) per batch, memory work only.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def nll_loss_forward(log_probs, target, weight, ignore_index):
    """losses (N,) from log_probs (N, C), target (N,), weight (C,)."""
    N = log_probs.shape[0]
    losses = np.zeros(N, dtype=log_probs.dtype)
    for n in range(N):
        if target[n] != ignore_index:
            losses[n] = -weight[target[n]] * log_probs[n, target[n]]
    return losses


@njit(cache=True)
def nll_loss_backward(log_probs, target, weight, ignore_index, grad_losses):
    """grad_log_probs (N, C): -weight[target[n]] * grad_losses[n] at (n, target[n]), else 0;
    log_probs gives only the shape and dtype."""
    grad_log_probs = np.zeros_like(log_probs)
    for n in range(log_probs.shape[0]):
        if target[n] != ignore_index:
            grad_log_probs[n, target[n]] = -weight[target[n]] * grad_losses[n]
    return grad_log_probs
