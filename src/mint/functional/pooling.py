"""Max-pooling with its argmax mask, and the gradient that routes through it; average pooling
over fixed or adaptive windows, and the gradient that spreads over them."""

import math

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _input_shape(op, input_shape, grad_out):
    """``input_shape`` as a tuple of 4 ints whose (N, C) are grad_out's."""
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 4 or input_shape[:2] != grad_out.shape[:2]:
        raise ValueError(
            f"{op}: input_shape must be (N, C, H_in, W_in) with N, C = {grad_out.shape[:2]}, "
            f"got {input_shape}"
        )
    return input_shape


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


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=True, *, strategy=None):
    """Max-pooling, as ``torch.nn.functional.max_pool2d``.

    x (N, C, H_in, W_in). Returns ``(out, argmax)``, both (N, C, H_out, W_out); argmax is int64
    and holds, for each window, the flat index ``h * W_in + w`` of its maximum in the input plane
    (the first one in row-major window order on ties), which :func:`max_pool2d_backward` needs.
    Padding is ``-inf`` and never wins. With ``return_indices=False`` (for inference) it returns
    ``out`` alone, from a kernel that neither computes nor stores the argmax. (PyTorch's default
    is ``False``; Mint's is ``True`` because its forward functions return what their backward
    takes.)
    """
    op = "max_pool2d"
    x, kernel_size, stride, padding, dilation, out_hw = _check_max_pool2d(
        op, x, kernel_size, stride, padding, dilation, ceil_mode
    )
    kernels = resolve(strategy).max_pool2d
    if not check.boolean(op, "return_indices", return_indices):
        return kernels.max_pool2d_values(x, kernel_size, stride, padding, dilation, out_hw)
    return kernels.max_pool2d_forward(x, kernel_size, stride, padding, dilation, out_hw)


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
    input_shape = _input_shape(op, input_shape, grad_out)
    plane = input_shape[2] * input_shape[3]
    if argmax.size and (argmax.min() < 0 or argmax.max() >= plane):
        raise ValueError(f"{op}: argmax holds indices outside an input plane of {plane} pixels")
    return resolve(strategy).max_pool2d.max_pool2d_backward(
        grad_out, np.ascontiguousarray(argmax), input_shape[2:]
    )


# ----------------------------------------------------------------------------- average pooling


def _window_bins(size, kernel, stride, padding, out):
    """(bins, extents) of ``out`` fixed windows along one axis of ``size`` pixels: bins (out, 2)
    int64, ``[start, end)`` clipped to the input, and extents (out,), the length of each window
    within the padded input (a ceil_mode window past the padding stops there, as in PyTorch)."""
    starts = np.arange(out, dtype=np.int64) * stride - padding
    ends = np.minimum(starts + kernel, size + padding)
    bins = np.stack([np.maximum(starts, 0), np.minimum(ends, size)], axis=1)
    return bins, ends - starts


def _adaptive_bins(size, out):
    """(out, 2) int64: PyTorch's adaptive bins along one axis, ``[floor(i * size / out),
    ceil((i + 1) * size / out))`` (P4)."""
    i = np.arange(out, dtype=np.int64)
    return np.stack([i * size // out, -(-(i + 1) * size // out)], axis=1)


def _lengths(bins):
    return bins[:, 1] - bins[:, 0]


def avg_pool2d_arguments(op, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    """avg_pool2d's hyper-parameters checked and normalised (also used by ``nn.AvgPool2d``):
    ``(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)``, pairs,
    bools and a non-zero int or None (negative divisors are allowed, as in PyTorch)."""
    kernel_size, stride, padding, _, ceil_mode = check.pooling(op, kernel_size, stride, padding,
                                                               1, ceil_mode)
    count_include_pad = check.boolean(op, "count_include_pad", count_include_pad)
    if divisor_override is not None:
        divisor_override = check.integer(op, "divisor_override", divisor_override, -math.inf)
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero (or None), got 0")
    return kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override


def _avg_pool2d_windows(op, x_shape, arguments, dtype):
    """(rows, cols, divisor, out_hw) of avg_pool2d's windows over an input of ``x_shape``, for
    the checked ``arguments``: the three arrays :mod:`mint.kernels.avg_pool2d` takes, (P3)."""
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override = arguments
    check.window_fits(op, x_shape, kernel_size, padding, (1, 1))
    out_hw = tuple(check.output_size(x_shape[2 + a], kernel_size[a], stride[a], padding[a], 1,
                                     ceil_mode) for a in (0, 1))
    (rows, row_extents), (cols, col_extents) = (
        _window_bins(x_shape[2 + a], kernel_size[a], stride[a], padding[a], out_hw[a])
        for a in (0, 1)
    )
    if divisor_override is not None:
        divisor = np.full(out_hw, divisor_override, dtype=dtype)
    elif count_include_pad:
        divisor = np.multiply.outer(row_extents, col_extents).astype(dtype)
    else:
        divisor = np.multiply.outer(_lengths(rows), _lengths(cols)).astype(dtype)
    return rows, cols, divisor, out_hw


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, strategy=None):
    """Average pooling, as ``torch.nn.functional.avg_pool2d``.

    x (N, C, H_in, W_in) -> (N, C, H_out, W_out), H_out as for max-pooling without dilation
    (``ceil_mode`` rounds up, keeping only windows that start inside the input or the left
    padding). Padding counts as zeros. Each window's sum is divided by ``divisor_override`` if
    given, else by the number of its pixels in the padded input (``count_include_pad=True``; a
    ceil_mode window running past the padding counts only up to its end) or in the input alone
    (``False``).
    """
    op = "avg_pool2d"
    x = check.float_array(op, "input", x, ndim=4)
    arguments = avg_pool2d_arguments(op, kernel_size, stride, padding, ceil_mode,
                                     count_include_pad, divisor_override)
    rows, cols, divisor, _ = _avg_pool2d_windows(op, x.shape, arguments, x.dtype)
    return resolve(strategy).avg_pool2d.avg_pool2d_forward(x, rows, cols, divisor)


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None, *,
                        strategy=None):
    """Gradient of :func:`avg_pool2d` (same hyper-parameters): grad_out (N, C, H_out, W_out),
    divided by each window's divisor, spread over the window's pixels. Returns
    (N, C, H_in, W_in) for ``input_shape`` (N, C, H_in, W_in); the input itself is not needed.
    """
    op = "avg_pool2d_backward"
    grad_out = check.float_array(op, "grad_out", grad_out, ndim=4)
    input_shape = _input_shape(op, input_shape, grad_out)
    arguments = avg_pool2d_arguments(op, kernel_size, stride, padding, ceil_mode,
                                     count_include_pad, divisor_override)
    rows, cols, divisor, out_hw = _avg_pool2d_windows(op, input_shape, arguments,
                                                      grad_out.dtype)
    check.grad_out_shape(op, grad_out, (*input_shape[:2], *out_hw))
    return resolve(strategy).avg_pool2d.avg_pool2d_backward(grad_out, rows, cols, divisor,
                                                            input_shape[2:])


def adaptive_output_size(op, output_size):
    """``output_size`` checked (also used by ``nn.AdaptiveAvgPool2d``): an int >= 1, or a pair
    of ints >= 1 or ``None`` (keep that input size), returned as a tuple."""
    if isinstance(output_size, tuple | list):
        if len(output_size) != 2:
            raise ValueError(
                f"{op}: output_size must be an int or a pair (h, w), got {output_size!r}"
            )
        return tuple(None if size is None else check.integer(op, "output_size", size, 1)
                     for size in output_size)
    return check.integer(op, "output_size", output_size, 1)


def _adaptive_windows(op, x_shape, output_size, dtype):
    """(rows, cols, divisor, out_hw) of adaptive_avg_pool2d's bins over an input of ``x_shape``,
    for a checked ``output_size``: each bin's divisor is its pixel count, (P4)."""
    if min(x_shape[2:]) < 1:
        raise ValueError(f"{op}: input height and width must be >= 1, got shape {x_shape}")
    if not isinstance(output_size, tuple):
        output_size = (output_size, output_size)
    out_hw = tuple(x_shape[2 + a] if size is None else size
                   for a, size in enumerate(output_size))
    rows, cols = (_adaptive_bins(x_shape[2 + a], out_hw[a]) for a in (0, 1))
    divisor = np.multiply.outer(_lengths(rows), _lengths(cols)).astype(dtype)
    return rows, cols, divisor, out_hw


def adaptive_avg_pool2d(x, output_size, *, strategy=None):
    """Adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    x (N, C, H_in, W_in) -> (N, C, H_out, W_out) = ``output_size``: output row i averages the
    input rows ``floor(i * H_in / H_out) <= u < ceil((i + 1) * H_in / H_out)`` (likewise
    columns), so bins may overlap and differ in length. ``output_size=1`` is global average
    pooling.
    """
    op = "adaptive_avg_pool2d"
    x = check.float_array(op, "input", x, ndim=4)
    rows, cols, divisor, _ = _adaptive_windows(op, x.shape, adaptive_output_size(op, output_size),
                                               x.dtype)
    return resolve(strategy).avg_pool2d.avg_pool2d_forward(x, rows, cols, divisor)


def adaptive_avg_pool2d_backward(grad_out, input_shape, output_size, *, strategy=None):
    """Gradient of :func:`adaptive_avg_pool2d`: grad_out (N, C, H_out, W_out) divided by each
    bin's pixel count and spread over the bin. Returns (N, C, H_in, W_in) for ``input_shape``."""
    op = "adaptive_avg_pool2d_backward"
    grad_out = check.float_array(op, "grad_out", grad_out, ndim=4)
    input_shape = _input_shape(op, input_shape, grad_out)
    rows, cols, divisor, out_hw = _adaptive_windows(
        op, input_shape, adaptive_output_size(op, output_size), grad_out.dtype
    )
    check.grad_out_shape(op, grad_out, (*input_shape[:2], *out_hw))
    return resolve(strategy).avg_pool2d.avg_pool2d_backward(grad_out, rows, cols, divisor,
                                                            input_shape[2:])
