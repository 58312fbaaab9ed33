"""Softmax and log-softmax along any axis, and their gradients.

The kernels see the input as ``(A, L, B)``, ``L`` the length of axis ``dim``: a C-contiguous
array reshapes so without a copy, and every row along ``dim`` is independent.
"""

import math

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _rows(x, dim):
    """x reshaped to (A, L, B) around axis ``dim`` (a 0-d x is one row of length 1)."""
    shape = x.shape or (1,)
    return x.reshape(math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:]))


def _forward(op, kernel_name, x, dim, strategy):
    x = check.float_array(op, "input", x)
    dim = check.dim(op, "dim", dim, x.ndim)
    kernel = getattr(resolve(strategy).softmax, kernel_name)
    if x.size == 0:  # no row to normalise
        return np.empty_like(x)
    return kernel(_rows(x, dim)).reshape(x.shape)


def _backward(op, kernel_name, grad_out, out, dim, strategy):
    grad_out = check.float_array(op, "grad_out", grad_out)
    out = check.float_array(op, "output", out)
    check.grad_out_shape(op, grad_out, out.shape)
    check.same_dtype(op, grad_out=grad_out, output=out)
    dim = check.dim(op, "dim", dim, out.ndim)
    kernel = getattr(resolve(strategy).softmax, kernel_name)
    if out.size == 0:
        return np.empty_like(grad_out)
    return kernel(_rows(grad_out, dim), _rows(out, dim)).reshape(out.shape)


def softmax(x, dim, *, strategy=None):
    """``exp(x) / sum(exp(x))`` along axis ``dim`` (negative counts from the end), computed
    after subtracting each row's maximum so that nothing overflows."""
    return _forward("softmax", "softmax_forward", x, dim, strategy)


def softmax_backward(grad_out, out, dim, *, strategy=None):
    """``out * (grad_out - sum(grad_out * out, dim))``; out is the forward's *output*."""
    return _backward("softmax_backward", "softmax_backward", grad_out, out, dim, strategy)


def log_softmax(x, dim, *, strategy=None):
    """``x - log(sum(exp(x)))`` along axis ``dim``, stable (no overflow, no log of 0)."""
    return _forward("log_softmax", "log_softmax_forward", x, dim, strategy)


def log_softmax_backward(grad_out, out, dim, *, strategy=None):
    """``grad_out - exp(out) * sum(grad_out, dim)``; out is the forward's *output*."""
    return _backward("log_softmax_backward", "log_softmax_backward", grad_out, out, dim,
                     strategy)
