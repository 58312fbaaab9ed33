"""Squared error, elementwise, with NumPy: the functions, shapes and equation (X8) of
:mod:`mint.kernels.mse_loss`."""


def mse_loss_forward(x, target):
    """losses (L,) = (x - target)^2."""
    difference = x - target
    return difference * difference


def mse_loss_backward(x, target, grad_losses):
    """grad_x (L,) = 2 (x - target) grad_losses."""
    return 2 * (x - target) * grad_losses
