"""Linear (fully connected) layers: ``x @ weight.T + bias`` and its three gradients.

The input may have any leading shape, ``(*, C_in)``, as in PyTorch: the kernels see it as
``(N, C_in)`` with N the product of the leading dimensions (a free reshape of a C-contiguous
array), and the output and gradients are reshaped back. A 1-D input is one sample.
"""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _check_linear(op, x, weight, bias):
    # Checked first: NumPy makes a 0-d array 1-d when it makes it contiguous.
    if np.ndim(x) == 0 and isinstance(x, np.ndarray):
        raise ValueError(f"{op}: input must have at least 1 dimension (*, in_features), got "
                         f"shape {x.shape}")
    x = check.float_array(op, "input", x)
    weight = check.float_array(op, "weight", weight, ndim=2)
    bias = check.bias(op, bias, weight)
    check.same_dtype(op, input=x, weight=weight, bias=bias)
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{op}: expected input with {weight.shape[1]} features (weight is {weight.shape}), "
            f"got shape {x.shape}"
        )
    return x, weight, bias


def _rows(array):
    """(*, C) as (N, C)."""
    return array.reshape(-1, array.shape[-1])


def linear(x, weight, bias=None, *, strategy=None):
    """``x @ weight.T + bias``: x (*, C_in), weight (C_out, C_in), bias (C_out,) or None;
    returns (*, C_out)."""
    x, weight, bias = _check_linear("linear", x, weight, bias)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)
    out = resolve(strategy).linear.linear_forward(_rows(x), weight, bias)
    return out.reshape(*x.shape[:-1], weight.shape[0])


def _check_linear_backward(op, grad_out, x, weight):
    x, weight, _ = _check_linear(op, x, weight, None)
    grad_out = check.float_array(op, "grad_out", grad_out)
    check.same_dtype(op, grad_out=grad_out, input=x)
    check.grad_out_shape(op, grad_out, (*x.shape[:-1], weight.shape[0]))
    return grad_out, x, weight


def linear_backward(grad_out, x, weight, *, strategy=None):
    """Gradients of :func:`linear`: returns ``(grad_x, grad_weight, grad_bias)``."""
    grad_out, x, weight = _check_linear_backward("linear_backward", grad_out, x, weight)
    kernels = resolve(strategy).linear
    grad_rows, x_rows = _rows(grad_out), _rows(x)
    return (
        kernels.linear_backward_input(grad_rows, weight).reshape(x.shape),
        kernels.linear_backward_weight(grad_rows, x_rows),
        kernels.linear_backward_bias(grad_rows),
    )


def linear_backward_parameters(grad_out, x, weight, *, strategy=None):
    """``(grad_weight, grad_bias)`` of :func:`linear`, without the input gradient (a first
    layer's input is data, which needs none)."""
    grad_out, x, weight = _check_linear_backward("linear_backward_parameters", grad_out, x,
                                                 weight)
    kernels = resolve(strategy).linear
    grad_rows = _rows(grad_out)
    return (kernels.linear_backward_weight(grad_rows, _rows(x)),
            kernels.linear_backward_bias(grad_rows))
