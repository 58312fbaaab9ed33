"""2-D average pooling (fixed and adaptive windows) and its gradient with NumPy.

Same functions, shapes and equations (P1), (P2) as :mod:`mint.kernels.avg_pool2d`: windows given
per axis as ``[start, end)`` bins (rows (H_out, 2), cols (W_out, 2)) and a divisor per window.
Windows are separable, so each axis is summed in turn: the taps of every bin are gathered with
one fancy index (bins may differ in length, as adaptive bins do: taps past a bin's end are
masked, never multiplied by zero, so an inf elsewhere cannot turn a sum into NaN), and the
gradient is spread back with one ``np.bincount``, which adds up the bins that share a pixel.
"""

import numpy as np


def _taps(bins):
    """(taps, inside), both (B, K) for B bins at most K long: ``taps[b, t] = start_b + t`` where
    ``inside[b, t]`` (t below the bin's length), else ``start_b`` (any index in the input)."""
    starts, lengths = bins[:, :1], bins[:, 1:] - bins[:, :1]
    offsets = np.arange(lengths.max())
    inside = offsets < lengths
    return np.where(inside, starts + offsets, starts), inside


def _bin_sums(a, bins):
    """(..., B): the sum of ``a`` (..., L) over each bin along its last axis."""
    taps, inside = _taps(bins)
    return np.where(inside, a[..., taps], 0).sum(axis=-1)


def _spread(a, bins, length):
    """(..., length): the transpose of :func:`_bin_sums`, each value of ``a`` (..., B) added to
    every position of its bin."""
    taps, inside = _taps(bins)
    lead = a.shape[:-1]
    count = int(np.prod(lead))
    weights = np.where(inside, a[..., None], 0)  # (..., B, K)
    index = np.arange(count).reshape(*lead, 1, 1) * length + taps
    spread = np.bincount(index.ravel(), weights.ravel(), minlength=count * length)
    return spread.astype(a.dtype, copy=False).reshape(*lead, length)


def avg_pool2d_forward(x, rows, cols, divisor):
    """out (N, C, H_out, W_out): each window's sum over x (N, C, H_in, W_in) divided by its
    divisor, (P1): columns summed first, then rows."""
    column_sums = _bin_sums(x, cols)  # (N, C, H_in, W_out)
    sums = _bin_sums(column_sums.swapaxes(2, 3), rows).swapaxes(2, 3)
    return sums / divisor


def avg_pool2d_backward(grad_out, rows, cols, divisor, input_hw):
    """grad_x (N, C, H_in, W_in): each grad_out (N, C, H_out, W_out) divided by its window's
    divisor and added to every pixel of the window, (P2): spread over rows, then columns."""
    shares = grad_out / divisor
    by_rows = _spread(shares.swapaxes(2, 3), rows, input_hw[0]).swapaxes(2, 3)
    return _spread(by_rows, cols, input_hw[1])
