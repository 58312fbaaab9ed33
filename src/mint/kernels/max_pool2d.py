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

from functools import cache

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _takes(value, best, best_index):
    """Whether a tap replaces its window's maximum so far: it is the window's first tap
    (``best_index < 0``), strictly greater, or NaN. Bitwise ``|`` compiles to selects, not
    branches: on random inputs "value > best" is a coin toss, and a mispredicted branch per tap
    cost 1.3-1.5x."""
    return (best_index < 0) | (value > best) | np.isnan(value)


# inline="always": inlined into _pool_plane, which is compiled for each window size with KH
# and KW as constants.
@njit(cache=True, inline="always")
def _pool_window(x, n, c, top, left, KH, KW, dilation, check_bounds, with_argmax):
    """(max, argmax) of the window of KH x KW taps whose first tap is (top, left) in plane
    x[n, c]; taps outside the plane are skipped if ``check_bounds``. Without ``with_argmax`` a
    tap equal to the maximum so far changes nothing, so the first tap need not be taken, and the
    argmax (-1) is left for LLVM to drop."""
    H_in, W_in = x.shape[2:]
    DH, DW = dilation
    best = x.dtype.type(-np.inf)
    best_index = -1
    for p in range(KH):
        h = top + p * DH
        for q in range(KW):
            w = left + q * DW
            if check_bounds and (h < 0 or h >= H_in or w < 0 or w >= W_in):
                continue
            # Unsigned indices: h and w are >= 0 here, and Numba then skips its wraparound of
            # negative indices, a select per index that turned the loads into gathers (4x).
            value = x[n, c, np.uintp(h), np.uintp(w)]
            if with_argmax:
                take = _takes(value, best, best_index)
                best_index = h * W_in + w if take else best_index
            else:
                take = (value > best) | np.isnan(value)
            best = value if take else best
    return best, best_index


@njit(cache=True, inline="always")
def _pool_windows(x, n, c, i, first, stop, KH, KW, stride, padding, dilation, check_bounds,
                  with_argmax, out, argmax):
    """Fill windows first <= j < stop of row i of out[n, c] (and argmax[n, c])."""
    (SH, SW), (PH, PW) = stride, padding
    for j in range(first, stop):
        best, best_index = _pool_window(x, n, c, i * SH - PH, j * SW - PW, KH, KW, dilation,
                                        check_bounds, with_argmax)
        out[n, c, i, j] = best
        if with_argmax:
            argmax[n, c, i, j] = best_index


@njit(cache=True)
def _pool_plane(x, n, c, KH, KW, stride, padding, dilation, with_argmax, out, argmax):
    """Fill out[n, c] (and argmax[n, c]) (H_out, W_out) from x[n, c] (H_in, W_in).

    Called with KH, KW and ``with_argmax`` as literals, Numba compiles it once for each of
    their values, with them as constants; the window helpers are inlined into it.

    The windows of a row whose taps all lie inside the input (all of them, without padding or
    ``ceil_mode``) are one loop without bounds checks, which LLVM vectorises across windows; the
    windows at either end of the row, and rows whose windows reach into the padding, check each
    tap."""
    H_in, W_in = x.shape[2:]
    H_out, W_out = out.shape[2:]
    (SH, SW), (PH, PW), (DH, DW) = stride, padding, dilation
    # Windows first <= j < stop have columns j * SW - PW + q * DW inside [0, W_in) for every q.
    first = min(W_out, -(-PW // SW))
    stop = max(first, min(W_out, (W_in - 1 - (KW - 1) * DW + PW) // SW + 1))
    for i in range(H_out):
        top = i * SH - PH
        if top >= 0 and top + (KH - 1) * DH < H_in:
            row_first, row_stop = first, stop
        else:
            row_first = row_stop = W_out
        _pool_windows(x, n, c, i, row_first, row_stop, KH, KW, stride, padding, dilation, False,
                      with_argmax, out, argmax)
        # Both ends of the row through one call, so that the checked window is inlined once
        # (three calls compiled to a kernel 1.4x slower on ResNet-18's padded 3 x 3 windows).
        for end in range(2):
            _pool_windows(x, n, c, i, row_stop if end else 0, W_out if end else row_first, KH,
                          KW, stride, padding, dilation, True, with_argmax, out, argmax)


@cache
def _forward_kernel(KH, KW, with_argmax):
    """The parallel forward kernel for windows of KH x KW taps, with or without the argmax,
    compiled once for each.

    KH, KW and ``with_argmax`` are compile-time constants of the kernel (closure variables,
    passed as literals to :func:`_pool_plane`, which Numba compiles for them), so LLVM unrolls
    the tap loops and drops the argmax code of the kernel without it: with the sizes as run-time
    arguments the same loops ran 3-4x slower, one tap at a time. (Stride and dilation as
    constants too made the kernel without argmax another 1.1-1.2x faster, but multiplied the
    kernels to compile by every stride and dilation in use.) _pool_plane is called, not inlined
    into the parallel loop: there its windows went through the parallel passes and were typed
    twice (for the kernel, then for the loop's body), which took 4-5 s to compile, and the
    kernel with the argmax ran 1.6-3.3x slower. The closure refers to module-level functions
    only: Numba's disk cache cannot key a closure that holds another compiled function, and
    recompiled it in every new process.
    """

    @njit(parallel=True, cache=True)
    def pool_planes(x, stride, padding, dilation, out, argmax):
        C = x.shape[1]
        # Iteration `plane` writes only the plane out[n, c] and argmax[n, c].
        for plane in prange(x.shape[0] * C):
            _pool_plane(x, plane // C, plane % C, KH, KW, stride, padding, dilation,
                        with_argmax, out, argmax)

    return pool_planes


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, output_hw):
    """(out, argmax), both (N, C, H_out, W_out), from x (N, C, H_in, W_in); argmax is int64."""
    out = np.empty((*x.shape[:2], *output_hw), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.int64)
    _forward_kernel(*kernel_size, True)(x, stride, padding, dilation, out, argmax)
    return out, argmax


def max_pool2d_values(x, kernel_size, stride, padding, dilation, output_hw):
    """out (N, C, H_out, W_out) of :func:`max_pool2d_forward` alone, without argmax (for
    inference: it stores 3 bytes in 4 less per output in float32)."""
    out = np.empty((*x.shape[:2], *output_hw), dtype=x.dtype)
    no_argmax = np.empty((0, 0, 0, 0), dtype=np.int64)
    _forward_kernel(*kernel_size, False)(x, stride, padding, dilation, out, no_argmax)
    return out


@njit(parallel=True, cache=True)
def _scatter_gradients(grad_out, argmax, grad_x):
    N, C, H_out, W_out = grad_out.shape
    # Iteration `plane` writes only grad_x[n, c]: the windows that share an argmax are all in
    # the same plane, so their additions run on one thread, in order.
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        # Zeroed plane by plane here: np.zeros in a parallel kernel is one more parallel loop
        # for Numba to compile.
        for k in range(grad_x.shape[2]):
            grad_x[n, c, k] = 0
        for i in range(H_out):
            for j in range(W_out):
                grad_x[n, c, argmax[n, c, i, j]] += grad_out[n, c, i, j]


def max_pool2d_backward(grad_out, argmax, input_hw):
    """grad_x (N, C, H_in, W_in): each grad_out (N, C, H_out, W_out) added at its argmax.

    Overlapping windows may share an argmax, so the gradients add up (``+=``, never ``=``).
    grad_x is allocated here, with NumPy, for the reason given in :mod:`mint.kernels.activation`.
    """
    N, C = grad_out.shape[:2]
    grad_x = np.empty((N, C, input_hw[0] * input_hw[1]), dtype=grad_out.dtype)
    _scatter_gradients(grad_out, argmax, grad_x)
    return grad_x.reshape((N, C, *input_hw))
