"""Linear (fully connected) layers: ``x @ weight.T + bias`` and its three gradients."""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _check_linear(op, x, weight, bias):
    x = check.float_array(op, "input", x, ndim=2)
    weight = check.float_array(op, "weight", weight, ndim=2)
    bias = check.bias(op, bias, weight)
    check.same_dtype(op, input=x, weight=weight, bias=bias)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{op}: expected input with {weight.shape[1]} features (weight is {weight.shape}), "
            f"got shape {x.shape}"
        )
    return x, weight, bias


def linear(x, weight, bias=None, *, strategy=None):
    """``x @ weight.T + bias``: x (N, C_in), weight (C_out, C_in), bias (C_out,) or None."""
    x, weight, bias = _check_linear("linear", x, weight, bias)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)
    return resolve(strategy).linear.linear_forward(x, weight, bias)


def _check_linear_backward(op, grad_out, x, weight):
    x, weight, _ = _check_linear(op, x, weight, None)
    grad_out = check.float_array(op, "grad_out", grad_out, ndim=2)
    check.same_dtype(op, grad_out=grad_out, input=x)
    check.grad_out_shape(op, grad_out, (x.shape[0], weight.shape[0]))
    return grad_out, x, weight


def linear_backward(grad_out, x, weight, *, strategy=None):
    """Gradients of :func:`linear`: returns ``(grad_x, grad_weight, grad_bias)``."""
    grad_out, x, weight = _check_linear_backward("linear_backward", grad_out, x, weight)
    kernels = resolve(strategy).linear
    return (
        kernels.linear_backward_input(grad_out, weight),
        kernels.linear_backward_weight(grad_out, x),
        kernels.linear_backward_bias(grad_out),
    )


def linear_backward_parameters(grad_out, x, weight, *, strategy=None):
    """``(grad_weight, grad_bias)`` of :func:`linear`, without the input gradient (a first
    layer's input is data, which needs none)."""
    grad_out, x, weight = _check_linear_backward("linear_backward_parameters", grad_out, x,
                                                 weight)
    kernels = resolve(strategy).linear
    return kernels.linear_backward_weight(grad_out, x), kernels.linear_backward_bias(grad_out)
