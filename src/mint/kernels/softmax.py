"""Softmax and log-softmax along one axis, and their gradients, as Numba loops.

``mint.functional`` views the input as ``(A, L, B)``: ``L`` the length of the softmax axis,
``A`` the product of the sizes before it and ``B`` of those after (a C-contiguous array of any
shape reshapes so without a copy). Every row ``x[a, :, b]`` is normalised on its own. With
``m = max_k x[a, k, b]`` (every exponent is then <= 0, and the sum >= 1), for each ``i``::

    softmax          out[i] = exp(x[i] - m) / sum_k exp(x[k] - m)                 (S1)
    log_softmax      out[i] = x[i] - m - log(sum_k exp(x[k] - m))                 (S2)
    softmax grad     grad_x[i] = out[i] * (grad_out[i] - sum_k grad_out[k] out[k])   (S3)
    log_softmax grad grad_x[i] = grad_out[i] - exp(out[i]) * sum_k grad_out[k]       (S4)

Both backward kernels take the forward's output. The loops run over the softmax axis outside
``b``, so that the inner loop walks contiguous memory with one maximum and sum per ``b``.
Rows are parallel over ``a`` only: softmax over the first axis (``A = 1``) runs serially.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _row_max(x, a):
    """(B,) maxima of x[a, i, b] over i."""
    _, L, B = x.shape
    shift = np.full(B, -np.inf, x.dtype)
    for i in range(L):
        for b in range(B):
            shift[b] = max(shift[b], x[a, i, b])
    return shift


@njit(parallel=True, cache=True)
def _softmax_forward(x, out):
    A, L, B = x.shape
    # Iteration a writes only out[a], with scratch rows of its own.
    for a in prange(A):
        shift, total = _row_max(x, a), np.zeros(B, x.dtype)
        for i in range(L):
            for b in range(B):
                out[a, i, b] = np.exp(x[a, i, b] - shift[b])
                total[b] += out[a, i, b]
        for i in range(L):
            for b in range(B):
                out[a, i, b] /= total[b]


def softmax_forward(x):
    """out (A, L, B) = softmax of x (A, L, B) along L (S1)."""
    out = np.empty_like(x)
    _softmax_forward(x, out)
    return out


@njit(parallel=True, cache=True)
def _log_softmax_forward(x, out):
    A, L, B = x.shape
    # Iteration a writes only out[a], with scratch rows of its own.
    for a in prange(A):
        shift, total = _row_max(x, a), np.zeros(B, x.dtype)
        for i in range(L):
            for b in range(B):
                total[b] += np.exp(x[a, i, b] - shift[b])
        for b in range(B):
            total[b] = np.log(total[b])
        for i in range(L):
            for b in range(B):
                # Subtracting the maximum first keeps log-probabilities near 0 exact; adding
                # log(total) to a maximum of 1e4 would round it away in float32.
                out[a, i, b] = (x[a, i, b] - shift[b]) - total[b]


def log_softmax_forward(x):
    """out (A, L, B) = log-softmax of x (A, L, B) along L (S2)."""
    out = np.empty_like(x)
    _log_softmax_forward(x, out)
    return out


@njit(parallel=True, cache=True)
def _softmax_backward(grad_out, out, grad_x):
    A, L, B = out.shape
    # Iteration a writes only grad_x[a], with a scratch row of its own.
    for a in prange(A):
        dot = np.zeros(B, out.dtype)
        for i in range(L):
            for b in range(B):
                dot[b] += grad_out[a, i, b] * out[a, i, b]
        for i in range(L):
            for b in range(B):
                grad_x[a, i, b] = out[a, i, b] * (grad_out[a, i, b] - dot[b])


def softmax_backward(grad_out, out):
    """grad_x (A, L, B) = out * (grad_out - sum_L grad_out * out) (S3); out is the forward's
    output."""
    grad_x = np.empty_like(grad_out)
    _softmax_backward(grad_out, out, grad_x)
    return grad_x


@njit(parallel=True, cache=True)
def _log_softmax_backward(grad_out, out, grad_x):
    A, L, B = out.shape
    # Iteration a writes only grad_x[a], with a scratch row of its own.
    for a in prange(A):
        total = np.zeros(B, out.dtype)
        for i in range(L):
            for b in range(B):
                total[b] += grad_out[a, i, b]
        for i in range(L):
            for b in range(B):
                grad_x[a, i, b] = grad_out[a, i, b] - np.exp(out[a, i, b]) * total[b]


def log_softmax_backward(grad_out, out):
    """grad_x (A, L, B) = grad_out - exp(out) * sum_L grad_out (S4); out is the forward's
    output (the log-probabilities)."""
    grad_x = np.empty_like(grad_out)
    _log_softmax_backward(grad_out, out, grad_x)
    return grad_x
