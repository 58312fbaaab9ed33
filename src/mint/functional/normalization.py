"""Batch normalisation, forward and full backward, on inputs (N, C, *) of any number of trailing
dimensions: (N, C) and (N, C, L) for ``BatchNorm1d``, (N, C, H, W) for ``BatchNorm2d``.

The kernels see the input as (N, C, L), L the product of the trailing dimensions (a free
reshape of a C-contiguous array). The forward returns the statistics it normalised with, which
the backward takes, so a layer keeps them rather than computing them twice.
"""

import math

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def momentum_argument(op, momentum):
    """``momentum`` as a float in [0, 1], the weight of the new batch in the running averages
    (also used by ``nn.BatchNorm*``, where ``None`` means a cumulative average)."""
    momentum = check.real(op, "momentum", momentum, minimum=0)
    if momentum > 1:
        raise ValueError(f"{op}: momentum must be in [0, 1] (the weight of the new batch in "
                         f"the running averages), got {momentum}")
    return momentum


def _input(op, x):
    x = check.float_array(op, "input", x)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions (N, C, ...), got shape "
                         f"{x.shape}")
    return x


def _per_channel(op, name, value, x):
    """``value`` (None, or one number per channel of ``x``) made C-contiguous."""
    if value is None:
        return None
    value = check.float_array(op, name, value)
    if value.shape != (x.shape[1],):
        raise ValueError(f"{op}: {name} must have shape ({x.shape[1]},), one value per channel "
                         f"of the input {x.shape}, got {value.shape}")
    return value


def _values_per_channel(op, shape):
    """Batch statistics need two values per channel: the unbiased variance divides by M - 1
    (PyTorch's rule and, nearly, its message)."""
    if shape[0] * math.prod(shape[2:]) < 2:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                         f"input shape {shape}")


def _as_channels(x):
    """x (N, C, ...) as (N, C, L)."""
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, *, strategy=None):
    """Batch normalisation of x (N, C, *): returns ``(out, mean, invstd)``.

    ``out = (x - mean) * invstd * weight + bias`` per channel, with ``invstd = 1 / sqrt(var +
    eps)``. With ``training=True`` mean and var are the batch's over N and the trailing
    dimensions (the variance biased), and ``running_mean`` / ``running_var``, if given, are
    updated in place as PyTorch does: ``running = (1 - momentum) * running + momentum * batch``,
    with the *unbiased* batch variance. With ``training=False`` mean and var are the running
    ones, which must be given. ``weight`` (default ones) and ``bias`` (default zeros) are (C,).

    ``mean`` and ``invstd`` (C,) are the statistics used, for :func:`batch_norm_backward`.
    Training needs more than one value per channel (N * L >= 2), as in PyTorch.
    """
    op = "batch_norm"
    x = _input(op, x)
    stats = {"running_mean": running_mean, "running_var": running_var}
    checked = {name: _per_channel(op, name, value, x)
               for name, value in {**stats, "weight": weight, "bias": bias}.items()}
    check.same_dtype(op, input=x, **checked)
    training = check.boolean(op, "training", training)
    momentum = momentum_argument(op, momentum)
    eps = check.real(op, "eps", eps, minimum=0)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give running_mean and running_var together, or neither")
    if training:
        _values_per_channel(op, x.shape)
        for name, value in stats.items():
            if value is not None and not value.flags.writeable:
                raise ValueError(f"{op}: {name} must be writeable: training updates it in place")
    elif running_mean is None:
        raise ValueError(f"{op}: training=False normalises with running_mean and running_var, "
                         "which must be given")
    kernels = resolve(strategy).batch_norm
    channels = x.shape[1]
    weight = np.ones(channels, x.dtype) if weight is None else checked["weight"]
    bias = np.zeros(channels, x.dtype) if bias is None else checked["bias"]
    x3 = _as_channels(x)
    if training:
        mean, var = kernels.batch_norm_forward_statistics(x3)
        if running_mean is not None:
            count = x3.shape[0] * x3.shape[2]
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            running_var[...] = (1 - momentum) * running_var + momentum * var * (count / (count - 1))
    else:
        mean, var = checked["running_mean"].copy(), checked["running_var"]
    invstd = 1 / np.sqrt(var + x.dtype.type(eps))
    out = kernels.batch_norm_forward(x3, mean, invstd, weight, bias)
    return out.reshape(x.shape), mean, invstd


def batch_norm_backward(grad_out, x, mean, invstd, weight=None, training=True, *, strategy=None):
    """Gradients of :func:`batch_norm`: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_out and x (N, C, *); mean and invstd (C,) are those :func:`batch_norm` returned;
    weight (C,) or None (ones). With ``training=True`` the gradient flows through the batch
    mean and variance too; with ``training=False`` they were constants (running statistics).
    ``grad_weight`` and ``grad_bias`` are returned even without a weight or bias (the gradient
    of a weight of ones and a bias of zeros).
    """
    op = "batch_norm_backward"
    x = _input(op, x)
    grad_out = check.float_array(op, "grad_out", grad_out)
    check.grad_out_shape(op, grad_out, x.shape)
    for name, value in {"mean": mean, "invstd": invstd}.items():
        if value is None:
            raise TypeError(f"{op}: {name} must be the (C,) array batch_norm returned, got None")
    mean, invstd, weight = (_per_channel(op, name, value, x) for name, value in
                            {"mean": mean, "invstd": invstd, "weight": weight}.items())
    check.same_dtype(op, grad_out=grad_out, input=x, mean=mean, invstd=invstd, weight=weight)
    training = check.boolean(op, "training", training)
    if training:
        _values_per_channel(op, x.shape)
    kernels = resolve(strategy).batch_norm
    weight = np.ones(x.shape[1], x.dtype) if weight is None else weight
    x3, grad_out3 = _as_channels(x), _as_channels(grad_out)
    grad_weight, grad_bias = kernels.batch_norm_backward_parameters(grad_out3, x3, mean, invstd)
    # Running statistics are constants: their terms of (B4) vanish, as with zero sums.
    sums = (grad_weight, grad_bias) if training else (np.zeros_like(mean),) * 2
    grad_x = kernels.batch_norm_backward_input(grad_out3, x3, mean, invstd, weight, *sums)
    return grad_x.reshape(x.shape), grad_weight, grad_bias
