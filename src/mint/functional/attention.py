"""Batched matrix products and scaled dot-product attention, forward and backward.

``matmul`` broadcasts the batch dimensions as ``torch.matmul`` does and the kernels see one
batch axis, (B, M, K) @ (B, K, P); the backward sums each gradient over the dimensions its
operand was broadcast along. ``scaled_dot_product_attention`` takes PyTorch's arguments; the
kernels see queries, keys and values with their batch dimensions (samples, heads) in one axis,
and the mask and the causal rule as one additive bias of -inf and float values.
"""

import math

import numpy as np

from mint import _checks as check
from mint.functional.dropout import dropout_probability
from mint.runtime import default_generator
from mint.strategy import resolve

# --------------------------------------------------------------------------------- matmul


def _check_matmul(op, input, other):
    input = check.float_array(op, "input", input)
    other = check.float_array(op, "other", other)
    check.same_dtype(op, input=input, other=other)
    for name, value in (("input", input), ("other", other)):
        if value.ndim < 2:
            raise ValueError(f"{op}: {name} must have at least 2 dimensions (*, rows, "
                             f"columns), got shape {value.shape}")
    if input.shape[-1] != other.shape[-2]:
        raise ValueError(f"{op}: input {input.shape} has {input.shape[-1]} columns but other "
                         f"{other.shape} has {other.shape[-2]} rows")
    try:
        batch = np.broadcast_shapes(input.shape[:-2], other.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the batch dimensions of input {input.shape} and other "
                         f"{other.shape} do not broadcast") from None
    return input, other, batch


def _batched(array, batch):
    """array (*, R, C) broadcast to (*batch, R, C), as one contiguous (B, R, C) array."""
    full = np.broadcast_to(array, (*batch, *array.shape[-2:]))
    return np.ascontiguousarray(full).reshape(-1, *array.shape[-2:])


def _unbroadcast(grad, shape):
    """grad (*batch, R, C) summed over the dimensions along which an operand of ``shape`` was
    broadcast: the gradient of a broadcast is the sum of the gradients of its copies."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, size in enumerate(shape[:-2])
                                       if size == 1 and grad.shape[extra + i] != 1)
    return np.ascontiguousarray(grad.sum(axis=axes).reshape(shape)) if axes else grad


def matmul(input, other, *, strategy=None):
    """Matrix product of input (*, M, K) and other (*, K, P), batch dimensions broadcast as in
    ``torch.matmul``: returns (*batch, M, P), (Q1). Both operands need at least 2 dimensions."""
    input, other, batch = _check_matmul("matmul", input, other)
    out = resolve(strategy).matmul.matmul_forward(_batched(input, batch), _batched(other, batch))
    return out.reshape(*batch, input.shape[-2], other.shape[-1])


def matmul_backward(grad_out, input, other, *, strategy=None):
    """Gradients of :func:`matmul`: returns ``(grad_input, grad_other)`` (Q2, Q3), each of its
    operand's shape."""
    op = "matmul_backward"
    input, other, batch = _check_matmul(op, input, other)
    grad_out = check.float_array(op, "grad_out", grad_out)
    check.same_dtype(op, grad_out=grad_out, input=input)
    check.grad_out_shape(op, grad_out, (*batch, input.shape[-2], other.shape[-1]))
    kernels = resolve(strategy).matmul
    grad_rows = grad_out.reshape(-1, *grad_out.shape[-2:])
    grad_input = kernels.matmul_backward_input(grad_rows, _batched(other, batch))
    grad_other = kernels.matmul_backward_other(grad_rows, _batched(input, batch))
    return (_unbroadcast(grad_input.reshape(*batch, *input.shape[-2:]), input.shape),
            _unbroadcast(grad_other.reshape(*batch, *other.shape[-2:]), other.shape))


# ------------------------------------------------------------------------------ attention


def _check_attention(op, query, key, value, attn_mask, dropout_p, is_causal, scale):
    """The checked arrays, the batch shape, the (B, L, S) bias (0 rows: none) and the scale."""
    query, key, value = (check.float_array(op, name, array) for name, array in
                         (("query", query), ("key", key), ("value", value)))
    check.same_dtype(op, query=query, key=key, value=value)
    for name, array in (("query", query), ("key", key), ("value", value)):
        if array.ndim < 2:
            raise ValueError(f"{op}: {name} must have at least 2 dimensions (*, tokens, "
                             f"features), got shape {array.shape}")
    batch = query.shape[:-2]
    if key.shape[:-2] != batch or value.shape[:-2] != batch:
        raise ValueError(f"{op}: query {query.shape}, key {key.shape} and value {value.shape} "
                         "must share their leading (batch) dimensions")
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(f"{op}: key must have the {query.shape[-1]} features of query "
                         f"{query.shape}, got {key.shape}")
    if value.shape[-2] != key.shape[-2]:
        raise ValueError(f"{op}: value must have the {key.shape[-2]} tokens of key "
                         f"{key.shape}, got {value.shape}")
    dropout_p = dropout_probability(op, dropout_p)
    is_causal = check.boolean(op, "is_causal", is_causal)
    scale = (1 / math.sqrt(query.shape[-1]) if scale is None
             else check.real(op, "scale", scale))
    L, S = query.shape[-2], key.shape[-2]
    B = math.prod(batch)
    if attn_mask is not None and is_causal:
        raise ValueError(f"{op}: give attn_mask or is_causal=True, not both (as PyTorch)")
    if is_causal:  # PyTorch's rule: query i sees keys 0..i (torch.ones(L, S).tril())
        bias = np.where(np.tri(L, S, dtype=bool), 0.0, -np.inf)
        bias = np.broadcast_to(bias.astype(query.dtype), (B, L, S))
    elif attn_mask is not None:
        if not isinstance(attn_mask, np.ndarray) or attn_mask.dtype.kind not in "bf":
            raise TypeError(f"{op}: attn_mask must be a bool or float numpy.ndarray, got "
                            f"{getattr(attn_mask, 'dtype', type(attn_mask).__name__)}")
        try:
            mask = np.broadcast_to(attn_mask, (*batch, L, S))
        except ValueError:
            raise ValueError(f"{op}: attn_mask {attn_mask.shape} does not broadcast to "
                             f"(*, L, S) = {(*batch, L, S)}") from None
        # True takes part in attention; a float mask is added to the scores.
        bias = (np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask)
        bias = bias.astype(query.dtype).reshape(B, L, S)
    else:
        bias = np.zeros((0, L, S), query.dtype)
    return query, key, value, batch, np.ascontiguousarray(bias), dropout_p, scale


def _as_batch(array):
    return array.reshape(-1, *array.shape[-2:])


def _keep_factors(op, keep, dropout_p, shape, dtype):
    """The (B, L, S) multipliers of the probabilities: 0 or 1 / (1 - p) (0 rows: no dropout)."""
    if keep is None:
        if dropout_p > 0:
            raise ValueError(f"{op}: dropout_p > 0 needs the keep mask the forward returned")
        return np.zeros((0, *shape[1:]), dtype)
    keep = np.asarray(keep)
    if keep.dtype != bool or keep.size != math.prod(shape):
        raise ValueError(f"{op}: keep must be the bool mask the forward returned, with "
                         f"{shape} elements")
    factor = 0.0 if dropout_p == 1 else 1 / (1 - dropout_p)
    return np.ascontiguousarray((keep.reshape(shape) * factor).astype(dtype))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, *, strategy=None):
    """Attention of query (*, L, E) over key (*, S, E) and value (*, S, E_v), as PyTorch's
    ``F.scaled_dot_product_attention``: ``softmax(query key^T * scale + mask) value``, (F1-F3).

    Returns ``(out, logsumexp, keep)``: out (*, L, E_v); logsumexp (*, L), the log of each
    softmax denominator, from which the backward recomputes the probabilities; keep, the bool
    (*, L, S) dropout mask (True: kept), or None when ``dropout_p`` is 0. ``attn_mask`` is bool
    (True: the query attends to the key) or float (added to the scores), broadcast to
    (*, L, S); ``is_causal`` lets query i attend to keys 0..i. ``scale`` defaults to
    1 / sqrt(E). Dropout, with probability ``dropout_p``, draws from ``mint.manual_seed``'s
    generator; PyTorch's functional applies it whenever ``dropout_p > 0``, and so does this.
    A query whose keys are all masked gets an output of 0.
    """
    op = "scaled_dot_product_attention"
    query, key, value, batch, bias, dropout_p, scale = _check_attention(
        op, query, key, value, attn_mask, dropout_p, is_causal, scale)
    shape = (math.prod(batch), query.shape[-2], key.shape[-2])
    keep = default_generator().random(shape) >= dropout_p if dropout_p > 0 else None
    factors = _keep_factors(op, keep, dropout_p, shape, query.dtype)
    out, logsumexp = resolve(strategy).attention.attention_forward(
        _as_batch(query), _as_batch(key), _as_batch(value), bias, factors, scale)
    return (out.reshape(*batch, *out.shape[-2:]), logsumexp.reshape(*batch, shape[1]),
            None if keep is None else keep.reshape(*batch, *shape[1:]))


def _saved_statistics(op, logsumexp, batch, L, dtype):
    if not isinstance(logsumexp, np.ndarray) or logsumexp.size != math.prod(batch) * L:
        raise ValueError(f"{op}: logsumexp must be the {(*batch, L)} array the forward "
                         f"returned, got {getattr(logsumexp, 'shape', logsumexp)!r}")
    logsumexp = check.float_array(op, "logsumexp", logsumexp)
    check.same_dtype(op, query=np.empty(0, dtype), logsumexp=logsumexp)
    return logsumexp.reshape(-1, L)


def scaled_dot_product_attention_backward(grad_out, query, key, value, logsumexp, keep=None,
                                          attn_mask=None, dropout_p=0.0, is_causal=False,
                                          scale=None, *, strategy=None):
    """Gradients of :func:`scaled_dot_product_attention`: ``(grad_query, grad_key,
    grad_value)`` (F4-F6), given the ``logsumexp`` and ``keep`` it returned and the same mask,
    dropout_p, is_causal and scale."""
    op = "scaled_dot_product_attention_backward"
    query, key, value, batch, bias, dropout_p, scale = _check_attention(
        op, query, key, value, attn_mask, dropout_p, is_causal, scale)
    grad_out = check.float_array(op, "grad_out", grad_out)
    check.same_dtype(op, grad_out=grad_out, query=query)
    check.grad_out_shape(op, grad_out, (*query.shape[:-1], value.shape[-1]))
    L, S = query.shape[-2], key.shape[-2]
    logsumexp = _saved_statistics(op, logsumexp, batch, L, query.dtype)
    factors = _keep_factors(op, keep, dropout_p, (math.prod(batch), L, S), query.dtype)
    grads = resolve(strategy).attention.attention_backward(
        _as_batch(grad_out), _as_batch(query), _as_batch(key), _as_batch(value), bias, factors,
        scale, logsumexp)
    return tuple(g.reshape(a.shape) for g, a in zip(grads, (query, key, value), strict=True))


def attention_weights(query, key, logsumexp, keep=None, attn_mask=None, dropout_p=0.0,
                      is_causal=False, scale=None, *, strategy=None):
    """The attention weights (*, L, S) that :func:`scaled_dot_product_attention` used (after
    dropout), recomputed from its ``logsumexp`` and ``keep``: what
    ``nn.MultiheadAttention(need_weights=True)`` returns."""
    op = "attention_weights"
    query, key, _, batch, bias, dropout_p, scale = _check_attention(
        op, query, key, key, attn_mask, dropout_p, is_causal, scale)
    L, S = query.shape[-2], key.shape[-2]
    logsumexp = _saved_statistics(op, logsumexp, batch, L, query.dtype)
    factors = _keep_factors(op, keep, dropout_p, (math.prod(batch), L, S), query.dtype)
    weights = resolve(strategy).attention.attention_forward_weights(
        _as_batch(query), _as_batch(key), bias, factors, scale, logsumexp)
    return weights.reshape(*batch, L, S)
