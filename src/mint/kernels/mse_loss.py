"""Squared error, elementwise, as Numba loops.

Shapes: input, target, losses, grad_losses and grad_input (L,), the flattened arrays::

    losses[i]     = (input[i] - target[i])^2                     (X8)
    grad_input[i] = 2 (input[i] - target[i]) grad_losses[i]      (X8)

Each loop writes element i only, so ``prange`` over i is race-free by construction.
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _mse_loss_forward(x, target, losses):
    # Iteration i writes only losses[i].
    for i in prange(x.size):
        difference = x[i] - target[i]
        losses[i] = difference * difference


def mse_loss_forward(x, target):
    """losses (L,) = (x - target)^2."""
    losses = np.empty_like(x)
    _mse_loss_forward(x, target, losses)
    return losses


@njit(parallel=True, cache=True)
def _mse_loss_backward(x, target, grad_losses, grad_x):
    two = x.dtype.type(2)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        grad_x[i] = two * (x[i] - target[i]) * grad_losses[i]


def mse_loss_backward(x, target, grad_losses):
    """grad_x (L,) = 2 (x - target) grad_losses."""
    grad_x = np.empty_like(x)
    _mse_loss_backward(x, target, grad_losses, grad_x)
    return grad_x
