"""Batch normalisation: per-channel statistics, the normalisation and its gradients, as Numba
loops.

Shapes (see :mod:`mint.kernels`): x, out, grad_out and grad_x (N, C, L), the input of
``BatchNorm1d`` ((N, C) as L = 1) or ``BatchNorm2d`` (L = H * W) viewed with its positions in
one axis; every per-channel array (mean, var, invstd, weight, bias and their gradients) is
(C,). Each channel has M = N * L values. ``docs/backprop.md`` (section "Batch normalisation"):

    statistics          mean[c] = sum_{n,i} x[n, c, i] / M                              (B1)
                        var[c]  = sum_{n,i} (x[n, c, i] - mean[c])^2 / M   (biased)
    forward             xhat = (x - mean[c]) * invstd[c],  out = weight[c] * xhat + bias[c] (B2)
    parameter gradients grad_weight[c] = sum_{n,i} grad_out * xhat,
                        grad_bias[c]   = sum_{n,i} grad_out                             (B3)
    input gradient      grad_x = weight[c] * invstd[c]
                                 * (grad_out - grad_bias[c] / M - xhat * grad_weight[c] / M) (B4)

with invstd = 1 / sqrt(var + eps) computed by the caller. Sums run in float64 whatever the
dtype, and the variance subtracts the mean before squaring (two passes), so a channel whose
mean is large against its spread keeps its precision. The sums may be reordered (``reassoc``):
LLVM then vectorises them with several partial sums, instead of waiting on one float64 add at a
time (the statistics of 8 x 64 x 112 x 112 maps 15.9 -> 2.6 ms; the float64 sums keep ~1e-16).

Each public function allocates its outputs with NumPy and passes them to a parallel kernel of
the same name with a leading underscore, which fills them (see :mod:`mint.kernels.activation`).
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def _batch_norm_forward_statistics(x, mean, var):
    N, C, L = x.shape
    count = N * L
    # Iteration c writes only mean[c] and var[c].
    for c in prange(C):
        total = 0.0
        for n in range(N):
            for i in range(L):
                total += x[n, c, i]
        channel_mean = total / count
        squares = 0.0
        for n in range(N):
            for i in range(L):
                deviation = x[n, c, i] - channel_mean
                squares += deviation * deviation
        mean[c] = channel_mean
        var[c] = squares / count


def batch_norm_forward_statistics(x):
    """(mean (C,), var (C,)) of x (N, C, L) over N and L, the variance biased (divided by M)
    (B1). M = N * L must be at least 1."""
    C = x.shape[1]
    mean, var = np.empty(C, x.dtype), np.empty(C, x.dtype)
    _batch_norm_forward_statistics(x, mean, var)
    return mean, var


@njit(parallel=True, cache=True)
def _batch_norm_forward(x, mean, invstd, weight, bias, out):
    N, C, L = x.shape
    # Iteration (n, c) writes only out[n, c].
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        # per-channel values in locals: read inside the loop, LLVM would load them again at
        # every element (out might overlap them)
        scale, shift, centre = weight[c] * invstd[c], bias[c], mean[c]
        for i in range(L):
            # (x - mean) * scale, not x * scale - mean * scale: no cancellation when the mean
            # is large against the spread.
            out[n, c, i] = (x[n, c, i] - centre) * scale + shift


def batch_norm_forward(x, mean, invstd, weight, bias):
    """out (N, C, L) = (x - mean) * invstd * weight + bias, per channel (B2); mean and invstd
    are the batch's (training) or the running statistics' (eval)."""
    out = np.empty_like(x)
    _batch_norm_forward(x, mean, invstd, weight, bias, out)
    return out


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def _batch_norm_backward_parameters(grad_out, x, mean, invstd, grad_weight, grad_bias):
    N, C, L = x.shape
    # Iteration c writes only grad_weight[c] and grad_bias[c].
    for c in prange(C):
        total = 0.0
        weighted = 0.0
        channel_mean = mean[c]
        for n in range(N):
            for i in range(L):
                total += grad_out[n, c, i]
                weighted += grad_out[n, c, i] * (x[n, c, i] - channel_mean)
        grad_bias[c] = total
        grad_weight[c] = weighted * invstd[c]


def batch_norm_backward_parameters(grad_out, x, mean, invstd):
    """(grad_weight (C,), grad_bias (C,)) = (sum of grad_out * xhat, sum of grad_out) over N
    and L, with xhat = (x - mean) * invstd (B3)."""
    C = x.shape[1]
    grad_weight, grad_bias = np.empty(C, x.dtype), np.empty(C, x.dtype)
    _batch_norm_backward_parameters(grad_out, x, mean, invstd, grad_weight, grad_bias)
    return grad_weight, grad_bias


@njit(parallel=True, cache=True)
def _batch_norm_backward_input(grad_out, x, mean, invstd, weight, grad_weight, grad_bias,
                               grad_x):
    N, C, L = x.shape
    count = x.dtype.type(N * L)
    # Iteration (n, c) writes only grad_x[n, c].
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        scale, centre, spread = weight[c] * invstd[c], mean[c], invstd[c]  # locals, as above
        mean_grad = grad_bias[c] / count
        mean_grad_xhat = grad_weight[c] / count
        for i in range(L):
            xhat = (x[n, c, i] - centre) * spread
            grad_x[n, c, i] = scale * (grad_out[n, c, i] - mean_grad - xhat * mean_grad_xhat)


def batch_norm_backward_input(grad_out, x, mean, invstd, weight, grad_weight, grad_bias):
    """grad_x (N, C, L) = weight * invstd * (grad_out - grad_bias / M - xhat * grad_weight / M)
    per channel (B4), with xhat = (x - mean) * invstd and grad_weight, grad_bias the sums of
    (B3). Zero sums give the gradient with the statistics held constant (eval mode)."""
    grad_x = np.empty_like(grad_out)
    _batch_norm_backward_input(grad_out, x, mean, invstd, weight, grad_weight, grad_bias, grad_x)
    return grad_x
