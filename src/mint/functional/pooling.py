"""Max-pooling with its argmax mask, and the gradient that routes through it."""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _check_max_pool2d(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    x = check.float_array(op, "input", x, ndim=4)
    kernel_size, stride, padding, dilation, ceil_mode = check.pooling(
        op, kernel_size, stride, padding, dilation, ceil_mode
    )
    check.window_fits(op, x.shape, kernel_size, padding, dilation)
    out_hw = tuple(
        check.output_size(x.shape[2 + a], kernel_size[a], stride[a], padding[a], dilation[a],
                          ceil_mode)
        for a in (0, 1)
    )
    _check_windows_see_input(op, x.shape, kernel_size, stride, padding, dilation, out_hw)
    return x, kernel_size, stride, padding, dilation, out_hw


def _check_windows_see_input(op, x_shape, kernel, stride, padding, dilation, out_hw):
    """Reject a pooling window whose dilated taps all fall in the padding.

    Its max would be -inf with no input pixel to be the argmax (PyTorch returns an index outside
    the input plane there). Only windows starting in the left/top padding can miss the input: a
    ceil_mode window starts inside the input or the left padding.
    """
    for axis, size, k, s, p, d, out in zip(("height", "width"), x_shape[2:], kernel, stride,
                                           padding, dilation, out_hw, strict=True):
        for i in range(out):
            start = i * s - p
            if start >= 0:
                break
            first_inside = -(start // d)  # the first tap at or after pixel 0: ceil(-start / d)
            if first_inside >= k or start + first_inside * d >= size:
                raise ValueError(
                    f"{op}: with kernel {axis} {k}, dilation {d} and padding {p}, pooling window "
                    f"{i} along the {axis} holds only padding, no pixel of the input {axis} "
                    f"{size} (input shape {x_shape})"
                )


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
               strategy=None):
    """Max-pooling, as ``torch.nn.functional.max_pool2d(..., return_indices=True)``.

    x (N, C, H_in, W_in). Returns ``(out, argmax)``, both (N, C, H_out, W_out); argmax is int64
    and holds, for each window, the flat index ``h * W_in + w`` of its maximum in the input plane
    (the first one in row-major window order on ties). Padding is ``-inf`` and never wins.
    """
    x, kernel_size, stride, padding, dilation, out_hw = _check_max_pool2d(
        "max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode
    )
    return resolve(strategy).max_pool2d.max_pool2d_forward(
        x, kernel_size, stride, padding, dilation, out_hw
    )


def max_pool2d_backward(grad_out, argmax, input_shape, *, strategy=None):
    """Gradient of :func:`max_pool2d`: each window's gradient goes to its argmax.

    grad_out and argmax (N, C, H_out, W_out), input_shape ``(N, C, H_in, W_in)``. Windows that
    share an argmax (overlapping windows) add their gradients. Returns (N, C, H_in, W_in).
    """
    op = "max_pool2d_backward"
    grad_out = check.float_array(op, "grad_out", grad_out, ndim=4)
    if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int64:
        raise TypeError(f"{op}: argmax must be an int64 numpy.ndarray from max_pool2d")
    if argmax.shape != grad_out.shape:
        raise ValueError(
            f"{op}: argmax shape {argmax.shape} must equal grad_out shape {grad_out.shape}"
        )
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 4 or input_shape[:2] != grad_out.shape[:2]:
        raise ValueError(
            f"{op}: input_shape must be (N, C, H_in, W_in) with N, C = {grad_out.shape[:2]}, "
            f"got {input_shape}"
        )
    plane = input_shape[2] * input_shape[3]
    if argmax.size and (argmax.min() < 0 or argmax.max() >= plane):
        raise ValueError(f"{op}: argmax holds indices outside an input plane of {plane} pixels")
    return resolve(strategy).max_pool2d.max_pool2d_backward(
        grad_out, np.ascontiguousarray(argmax), input_shape[2:]
    )
