"""2-D max-pooling and its gradient, as Numba loops.

Shapes (see :mod:`mint.kernels`): x and grad_x (N, C, H_in, W_in); out, argmax and grad_out
(N, C, H_out, W_out). Window (i, j) of a plane covers the taps

    h = i * SH - PH + p * DH,   w = j * SW - PW + q * DW,   0 <= p < KH, 0 <= q < KW

and the equations ("Max-pooling" in ``docs/backprop.md``) are

    out[n, c, i, j]    = max over the taps inside the input of x[n, c, h, w]
    argmax[n, c, i, j] = h * W_in + w of that maximum (flat index in the input plane)
    grad_x[n, c, h, w] = sum of grad_out[n, c, i, j] over the windows whose argmax is (h, w)

Taps outside the input (the ``-inf`` padding, and in ``ceil_mode`` the part of a last window
that hangs past the bottom/right edge) are skipped, so padding never wins. Ties and NaN follow
PyTorch's CPU kernel: a tap replaces the current maximum if it is strictly greater or NaN, so
the first maximum in row-major window order wins, and a NaN (the last one, if several) wins over
any number. A window of only ``-inf`` reports its first tap inside the input.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _max_pool_plane(x_plane, out_plane, argmax_plane, kernel_size, stride, padding, dilation):
    """Fill one (H_out, W_out) plane of out and argmax from one (H_in, W_in) plane of x."""
    H_in, W_in = x_plane.shape
    H_out, W_out = out_plane.shape
    (KH, KW), (SH, SW), (PH, PW), (DH, DW) = kernel_size, stride, padding, dilation
    for i in range(H_out):
        for j in range(W_out):
            best = x_plane.dtype.type(-np.inf)
            best_index = -1
            for p in range(KH):
                h = i * SH - PH + p * DH
                if h < 0 or h >= H_in:
                    continue
                for q in range(KW):
                    w = j * SW - PW + q * DW
                    if w < 0 or w >= W_in:
                        continue
                    value = x_plane[h, w]
                    # Bitwise | and conditional expressions compile to selects, not branches:
                    # on random inputs "value > best" is a coin toss, and a mispredicted branch
                    # per tap made this loop 1.3-1.5x slower.
                    take = (best_index < 0) | (value > best) | np.isnan(value)
                    best = value if take else best
                    best_index = h * W_in + w if take else best_index
            out_plane[i, j] = best
            argmax_plane[i, j] = best_index


@njit(parallel=True, cache=True)
def max_pool2d_forward(x, kernel_size, stride, padding, dilation, output_hw):
    """(out, argmax), both (N, C, H_out, W_out), from x (N, C, H_in, W_in); argmax is int64."""
    N, C = x.shape[:2]
    H_out, W_out = output_hw
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    argmax = np.empty((N, C, H_out, W_out), dtype=np.int64)
    # Iteration `plane` writes only the plane out[n, c] and argmax[n, c].
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        _max_pool_plane(x[n, c], out[n, c], argmax[n, c], kernel_size, stride, padding,
                        dilation)
    return out, argmax


@njit(parallel=True, cache=True)
def max_pool2d_backward(grad_out, argmax, input_hw):
    """grad_x (N, C, H_in, W_in): each grad_out (N, C, H_out, W_out) added at its argmax.

    Overlapping windows may share an argmax, so the gradients add up (``+=``, never ``=``).
    """
    N, C, H_out, W_out = grad_out.shape
    H_in, W_in = input_hw
    # Zeroed plane by plane inside the loop: np.zeros in a parallel kernel is one more parallel
    # loop for Numba to compile.
    grad_x = np.empty((N, C, H_in * W_in), dtype=grad_out.dtype)
    # Iteration `plane` writes only grad_x[n, c]: the windows that share an argmax are all in
    # the same plane, so their additions run on one thread, in order.
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for k in range(H_in * W_in):
            grad_x[n, c, k] = 0
        for i in range(H_out):
            for j in range(W_out):
                grad_x[n, c, argmax[n, c, i, j]] += grad_out[n, c, i, j]
    return grad_x.reshape((N, C, H_in, W_in))
