"""Scaled dot-product attention and its gradients, as Numba loops.

Shapes: queries q (B, L, E), keys k (B, S, E), values v (B, S, E_v), out and grad_out
(B, L, E_v), B the batch of (sample, head) pairs, L queries and S keys per pair. ``bias``
(B, L, S) is added to the scores (-inf where a key is masked out) and ``keep`` (B, L, S)
multiplies the probabilities (dropout: 0 or 1 / (1 - p)); either may have 0 rows instead,
meaning none. ``logsumexp`` (B, L) is the log of each row's softmax denominator.
``docs/backprop.md`` (section "Scaled dot-product attention"), with a row i of one pair:

    scores              s[i, j] = scale * q[i] . k[j] + bias[i, j]                      (F1)
    probabilities       p[i, j] = exp(s[i, j] - logsumexp[i]),
                        logsumexp[i] = log sum_j exp(s[i, j])                           (F2)
    output              out[i] = sum_j p[i, j] * keep[i, j] * v[j]                       (F3)
    value gradient      grad_v[j] = sum_i p[i, j] * keep[i, j] * grad_out[i]             (F4)
    score gradient      dp[i, j] = keep[i, j] * grad_out[i] . v[j],
                        ds[i, j] = p[i, j] * (dp[i, j] - sum_j' p[i, j'] * dp[i, j'])   (F5)
    query, key grads    grad_q[i] = scale * sum_j ds[i, j] * k[j],
                        grad_k[j] = scale * sum_i ds[i, j] * q[i]                        (F6)

Neither direction keeps the (B, L, S) probabilities: each iteration computes one query row's
scores at a time in a buffer of S numbers, and the backward recomputes them from q, k and the
logsumexp (as FlashAttention does, Dao et al. 2022, arXiv:2205.14135). A row whose keys are all
masked has no probabilities: its output and gradients are 0.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, fastmath={"reassoc"})
def _scores(q, k, bias, scale, b, i, scores):
    """scores[j] = scale * q[b, i] . k[b, j] + bias[b, i, j]   (F1); returns their maximum."""
    S, E = k.shape[1], k.shape[2]
    largest = -np.inf
    for j in range(S):
        total = 0.0
        for e in range(E):
            total += q[b, i, e] * k[b, j, e]
        total *= scale
        if bias.shape[0] > 0:
            total += bias[b, i, j]
        scores[j] = total
        largest = max(largest, total)
    return largest


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def _attention_forward(q, k, v, bias, keep, scale, out, logsumexp):
    B, L = q.shape[0], q.shape[1]
    S, E_v = k.shape[1], v.shape[2]
    # Iteration b writes only out[b] and logsumexp[b]: its L rows, one after the other.
    for b in prange(B):
        scores = np.empty(S)  # float64, one query row at a time
        row = np.empty(E_v)
        for i in range(L):
            largest = _scores(q, k, bias, scale, b, i, scores)
            row[:] = 0.0
            if largest == -np.inf:  # every key masked: no probabilities
                logsumexp[b, i] = -np.inf
            else:
                total = 0.0
                for j in range(S):
                    scores[j] = np.exp(scores[j] - largest)
                    total += scores[j]
                for j in range(S):
                    weight = scores[j] / total
                    if keep.shape[0] > 0:
                        weight *= keep[b, i, j]
                    for e in range(E_v):
                        row[e] += weight * v[b, j, e]
                logsumexp[b, i] = largest + np.log(total)
            for e in range(E_v):
                out[b, i, e] = row[e]


def attention_forward(q, k, v, bias, keep, scale):
    """(out (B, L, E_v), logsumexp (B, L)) of softmax(scale * q k^T + bias) * keep . v
    (F1, F2, F3)."""
    B, L = q.shape[0], q.shape[1]
    out = np.empty((B, L, v.shape[2]), q.dtype)
    logsumexp = np.empty((B, L), q.dtype)
    _attention_forward(q, k, v, bias, keep, scale, out, logsumexp)
    return out, logsumexp


@njit(parallel=True, cache=True)
def _attention_forward_weights(q, k, bias, keep, scale, logsumexp, weights):
    B, L, S = weights.shape
    # Iteration b writes only weights[b].
    for b in prange(B):
        scores = np.empty(S)
        for i in range(L):
            _scores(q, k, bias, scale, b, i, scores)
            for j in range(S):
                p = 0.0 if logsumexp[b, i] == -np.inf else np.exp(scores[j] - logsumexp[b, i])
                if keep.shape[0] > 0:
                    p *= keep[b, i, j]
                weights[b, i, j] = p
    return weights


def attention_forward_weights(q, k, bias, keep, scale, logsumexp):
    """weights (B, L, S) = p * keep, the attention weights (F2) as the output used them, for a
    caller that asks for them (``nn.MultiheadAttention(need_weights=True)``)."""
    weights = np.empty((q.shape[0], q.shape[1], k.shape[1]), q.dtype)
    _attention_forward_weights(q, k, bias, keep, scale, logsumexp, weights)
    return weights


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def _attention_backward(grad_out, q, k, v, bias, keep, scale, logsumexp, grad_q, grad_k,
                        grad_v):
    B, L, E = q.shape
    S, E_v = k.shape[1], v.shape[2]
    # Iteration b writes only grad_q[b], grad_k[b] and grad_v[b]: the sums over the query rows
    # i of (F4) and (F6) run inside it, in buffers of its own, so no two threads add into one
    # key's gradient.
    for b in prange(B):
        scores = np.empty(S)
        dp = np.empty(S)
        query_sum = np.empty(E)  # float64 sum of (F6) for one query row
        key_sums = np.zeros((S, E))  # float64 sums of (F6) and (F4) over the rows i
        value_sums = np.zeros((S, E_v))
        for i in range(L):
            if logsumexp[b, i] == -np.inf:  # every key masked: no gradient through this row
                for e in range(E):
                    grad_q[b, i, e] = 0
                continue
            _scores(q, k, bias, scale, b, i, scores)
            mean_dp = 0.0
            for j in range(S):
                p = np.exp(scores[j] - logsumexp[b, i])
                kept = p if keep.shape[0] == 0 else p * keep[b, i, j]
                dot = 0.0
                for e in range(E_v):
                    dot += grad_out[b, i, e] * v[b, j, e]
                    value_sums[j, e] += kept * grad_out[b, i, e]
                dp[j] = dot if keep.shape[0] == 0 else dot * keep[b, i, j]
                scores[j] = p  # the scores are no longer needed: keep p in their place
                mean_dp += p * dp[j]
            # Every inner loop below runs along a contiguous row (of k, q and the sums).
            query_sum[:] = 0.0
            for j in range(S):
                ds = scale * scores[j] * (dp[j] - mean_dp)
                for e in range(E):
                    query_sum[e] += ds * k[b, j, e]
                    key_sums[j, e] += ds * q[b, i, e]
            for e in range(E):
                grad_q[b, i, e] = query_sum[e]
        for j in range(S):
            for e in range(E):
                grad_k[b, j, e] = key_sums[j, e]
            for e in range(E_v):
                grad_v[b, j, e] = value_sums[j, e]


def attention_backward(grad_out, q, k, v, bias, keep, scale, logsumexp):
    """(grad_q (B, L, E), grad_k (B, S, E), grad_v (B, S, E_v)) of :func:`attention_forward`
    (F4, F5, F6), with the probabilities recomputed from q, k and logsumexp. One function for
    the three: each needs the same recomputed probabilities and score gradients."""
    grad_q, grad_k, grad_v = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    _attention_backward(grad_out, q, k, v, bias, keep, scale, logsumexp, grad_q, grad_k,
                        grad_v)
    return grad_q, grad_k, grad_v
