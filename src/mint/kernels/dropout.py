"""Dropout's mask applied, forward and backward, as Numba loops.

The mask is drawn by :mod:`mint.functional` from ``mint.manual_seed``'s generator, never here: a
random draw inside a parallel kernel would follow Numba's own per-thread generators, not Mint's
seed. The kernels only apply it. Shapes: x, out, grad_out and grad_x (R, L); keep (R,), bool.
One row is one element (``dropout``, L = 1) or one channel of one sample (``dropout2d``,
R = N * C, L = H * W); ``scale`` is 1 / (1 - p), or 0 when p = 1 and nothing is kept.

    out[r, k]    = x[r, k] * (scale if keep[r] else 0)                                      (D1)
    grad_x[r, k] = grad_out[r, k] * (scale if keep[r] else 0)                               (D2)

A dropped element is multiplied by 0 rather than set to 0, as in PyTorch (a NaN stays NaN).
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _scale_kept(a, keep, scale, out):
    scale = a.dtype.type(scale)
    zero = a.dtype.type(0)
    # Iteration r writes only the row out[r].
    for r in prange(a.shape[0]):
        factor = scale if keep[r] else zero
        for k in range(a.shape[1]):
            out[r, k] = a[r, k] * factor


def dropout_forward(x, keep, scale):
    """out (R, L) = x * scale in the rows kept, x * 0 in the others, (D1)."""
    out = np.empty_like(x)
    _scale_kept(x, keep, scale, out)
    return out


def dropout_backward(grad_out, keep, scale):
    """grad_x (R, L) = grad_out * scale in the rows kept, grad_out * 0 in the others, (D2):
    (D1) is linear in x, so its gradient is the same mask and scale."""
    grad_x = np.empty_like(grad_out)
    _scale_kept(grad_out, keep, scale, grad_x)
    return grad_x
