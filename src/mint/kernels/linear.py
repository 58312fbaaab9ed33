"""Fully connected layer: ``out = x . W^T + b`` and its three gradients, as Numba loops.

Shapes (see :mod:`mint.kernels`): x (N, C_in), weight W (C_out, C_in) in PyTorch's (out, in)
layout, bias b (C_out,), out and grad_out (N, C_out). The derivation in ``docs/backprop.md``
(section "Linear") stores the weight as (in, out); with our layout its results read

    forward             out[n, o]     = b[o] + sum_i x[n, i] * W[o, i]       (L1)
    input gradient      grad_x[n, i]  = sum_o grad_out[n, o] * W[o, i]       (L2, delta . W)
    weight gradient     grad_W[o, i]  = sum_n grad_out[n, o] * x[n, i]       (L3, delta^T . x)
    bias gradient       grad_b[o]     = sum_n grad_out[n, o]                 (L4)

The forward is :func:`mint.kernels.products.accumulate_dots` over blocks of 4 weight rows, the
two gradients :func:`mint.kernels.products.accumulate_outer` over blocks of 4 result rows: both
register-blocked, with NaN and inf behaving as IEEE says.
"""

import numpy as np
from numba import njit, prange

from mint.kernels.products import accumulate_dots, accumulate_outer

# The forward's work is cut into tiles of this many samples by this many output features, each
# one call of accumulate_dots: its 32 weight rows (0.4 MB in lenet's hidden layer) stay in the
# core's L2 cache while the tile's samples pass over them 4 by 4, and the weight is read once
# per 64 samples. With blocks of 4 features across the whole batch instead, every block
# streamed all the samples from memory: at batch 1,000 the hidden layer took 4x as long.
_SAMPLES_PER_TILE = 64
_FEATURES_PER_TILE = 32


@njit(parallel=True, cache=True)
def linear_forward(x, weight, bias):
    """out (N, C_out) = x (N, C_in) . weight (C_out, C_in)^T + bias (C_out,)   (L1)."""
    N = x.shape[0]
    C_out = weight.shape[0]
    out = np.empty((N, C_out), dtype=x.dtype)
    feature_tiles = (C_out + _FEATURES_PER_TILE - 1) // _FEATURES_PER_TILE
    tiles = (N + _SAMPLES_PER_TILE - 1) // _SAMPLES_PER_TILE * feature_tiles
    # Iteration `tile` writes only its block of out (samples n0:n1, features o0:o1): no two
    # threads share an element.
    for tile in prange(tiles):
        n0 = tile // feature_tiles * _SAMPLES_PER_TILE
        o0 = tile % feature_tiles * _FEATURES_PER_TILE
        n1, o1 = min(n0 + _SAMPLES_PER_TILE, N), min(o0 + _FEATURES_PER_TILE, C_out)
        # The tile is summed in an array of its own, C-contiguous like every other argument of
        # accumulate_dots in lenet, which Numba then compiles once (a strided view of out is
        # another array type: one more compilation of it, 2 s).
        tile_out = np.empty((n1 - n0, o1 - o0), dtype=x.dtype)
        for n in range(n1 - n0):
            for o in range(o1 - o0):
                tile_out[n, o] = bias[o0 + o]
        accumulate_dots(weight[o0:o1], x[n0:n1], tile_out)
        for n in range(n1 - n0):
            for o in range(o1 - o0):
                out[n0 + n, o0 + o] = tile_out[n, o]
    return out


# Rows of the result per parallel iteration of _product: enough for the blocks of
# accumulate_outer, few enough to share lenet's 64 samples or 128 features among threads.
_ROWS_PER_TASK = 4


@njit(parallel=True, cache=True)
def _product(coefficients, rows):
    """out (J, P) = coefficients (J, K) . rows (K, P), through accumulate_outer."""
    J = coefficients.shape[0]
    P = rows.shape[1]
    out = np.empty((J, P), dtype=rows.dtype)
    # Iteration `task` writes only rows out[first:last]: no two threads share an element.
    for task in prange((J + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK):
        first = task * _ROWS_PER_TASK
        last = min(first + _ROWS_PER_TASK, J)
        # Zeroed here rather than by np.zeros, which in a parallel kernel is one more parallel
        # loop for Numba to compile (0.4 s).
        for j in range(first, last):
            for p in range(P):
                out[j, p] = 0
        accumulate_outer(coefficients[first:last], rows, out[first:last])
    return out


def linear_backward_input(grad_out, weight):
    """grad_x (N, C_in) = grad_out (N, C_out) . weight (C_out, C_in)   (L2)."""
    return _product(grad_out, weight)


def linear_backward_weight(grad_out, x):
    """grad_W (C_out, C_in) = grad_out (N, C_out)^T . x (N, C_in)   (L3).

    grad_out^T is copied contiguous (N * C_out values, 32 KB in lenet): as a strided view it
    would make Numba compile :func:`_product` a second time, for that layout (1.7 s)."""
    return _product(np.ascontiguousarray(grad_out.T), x)


@njit(cache=True)
def linear_backward_bias(grad_out):
    """grad_b (C_out,) = grad_out (N, C_out) summed over the batch   (L4).

    Serial: it is one pass over grad_out, with rows walked contiguously.
    """
    N, C_out = grad_out.shape
    grad_bias = np.zeros(C_out, dtype=grad_out.dtype)
    for n in range(N):
        for o in range(C_out):
            grad_bias[o] += grad_out[n, o]
    return grad_bias
