"""Fully connected layer: ``out = x . W^T + b`` and its three gradients, as Numba loops.

Shapes (see :mod:`mint.kernels`): x (N, C_in), weight W (C_out, C_in) in PyTorch's (out, in)
layout, bias b (C_out,), out and grad_out (N, C_out). The derivation in ``docs/backprop.md``
(section "Linear") stores the weight as (in, out); with our layout its results read

    forward             out[n, o]     = b[o] + sum_i x[n, i] * W[o, i]       (L1)
    input gradient      grad_x[n, i]  = sum_o grad_out[n, o] * W[o, i]       (L2, delta . W)
    weight gradient     grad_W[o, i]  = sum_n grad_out[n, o] * x[n, i]       (L3, delta^T . x)
    bias gradient       grad_b[o]     = sum_n grad_out[n, o]                 (L4)

Every innermost loop walks contiguous rows, so LLVM can vectorise it, and works on a small block
of rows at once, so that each value loaded from memory feeds several multiply-adds (register
blocking, as in :func:`mint.kernels.conv2d._accumulate_dots`): one multiply-add per load made
the single-row loops memory-bound at ~30 GFLOP/s. The forward's dot products are reductions,
which LLVM vectorises only if it may reorder the additions: ``reassoc`` allows exactly that (not
``nnan``/``ninf``, so NaN and inf still behave as IEEE says).
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, fastmath={"reassoc", "contract"})
def _dot_block(x, weight, bias, n, o, out):
    """Fill ``out[n:n + 4, o:o + 4]`` with 16 dot products (L1) that share their loads.

    4 rows of x and 4 rows of weight: 8 loads feed 16 multiply-adds per step along C_in (2 rows
    of x, 6 loads for 8, took 1.35x as long on lenet's hidden layer). Indices past the last row
    are clamped, so an edge block computes some dot products more than once; all copies write
    the same value.
    """
    N, C_in = x.shape
    C_out = weight.shape[0]
    n1, n2, n3 = min(n + 1, N - 1), min(n + 2, N - 1), min(n + 3, N - 1)
    o1, o2, o3 = min(o + 1, C_out - 1), min(o + 2, C_out - 1), min(o + 3, C_out - 1)
    s00, s01, s02, s03 = bias[o], bias[o1], bias[o2], bias[o3]
    s10, s11, s12, s13 = bias[o], bias[o1], bias[o2], bias[o3]
    s20, s21, s22, s23 = bias[o], bias[o1], bias[o2], bias[o3]
    s30, s31, s32, s33 = bias[o], bias[o1], bias[o2], bias[o3]
    for i in range(C_in):
        a0, a1, a2, a3 = x[n, i], x[n1, i], x[n2, i], x[n3, i]
        b0, b1, b2, b3 = weight[o, i], weight[o1, i], weight[o2, i], weight[o3, i]
        s00 += a0 * b0
        s01 += a0 * b1
        s02 += a0 * b2
        s03 += a0 * b3
        s10 += a1 * b0
        s11 += a1 * b1
        s12 += a1 * b2
        s13 += a1 * b3
        s20 += a2 * b0
        s21 += a2 * b1
        s22 += a2 * b2
        s23 += a2 * b3
        s30 += a3 * b0
        s31 += a3 * b1
        s32 += a3 * b2
        s33 += a3 * b3
    out[n, o], out[n, o1], out[n, o2], out[n, o3] = s00, s01, s02, s03
    out[n1, o], out[n1, o1], out[n1, o2], out[n1, o3] = s10, s11, s12, s13
    out[n2, o], out[n2, o1], out[n2, o2], out[n2, o3] = s20, s21, s22, s23
    out[n3, o], out[n3, o1], out[n3, o2], out[n3, o3] = s30, s31, s32, s33


@njit(parallel=True, cache=True)
def linear_forward(x, weight, bias):
    """out (N, C_out) = x (N, C_in) . weight (C_out, C_in)^T + bias (C_out,)   (L1)."""
    N = x.shape[0]
    C_out = weight.shape[0]
    out = np.empty((N, C_out), dtype=x.dtype)
    # Iteration `block` writes only the columns out[:, 4 * block:4 * block + 4]: no two threads
    # share an element. Its 4 weight rows stay in cache while every x row streams past them.
    for block in prange((C_out + 3) // 4):
        for n in range(0, N, 4):
            _dot_block(x, weight, bias, n, 4 * block, out)
    return out


@njit(cache=True, fastmath={"reassoc", "contract"})
def _accumulate_products(coefficients, rows, out):
    """``out[j, p] += sum_k coefficients[j, k] * rows[k, p]``: coefficients (J, K), rows (K, P),
    out (J, P); rows and out have contiguous rows.

    Blocks of 4 output rows by 4 input rows: each step along P loads 4 values of ``rows`` and
    updates 4 of ``out``, 16 multiply-adds (2 output rows, 8 multiply-adds for the same loads
    and stores, took 1.4x as long on lenet's hidden layer). The last ``K % 4`` input rows and
    ``J % 4`` output rows go one at a time. No index is clamped here: ``+=`` would count a row
    twice.
    """
    J, K = coefficients.shape
    P = rows.shape[1]
    J_blocked, K_blocked = J - J % 4, K - K % 4
    for j in range(0, J_blocked, 4):
        for k in range(0, K_blocked, 4):
            c0 = (coefficients[j, k], coefficients[j, k + 1], coefficients[j, k + 2],
                  coefficients[j, k + 3])
            c1 = (coefficients[j + 1, k], coefficients[j + 1, k + 1], coefficients[j + 1, k + 2],
                  coefficients[j + 1, k + 3])
            c2 = (coefficients[j + 2, k], coefficients[j + 2, k + 1], coefficients[j + 2, k + 2],
                  coefficients[j + 2, k + 3])
            c3 = (coefficients[j + 3, k], coefficients[j + 3, k + 1], coefficients[j + 3, k + 2],
                  coefficients[j + 3, k + 3])
            for p in range(P):
                r0, r1, r2, r3 = rows[k, p], rows[k + 1, p], rows[k + 2, p], rows[k + 3, p]
                out[j, p] += c0[0] * r0 + c0[1] * r1 + c0[2] * r2 + c0[3] * r3
                out[j + 1, p] += c1[0] * r0 + c1[1] * r1 + c1[2] * r2 + c1[3] * r3
                out[j + 2, p] += c2[0] * r0 + c2[1] * r1 + c2[2] * r2 + c2[3] * r3
                out[j + 3, p] += c3[0] * r0 + c3[1] * r1 + c3[2] * r2 + c3[3] * r3
    for j in range(J):
        for k in range(K_blocked if j < J_blocked else 0, K):
            c = coefficients[j, k]
            for p in range(P):
                out[j, p] += c * rows[k, p]


# Rows of the result per parallel iteration of the two gradients below: enough for the blocks of
# _accumulate_products, few enough to share lenet's 64 samples or 128 features among threads.
_ROWS_PER_TASK = 4


@njit(parallel=True, cache=True)
def linear_backward_input(grad_out, weight):
    """grad_x (N, C_in) = grad_out (N, C_out) . weight (C_out, C_in)   (L2)."""
    N = grad_out.shape[0]
    C_in = weight.shape[1]
    grad_x = np.empty((N, C_in), dtype=grad_out.dtype)
    # Iteration `task` writes only rows grad_x[first:last]: no two threads share an element.
    for task in prange((N + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK):
        first = task * _ROWS_PER_TASK
        last = min(first + _ROWS_PER_TASK, N)
        # Zeroed here rather than by np.zeros, which in a parallel kernel is one more parallel
        # loop for Numba to compile (0.4 s).
        for n in range(first, last):
            for i in range(C_in):
                grad_x[n, i] = 0
        _accumulate_products(grad_out[first:last], weight, grad_x[first:last])
    return grad_x


@njit(parallel=True, cache=True)
def linear_backward_weight(grad_out, x):
    """grad_W (C_out, C_in) = grad_out (N, C_out)^T . x (N, C_in)   (L3)."""
    C_out = grad_out.shape[1]
    C_in = x.shape[1]
    grad_weight = np.empty((C_out, C_in), dtype=grad_out.dtype)
    # grad_out^T is a strided view: its values are read once per block, as scalars.
    delta_t = grad_out.T
    # Iteration `task` writes only rows grad_weight[first:last]: no two threads share an element.
    for task in prange((C_out + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK):
        first = task * _ROWS_PER_TASK
        last = min(first + _ROWS_PER_TASK, C_out)
        for o in range(first, last):
            for i in range(C_in):
                grad_weight[o, i] = 0
        _accumulate_products(delta_t[first:last], x, grad_weight[first:last])
    return grad_weight


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
