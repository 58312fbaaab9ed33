"""Negative log-likelihood of class indices, with class weights and an ignored index, with
NumPy.

Same functions, shapes and equations as :mod:`mint.kernels.nll_loss`: log_probs (N, C), target
(N,) int64, weight (C,), losses and grad_losses (N,).
"""

import numpy as np


def _kept(target, ignore_index):
    """(rows, classes) of the samples whose target is not ignored."""
    rows = np.flatnonzero(target != ignore_index)
    return rows, target[rows]


def nll_loss_forward(log_probs, target, weight, ignore_index):
    """losses (N,) = -weight[t] log_probs[n, t], 0 where t is ignored (X6)."""
    rows, classes = _kept(target, ignore_index)
    losses = np.zeros(log_probs.shape[0], log_probs.dtype)
    losses[rows] = -weight[classes] * log_probs[rows, classes]
    return losses


def nll_loss_backward(log_probs, target, weight, ignore_index, grad_losses):
    """grad_log_probs (N, C): -weight[t] grad_losses[n] at (n, t), else 0 (X7)."""
    rows, classes = _kept(target, ignore_index)
    grad_log_probs = np.zeros_like(log_probs)
    grad_log_probs[rows, classes] = -weight[classes] * grad_losses[rows]
    return grad_log_probs
