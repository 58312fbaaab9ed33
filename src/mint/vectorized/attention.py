"""Scaled dot-product attention with NumPy: the (B, L, S) scores and probabilities as arrays,
products through ``@``.

Same functions, shapes and equations as :mod:`mint.kernels.attention`: q (B, L, E), k (B, S, E),
v (B, S, E_v), bias and keep (B, L, S) or with 0 rows for none, logsumexp (B, L).
"""

import numpy as np


def _probabilities(q, k, bias, scale, logsumexp=None):
    """(p (B, L, S), logsumexp (B, L)) in float64; rows whose keys are all masked are 0."""
    scores = (q @ np.swapaxes(k, 1, 2)).astype(np.float64) * scale
    if bias.shape[0] > 0:
        scores = scores + bias
    if logsumexp is None:
        largest = scores.max(axis=2, keepdims=True)
        safe = np.where(np.isneginf(largest), 0.0, largest)
        with np.errstate(divide="ignore"):
            logsumexp = (safe + np.log(np.exp(scores - safe).sum(axis=2, keepdims=True)))[..., 0]
    masked = np.isneginf(logsumexp)[..., None]
    p = np.where(masked, 0.0, np.exp(scores - np.where(masked, 0.0, logsumexp[..., None])))
    return p, logsumexp


def _kept(p, keep):
    return p * keep if keep.shape[0] > 0 else p


def attention_forward(q, k, v, bias, keep, scale):
    """(out (B, L, E_v), logsumexp (B, L)) of softmax(scale * q k^T + bias) * keep . v."""
    p, logsumexp = _probabilities(q, k, bias, scale)
    return (_kept(p, keep) @ v).astype(q.dtype), logsumexp.astype(q.dtype)


def attention_forward_weights(q, k, bias, keep, scale, logsumexp):
    """weights (B, L, S) = p * keep, the attention weights as the output used them."""
    p, _ = _probabilities(q, k, bias, scale, logsumexp.astype(np.float64))
    return _kept(p, keep).astype(q.dtype)


def attention_backward(grad_out, q, k, v, bias, keep, scale, logsumexp):
    """(grad_q (B, L, E), grad_k (B, S, E), grad_v (B, S, E_v)) of attention_forward."""
    p, _ = _probabilities(q, k, bias, scale, logsumexp.astype(np.float64))
    grad_v = np.swapaxes(_kept(p, keep), 1, 2) @ grad_out
    dp = _kept(grad_out @ np.swapaxes(v, 1, 2), keep)
    ds = p * (dp - (p * dp).sum(axis=2, keepdims=True)) * scale
    return ((ds @ k).astype(q.dtype), (np.swapaxes(ds, 1, 2) @ q).astype(q.dtype),
            grad_v.astype(q.dtype))
