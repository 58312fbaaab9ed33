"""2-D max-pooling and its gradient with NumPy: windows as a strided view, argmax over each.

Same functions, shapes, equations and PyTorch conventions (ties, NaN, ``-inf`` padding) as
:mod:`mint.kernels.max_pool2d`: x (N, C, H_in, W_in); out, argmax, grad_out (N, C, H_out, W_out).
"""

import numpy as np

from mint.vectorized.windows import sliding_windows


def _window_origins(out_size, stride, padding):
    """Input coordinate of tap 0 of each window along one axis: i * S - P, shape (out_size,)."""
    return np.arange(out_size) * stride - padding


def _first_tap_inside(origins, dilation):
    """Per window, the index p of its first tap with origin + p * D >= 0: ceil(-origin / D).

    ``mint.functional`` rejects windows without any tap inside the input, so p is one of them.
    """
    return -(origins.clip(max=0) // dilation)


def _windows(x, kernel_size, stride, padding, dilation, output_hw):
    """(N, C, H_out, W_out, KH * KW): the taps of every window, -inf in the padding."""
    N, C, H_in, W_in = x.shape
    (KH, KW), (SH, SW), (PH, PW), (DH, DW) = kernel_size, stride, padding, dilation
    H_out, W_out = output_hw
    # In ceil_mode the last window may hang past the bottom/right padding: pad further with
    # -inf so that H_out x W_out windows exist.
    pad_bottom = max(PH, (H_out - 1) * SH + DH * (KH - 1) + 1 - H_in - PH)
    pad_right = max(PW, (W_out - 1) * SW + DW * (KW - 1) + 1 - W_in - PW)
    x_padded = np.pad(x, ((0, 0), (0, 0), (PH, pad_bottom), (PW, pad_right)),
                      constant_values=-np.inf)
    windows = sliding_windows(x_padded, kernel_size, stride, dilation)[:, :, :H_out, :W_out]
    return windows.reshape(N, C, H_out, W_out, KH * KW)  # the im2col copy


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, output_hw):
    """(out, argmax), both (N, C, H_out, W_out), from x (N, C, H_in, W_in); argmax is int64."""
    (KH, KW), (SH, SW), (PH, PW), (DH, DW) = kernel_size, stride, padding, dilation
    H_out, W_out = output_hw
    W_in = x.shape[3]
    windows = _windows(x, kernel_size, stride, padding, dilation, output_hw)
    # np.argmax keeps the first maximum, as PyTorch does on ties.
    local = np.argmax(windows, axis=-1)
    if np.isnan(x).any():
        # PyTorch lets the last NaN of a window win; np.argmax would pick the first one.
        is_nan = np.isnan(windows)
        last_nan = KH * KW - 1 - np.argmax(is_nan[..., ::-1], axis=-1)
        local = np.where(is_nan.any(axis=-1), last_nan, local)
    out = np.take_along_axis(windows, local[..., None], axis=-1)[..., 0]
    rows = _window_origins(H_out, SH, PH)[:, None]
    cols = _window_origins(W_out, SW, PW)[None, :]
    if np.isneginf(out).any():
        # A window of only -inf: np.argmax may point into the padding; PyTorch reports the
        # window's first tap inside the input.
        first = _first_tap_inside(rows, DH) * KW + _first_tap_inside(cols, DW)
        local = np.where(out == -np.inf, first, local)
    h = rows + (local // KW) * DH
    w = cols + (local % KW) * DW
    return out, (h * W_in + w).astype(np.int64)


def max_pool2d_values(x, kernel_size, stride, padding, dilation, output_hw):
    """out (N, C, H_out, W_out) of :func:`max_pool2d_forward` alone, without argmax: np.max
    over each window (a NaN wins, as in PyTorch)."""
    return _windows(x, kernel_size, stride, padding, dilation, output_hw).max(axis=-1)


def max_pool2d_backward(grad_out, argmax, input_hw):
    """grad_x (N, C, H_in, W_in): each grad_out (N, C, H_out, W_out) added at its argmax.

    One ``np.bincount`` over the whole batch: offsetting argmax by its plane's start makes every
    (n, c, h, w) one bin, and bincount adds up the windows that share a bin.
    """
    N, C = grad_out.shape[:2]
    plane = input_hw[0] * input_hw[1]
    starts = (np.arange(N * C, dtype=np.int64) * plane).reshape(N, C, 1, 1)
    grad_x = np.bincount((argmax + starts).ravel(), weights=grad_out.ravel(),
                         minlength=N * C * plane)
    return grad_x.astype(grad_out.dtype, copy=False).reshape(N, C, *input_hw)
