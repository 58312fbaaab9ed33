"""2-D convolution (cross-correlation, as PyTorch's ``conv2d``) and its three gradients."""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _check_conv2d(op, x, weight, bias, stride, padding, dilation):
    x = check.float_array(op, "input", x, ndim=4)
    weight = check.float_array(op, "weight", weight, ndim=4)
    if min(weight.shape) < 1:
        raise ValueError(f"{op}: weight must have no empty dimension, got shape {weight.shape}")
    bias = check.bias(op, bias, weight)
    check.same_dtype(op, input=x, weight=weight, bias=bias)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{op}: expected input with {weight.shape[1]} channels (weight is {weight.shape}), "
            f"got shape {x.shape}"
        )
    stride, padding, dilation = check.spatial(op, stride, padding, dilation)
    check.window_fits(op, x.shape, weight.shape[2:], padding, dilation)
    return x, weight, bias, stride, padding, dilation


def conv2d_output_shape(input_shape, weight_shape, stride, padding, dilation):
    """``(N, C_out, H_out, W_out)`` of a convolution (all hyper-parameters as pairs)."""
    hw = [
        check.output_size(input_shape[2 + a], weight_shape[2 + a], stride[a], padding[a],
                          dilation[a])
        for a in (0, 1)
    ]
    return (input_shape[0], weight_shape[0], *hw)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, *, strategy=None):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    x (N, C_in, H_in, W_in), weight (C_out, C_in, KH, KW), bias (C_out,) or None; stride,
    padding and dilation are ints or (h, w) pairs. Returns (N, C_out, H_out, W_out).
    """
    x, weight, bias, stride, padding, dilation = _check_conv2d(
        "conv2d", x, weight, bias, stride, padding, dilation
    )
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)
    return resolve(strategy).conv2d.conv2d_forward(x, weight, bias, stride, padding, dilation)


def _check_conv2d_backward(op, grad_out, x, weight, stride, padding, dilation):
    x, weight, _, stride, padding, dilation = _check_conv2d(
        op, x, weight, None, stride, padding, dilation
    )
    grad_out = check.float_array(op, "grad_out", grad_out, ndim=4)
    check.same_dtype(op, grad_out=grad_out, input=x)
    check.grad_out_shape(op, grad_out, conv2d_output_shape(x.shape, weight.shape, stride,
                                                           padding, dilation))
    return grad_out, x, weight, stride, padding, dilation


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, *, strategy=None):
    """Gradients of :func:`conv2d`: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_out (N, C_out, H_out, W_out) is dL/d(output); x and weight are the forward's arrays.
    """
    grad_out, x, weight, stride, padding, dilation = _check_conv2d_backward(
        "conv2d_backward", grad_out, x, weight, stride, padding, dilation
    )
    kernels = resolve(strategy).conv2d
    return (
        kernels.conv2d_backward_input(grad_out, weight, x.shape[2:], stride, padding, dilation),
        kernels.conv2d_backward_weight(grad_out, x, weight.shape[2:], stride, padding, dilation),
        kernels.conv2d_backward_bias(grad_out),
    )


def conv2d_backward_parameters(grad_out, x, weight, stride=1, padding=0, dilation=1, *,
                               strategy=None):
    """``(grad_weight, grad_bias)`` of :func:`conv2d`, without the input gradient: a first
    layer's input is data, which needs none (PyTorch skips it too: the data does not require
    grad). Arguments as for :func:`conv2d_backward`."""
    grad_out, x, weight, stride, padding, dilation = _check_conv2d_backward(
        "conv2d_backward_parameters", grad_out, x, weight, stride, padding, dilation
    )
    kernels = resolve(strategy).conv2d
    return (
        kernels.conv2d_backward_weight(grad_out, x, weight.shape[2:], stride, padding, dilation),
        kernels.conv2d_backward_bias(grad_out),
    )
