"""Embedding lookup by fancy indexing, and its gradient by ``np.add.at`` (an unbuffered
scatter-add: repeated indices add up).

Same functions, shapes and equations as :mod:`mint.kernels.embedding`: weight (V, D), indices
(N,), grad_out (N, D), padding_idx a row or -1.
"""

import numpy as np


def embedding_forward(weight, indices):
    """out (N, D) = the rows ``indices`` (N,) of weight (V, D)."""
    return weight[indices]


def embedding_backward(grad_out, indices, num_embeddings, padding_idx):
    """grad_W (V, D): row v the sum of the rows of grad_out whose index is v, the padding row
    0."""
    grad_weight = np.zeros((num_embeddings, grad_out.shape[1]), grad_out.dtype)
    np.add.at(grad_weight, indices, grad_out)
    if padding_idx >= 0:
        grad_weight[padding_idx] = 0
    return grad_weight
