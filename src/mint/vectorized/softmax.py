"""Softmax and log-softmax along one axis, and their gradients, with NumPy.

Same functions, shapes and equations as :mod:`mint.kernels.softmax`: arrays (A, L, B),
normalised along L.
"""

import numpy as np


def _shifted(x):
    """x minus its maximum along L, so that every exponent is <= 0."""
    return x - x.max(axis=1, keepdims=True, initial=-np.inf)


def softmax_forward(x):
    """out (A, L, B) = softmax of x (A, L, B) along L (S1)."""
    exps = np.exp(_shifted(x))
    return exps / exps.sum(axis=1, keepdims=True)


def log_softmax_forward(x):
    """out (A, L, B) = log-softmax of x (A, L, B) along L (S2)."""
    shifted = _shifted(x)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_backward(grad_out, out):
    """grad_x (A, L, B) = out * (grad_out - sum_L grad_out * out) (S3); out is the forward's
    output."""
    return out * (grad_out - (grad_out * out).sum(axis=1, keepdims=True))


def log_softmax_backward(grad_out, out):
    """grad_x (A, L, B) = grad_out - exp(out) * sum_L grad_out (S4); out is the forward's
    output (the log-probabilities)."""
    return grad_out - np.exp(out) * grad_out.sum(axis=1, keepdims=True)
