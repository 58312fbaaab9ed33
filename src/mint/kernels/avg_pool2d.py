"""2-D average pooling (fixed and adaptive windows) and its gradient, as Numba loops.

Shapes (see :mod:`mint.kernels`): x and grad_x (N, C, H_in, W_in); out and grad_out
(N, C, H_out, W_out). The windows come from :mod:`mint.functional`, already clipped to the
input: window (i, j) covers rows ``rows[i, 0] <= u < rows[i, 1]`` and columns
``cols[j, 0] <= v < cols[j, 1]`` (rows (H_out, 2) and cols (W_out, 2), int64), and its sum is
divided by ``divisor[i, j]`` (H_out, W_out), x's dtype. ``avg_pool2d``'s fixed windows with
padding, ``ceil_mode``, ``count_include_pad`` and ``divisor_override``, and
``adaptive_avg_pool2d``'s bins, differ only in these three arrays. Equations ("Average pooling"
in ``docs/backprop.md``):

    out[n, c, i, j]    = sum over the window (i, j) of x[n, c, u, v] / divisor[i, j]       (P1)
    grad_x[n, c, u, v] = sum over the windows holding (u, v) of
                         grad_out[n, c, i, j] / divisor[i, j]                              (P2)
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _average_planes(x, rows, cols, divisor, out):
    C = x.shape[1]
    # Iteration `plane` writes only the plane out[n, c].
    for plane in prange(x.shape[0] * C):
        n, c = plane // C, plane % C
        for i in range(rows.shape[0]):
            for j in range(cols.shape[0]):
                total = x.dtype.type(0)
                for u in range(rows[i, 0], rows[i, 1]):
                    for v in range(cols[j, 0], cols[j, 1]):
                        total += x[n, c, u, v]
                out[n, c, i, j] = total / divisor[i, j]


def avg_pool2d_forward(x, rows, cols, divisor):
    """out (N, C, H_out, W_out): each window's sum over x (N, C, H_in, W_in) divided by its
    divisor, (P1). Allocated here with NumPy, for the reason in :mod:`mint.kernels.activation`."""
    out = np.empty((*x.shape[:2], rows.shape[0], cols.shape[0]), dtype=x.dtype)
    _average_planes(x, rows, cols, divisor, out)
    return out


@njit(parallel=True, cache=True)
def _spread_planes(grad_out, rows, cols, divisor, grad_x):
    N, C = grad_out.shape[:2]
    # Iteration `plane` writes only grad_x[n, c]: windows of one plane that overlap add into it
    # on one thread, one after the other.
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        # Zeroed here: np.zeros in a parallel kernel is one more parallel loop to compile.
        for u in range(grad_x.shape[2]):
            for v in range(grad_x.shape[3]):
                grad_x[n, c, u, v] = 0
        for i in range(rows.shape[0]):
            for j in range(cols.shape[0]):
                share = grad_out[n, c, i, j] / divisor[i, j]
                for u in range(rows[i, 0], rows[i, 1]):
                    for v in range(cols[j, 0], cols[j, 1]):
                        grad_x[n, c, u, v] += share


def avg_pool2d_backward(grad_out, rows, cols, divisor, input_hw):
    """grad_x (N, C, H_in, W_in): each grad_out (N, C, H_out, W_out) divided by its window's
    divisor and added to every pixel of the window, (P2). Pixels in no window get 0."""
    grad_x = np.empty((*grad_out.shape[:2], *input_hw), dtype=grad_out.dtype)
    _spread_planes(grad_out, rows, cols, divisor, grad_x)
    return grad_x
