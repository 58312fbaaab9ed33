"""Binary cross-entropy on logits, stable, with a weight for positive targets, as Numba loops.

Shapes: x (the logits), target, pos_weight, losses, grad_losses and grad_x (L,), the flattened
arrays (``mint.functional`` broadcasts pos_weight). With ``w = 1 + (pos_weight - 1) target``
and ``softplus(-x) = log(1 + exp(-x)) = max(-x, 0) + log(1 + exp(-|x|))`` (no overflow)::

    losses[i] = (1 - target) x + w softplus(-x)                  (X9)
    grad_x[i] = ((1 - target) - w sigmoid(-x)) grad_losses[i]    (X10)

Each loop writes element i only, so ``prange`` over i is race-free by construction.
"""

import numpy as np
from numba import njit, prange

from mint.kernels.vector_math import exp_nonpositive, log1p_unit


@njit(parallel=True, cache=True)
def _bce_with_logits_forward(x, target, pos_weight, losses):
    zero, one = x.dtype.type(0), x.dtype.type(1)
    # Iteration i writes only losses[i].
    for i in prange(x.size):
        weight = one + (pos_weight[i] - one) * target[i]
        softplus = (-x[i] if x[i] < 0 else zero) + log1p_unit(exp_nonpositive(-np.abs(x[i])))
        losses[i] = (one - target[i]) * x[i] + weight * softplus


def bce_with_logits_forward(x, target, pos_weight):
    """losses (L,) = (1 - target) x + (1 + (pos_weight - 1) target) log(1 + exp(-x))."""
    losses = np.empty_like(x)
    _bce_with_logits_forward(x, target, pos_weight, losses)
    return losses


@njit(parallel=True, cache=True)
def _bce_with_logits_backward(x, target, pos_weight, grad_losses, grad_x):
    one = x.dtype.type(1)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        weight = one + (pos_weight[i] - one) * target[i]
        e = exp_nonpositive(-np.abs(x[i]))
        sigmoid_minus_x = (e if x[i] >= 0 else one) / (one + e)  # as in activation.sigmoid
        grad_x[i] = ((one - target[i]) - weight * sigmoid_minus_x) * grad_losses[i]


def bce_with_logits_backward(x, target, pos_weight, grad_losses):
    """grad_x (L,) = ((1 - target) - (1 + (pos_weight - 1) target) sigmoid(-x)) grad_losses."""
    grad_x = np.empty_like(x)
    _bce_with_logits_backward(x, target, pos_weight, grad_losses, grad_x)
    return grad_x
