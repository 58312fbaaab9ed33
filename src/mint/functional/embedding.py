"""Embedding: rows of a weight table picked by integer indices, and the table's gradient.

The indices may have any shape (*); the kernels see them flattened to (N,), and the output
(*, D) is reshaped back.
"""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def padding_index(op, padding_idx, num_embeddings):
    """``padding_idx`` (None, or a row in [-V, V), negative counting from the end, as
    PyTorch) as a row in [0, V), or -1 for none (also used by ``nn.Embedding``)."""
    if padding_idx is None:
        return -1
    padding_idx = check.integer(op, "padding_idx", padding_idx, -num_embeddings)
    if padding_idx >= num_embeddings:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings ({num_embeddings}), "
                         f"got {padding_idx}")
    return padding_idx % num_embeddings


def _check_embedding(op, indices, weight, padding_idx):
    weight = check.float_array(op, "weight", weight, ndim=2)
    if not isinstance(indices, np.ndarray | np.integer) or indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: input must be a numpy.ndarray of integer indices, got "
                        f"{getattr(indices, 'dtype', type(indices).__name__)}")
    V = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= V):
        raise ValueError(f"{op}: input indices must be in [0, {V}) (weight has {V} rows), got "
                         f"values from {indices.min()} to {indices.max()}")
    flat = np.ascontiguousarray(indices, dtype=np.int64).reshape(-1)
    return flat, weight, padding_index(op, padding_idx, V)


def embedding(input, weight, padding_idx=None, *, strategy=None):
    """The rows of weight (V, D) at the indices ``input`` (any shape *, integers in [0, V)):
    returns (*, D), (E1). ``padding_idx`` only changes the gradient (its row gets none)."""
    flat, weight, _ = _check_embedding("embedding", input, weight, padding_idx)
    out = resolve(strategy).embedding.embedding_forward(weight, flat)
    return out.reshape(*np.shape(input), weight.shape[1])


def embedding_backward(grad_out, input, weight, padding_idx=None, *, strategy=None):
    """The gradient of :func:`embedding` with respect to weight (V, D): each row the sum of the
    rows of grad_out (*, D) whose index it is, the ``padding_idx`` row 0 (E2). The indices
    have no gradient."""
    op = "embedding_backward"
    flat, weight, padding_idx = _check_embedding(op, input, weight, padding_idx)
    grad_out = check.float_array(op, "grad_out", grad_out)
    check.same_dtype(op, grad_out=grad_out, weight=weight)
    check.grad_out_shape(op, grad_out, (*np.shape(input), weight.shape[1]))
    return resolve(strategy).embedding.embedding_backward(
        grad_out.reshape(-1, weight.shape[1]), flat, weight.shape[0], padding_idx)
