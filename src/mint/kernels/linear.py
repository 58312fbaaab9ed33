"""Fully connected layer: ``out = x . W^T + b`` and its three gradients, as Numba loops.

Shapes (see :mod:`mint.kernels`): x (N, C_in), weight W (C_out, C_in) in PyTorch's (out, in)
layout, bias b (C_out,), out and grad_out (N, C_out). The derivation in ``docs/backprop.md``
(section "Linear") stores the weight as (in, out); with our layout its results read

    forward             out[n, o]     = b[o] + sum_i x[n, i] * W[o, i]
    input gradient      grad_x[n, i]  = sum_o grad_out[n, o] * W[o, i]     (delta . W)
    weight gradient     grad_W[o, i]  = sum_n grad_out[n, o] * x[n, i]     (delta^T . x)
    bias gradient       grad_b[o]     = sum_n grad_out[n, o]

Every innermost loop walks a contiguous row, so LLVM can vectorise it. The forward's dot product
is a reduction, which LLVM vectorises only if it may reorder the additions: ``reassoc`` allows
exactly that (not ``nnan``/``ninf``, so NaN and inf still behave as IEEE says).
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def linear_forward(x, weight, bias):
    """out (N, C_out) = x (N, C_in) . weight (C_out, C_in)^T + bias (C_out,)."""
    N, C_in = x.shape
    C_out = weight.shape[0]
    out = np.empty((N, C_out), dtype=x.dtype)
    # Iteration n writes only row out[n]: no two threads share an element.
    for n in prange(N):
        for o in range(C_out):
            total = bias[o]
            for i in range(C_in):
                total += x[n, i] * weight[o, i]
            out[n, o] = total
    return out


@njit(parallel=True, cache=True)
def linear_backward_input(grad_out, weight):
    """grad_x (N, C_in) = grad_out (N, C_out) . weight (C_out, C_in)."""
    N, C_out = grad_out.shape
    C_in = weight.shape[1]
    # Zeroed row by row inside the loop: np.zeros in a parallel kernel is one more parallel loop
    # for Numba to compile (0.4 s).
    grad_x = np.empty((N, C_in), dtype=grad_out.dtype)
    # Iteration n writes only row grad_x[n]: no two threads share an element.
    for n in prange(N):
        for i in range(C_in):
            grad_x[n, i] = 0
        for o in range(C_out):
            delta = grad_out[n, o]
            for i in range(C_in):
                grad_x[n, i] += delta * weight[o, i]
    return grad_x


@njit(parallel=True, cache=True)
def linear_backward_weight(grad_out, x):
    """grad_W (C_out, C_in) = grad_out (N, C_out)^T . x (N, C_in)."""
    N, C_out = grad_out.shape
    C_in = x.shape[1]
    grad_weight = np.empty((C_out, C_in), dtype=grad_out.dtype)
    # Iteration o writes only row grad_weight[o]: no two threads share an element.
    for o in prange(C_out):
        for i in range(C_in):
            grad_weight[o, i] = 0
        for n in range(N):
            delta = grad_out[n, o]
            for i in range(C_in):
                grad_weight[o, i] += delta * x[n, i]
    return grad_weight


@njit(cache=True)
def linear_backward_bias(grad_out):
    """grad_b (C_out,) = grad_out (N, C_out) summed over the batch.

    Serial: it is one pass over grad_out, with rows walked contiguously.
    """
    N, C_out = grad_out.shape
    grad_bias = np.zeros(C_out, dtype=grad_out.dtype)
    for n in range(N):
        for o in range(C_out):
            grad_bias[o] += grad_out[n, o]
    return grad_bias
