"""Batched matrix products and their two gradients, as Numba loops.

Shapes: input A (B, M, K), other Bm (B, K, P), out and grad_out (B, M, P), B the batch of
matrices (the broadcast batch dimensions of ``F.matmul`` in one axis). ``docs/backprop.md``
(section "Batched matrix products"):

    forward             out[b, m, p]     = sum_k A[b, m, k] * Bm[b, k, p]           (Q1)
    input gradient      grad_A[b, m, k]  = sum_p grad_out[b, m, p] * Bm[b, k, p]    (Q2)
    other gradient      grad_Bm[b, k, p] = sum_m A[b, m, k] * grad_out[b, m, p]     (Q3)

Each result row is summed by one iteration, into a float64 row of its own, with the innermost
loop running along contiguous rows (Q1, and Q3, which is Q1 of the transposed input) or as a dot
product of two rows (Q2).
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def matmul_forward(input, other):
    """out (B, M, P) = input (B, M, K) . other (B, K, P), per matrix of the batch   (Q1)."""
    B, M, K = input.shape
    P = other.shape[2]
    out = np.empty((B, M, P), dtype=input.dtype)
    # Iteration (b, m) writes only row m of out[b].
    for row in prange(B * M):
        b, m = row // M, row % M
        total = np.zeros(P)
        for k in range(K):
            coefficient = input[b, m, k]
            for p in range(P):
                total[p] += coefficient * other[b, k, p]
        for p in range(P):
            out[b, m, p] = total[p]
    return out


@njit(parallel=True, cache=True)
def matmul_backward_input(grad_out, other):
    """grad_input (B, M, K) = grad_out (B, M, P) . other (B, K, P)^T   (Q2)."""
    B, M, P = grad_out.shape
    K = other.shape[1]
    grad_input = np.empty((B, M, K), dtype=grad_out.dtype)
    # Iteration (b, m) writes only row m of grad_input[b].
    for row in prange(B * M):
        b, m = row // M, row % M
        for k in range(K):
            total = 0.0
            for p in range(P):
                total += grad_out[b, m, p] * other[b, k, p]
            grad_input[b, m, k] = total
    return grad_input


def matmul_backward_other(grad_out, input):
    """grad_other (B, K, P) = input (B, M, K)^T . grad_out (B, M, P)   (Q3): the forward (Q1)
    of the transposed input, a view (row k of grad_other[b] sums input[b, m, k] * grad_out[b, m]
    over m, in order)."""
    return matmul_forward(input.transpose(0, 2, 1), grad_out)
