"""Binary cross-entropy on logits, stable, with a weight for positive targets, with NumPy: the
functions, shapes and equations (X9), (X10) of :mod:`mint.kernels.bce_with_logits`."""

import numpy as np

from mint.vectorized.activation import sigmoid_forward


def bce_with_logits_forward(x, target, pos_weight):
    """losses (L,) = (1 - target) x + (1 + (pos_weight - 1) target) log(1 + exp(-x)).

    ``np.logaddexp(0, -x)`` is log(1 + exp(-x)) without overflow."""
    return (1 - target) * x + (1 + (pos_weight - 1) * target) * np.logaddexp(0, -x)


def bce_with_logits_backward(x, target, pos_weight, grad_losses):
    """grad_x (L,) = ((1 - target) - (1 + (pos_weight - 1) target) sigmoid(-x)) grad_losses."""
    weight = 1 + (pos_weight - 1) * target
    return ((1 - target) - weight * sigmoid_forward(-x)) * grad_losses
