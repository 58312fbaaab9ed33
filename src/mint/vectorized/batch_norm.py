"""Batch normalisation with NumPy reductions over the batch and position axes.

Same functions, shapes and equations as :mod:`mint.kernels.batch_norm`: x, grad_out (N, C, L),
per-channel arrays (C,), M = N * L values per channel, sums in float64.
"""

import numpy as np

_BATCH_AND_POSITIONS = (0, 2)


def _per_channel(values):
    """(C,) -> (1, C, 1), to broadcast against (N, C, L)."""
    return values[None, :, None]


def batch_norm_forward_statistics(x):
    """(mean (C,), var (C,)) of x (N, C, L) over N and L, the variance biased (divided by M)."""
    mean = x.mean(axis=_BATCH_AND_POSITIONS, dtype=np.float64)
    var = np.square(x - _per_channel(mean)).mean(axis=_BATCH_AND_POSITIONS)
    return mean.astype(x.dtype), var.astype(x.dtype)


def batch_norm_forward(x, mean, invstd, weight, bias):
    """out (N, C, L) = (x - mean) * invstd * weight + bias, per channel."""
    return (x - _per_channel(mean)) * _per_channel(weight * invstd) + _per_channel(bias)


def batch_norm_backward_parameters(grad_out, x, mean, invstd):
    """(grad_weight (C,), grad_bias (C,)) = (sum of grad_out * xhat, sum of grad_out) over N
    and L, with xhat = (x - mean) * invstd."""
    weighted = (grad_out * (x - _per_channel(mean))).sum(axis=_BATCH_AND_POSITIONS,
                                                         dtype=np.float64)
    grad_bias = grad_out.sum(axis=_BATCH_AND_POSITIONS, dtype=np.float64)
    return (weighted * invstd).astype(x.dtype), grad_bias.astype(x.dtype)


def batch_norm_backward_input(grad_out, x, mean, invstd, weight, grad_weight, grad_bias):
    """grad_x (N, C, L) = weight * invstd * (grad_out - grad_bias / M - xhat * grad_weight / M)
    per channel, with xhat = (x - mean) * invstd; zero sums hold the statistics constant."""
    count = x.dtype.type(x.shape[0] * x.shape[2])
    xhat = (x - _per_channel(mean)) * _per_channel(invstd)
    centred = grad_out - _per_channel(grad_bias / count) - xhat * _per_channel(grad_weight / count)
    return _per_channel(weight * invstd) * centred
