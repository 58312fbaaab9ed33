"""Embedding lookup and its scatter-add gradient, as Numba loops.

Shapes: weight (V, D), V rows (``num_embeddings``) of D features (``embedding_dim``); indices
(N,) int64 in [0, V), the input's indices in one axis; out and grad_out (N, D).
``padding_idx`` is a row of weight in [0, V), or -1 for none. ``docs/backprop.md`` (section
"Embedding"):

    forward             out[n, d]     = weight[indices[n], d]                          (E1)
    weight gradient     grad_W[v, d]  = sum over n with indices[n] = v of grad_out[n, d],
                        and 0 for v = padding_idx                                    (E2)

(E2) scatters: several n may add into one row v, so an iteration per n would race. The kernel
parallelises over runs of columns d instead; each walks every n, in order, and adds only into
its own columns.
"""

import numpy as np
from numba import njit, prange

# Columns per parallel task of the weight gradient.
_COLUMNS_PER_TASK = 16


@njit(parallel=True, cache=True)
def embedding_forward(weight, indices):
    """out (N, D) = the rows ``indices`` (N,) of weight (V, D)   (E1)."""
    N, D = indices.shape[0], weight.shape[1]
    out = np.empty((N, D), dtype=weight.dtype)
    # Iteration n writes only row n of out.
    for n in prange(N):
        row = indices[n]
        for d in range(D):
            out[n, d] = weight[row, d]
    return out


@njit(parallel=True, cache=True)
def embedding_backward(grad_out, indices, num_embeddings, padding_idx):
    """grad_W (V, D): row v the sum of the rows of grad_out (N, D) whose index is v, the
    padding row 0   (E2)."""
    N, D = grad_out.shape
    grad_weight = np.zeros((num_embeddings, D), dtype=grad_out.dtype)
    tasks = (D + _COLUMNS_PER_TASK - 1) // _COLUMNS_PER_TASK
    # Iteration `task` writes only columns d0:d1 of grad_weight: the scatter over n, where two
    # samples may share a row, runs inside it, in order.
    for task in prange(tasks):
        d0 = task * _COLUMNS_PER_TASK
        d1 = min(d0 + _COLUMNS_PER_TASK, D)
        for n in range(N):
            row = indices[n]
            if row != padding_idx:
                for d in range(d0, d1):
                    grad_weight[row, d] += grad_out[n, d]
    return grad_weight
