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


def normalized_shape_argument(op, normalized_shape):
    """``normalized_shape`` (an int or a sequence of ints >= 1) as a tuple, as PyTorch takes
    it (also used by ``nn.LayerNorm``)."""
    if isinstance(normalized_shape, tuple | list):
        if not normalized_shape:
            raise ValueError(f"{op}: normalized_shape must name at least one dimension, got "
                             f"{normalized_shape!r}")
        return tuple(check.integer(op, "normalized_shape", size, 1) for size in normalized_shape)
    return (check.integer(op, "normalized_shape", normalized_shape, 1),)


def _check_layer_norm(op, x, normalized_shape, weight, bias):
    normalized_shape = normalized_shape_argument(op, normalized_shape)
    x = check.float_array(op, "input", x)
    trailing = len(normalized_shape)
    if x.shape[x.ndim - trailing:] != normalized_shape or x.ndim < trailing:
        listed = ", ".join(map(str, normalized_shape))
        raise ValueError(f"{op}: expected input with shape (*, {listed}) (normalized_shape "
                         f"{normalized_shape}), got {x.shape}")
    checked = []
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            value = check.float_array(op, name, value)
            if value.shape != normalized_shape:
                raise ValueError(f"{op}: {name} must have shape {normalized_shape} "
                                 f"(normalized_shape), got {value.shape}")
        checked.append(value)
    check.same_dtype(op, input=x, weight=checked[0], bias=checked[1])
    rows = x.shape[:x.ndim - trailing]
    return x, normalized_shape, rows, *checked


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5, *, strategy=None):
    """Layer normalisation of x (*, *normalized_shape): returns ``(out, mean, invstd)``.

    Each sample's last ``len(normalized_shape)`` dimensions, D values, are normalised by their
    own mean and biased variance: ``out = (x - mean) * invstd * weight + bias`` with
    ``invstd = 1 / sqrt(var + eps)``, the same in training and eval. ``weight`` (default ones)
    and ``bias`` (default zeros) have shape ``normalized_shape``. ``mean`` and ``invstd`` have
    the leading shape ``*`` of x, for :func:`layer_norm_backward`. PyTorch's
    ``F.layer_norm`` returns ``out`` alone.
    """
    op = "layer_norm"
    x, normalized_shape, rows, weight, bias = _check_layer_norm(op, x, normalized_shape,
                                                                weight, bias)
    eps = check.real(op, "eps", eps, minimum=0)
    size = math.prod(normalized_shape)
    weight = np.ones(size, x.dtype) if weight is None else weight.reshape(size)
    bias = np.zeros(size, x.dtype) if bias is None else bias.reshape(size)
    out, mean, invstd = resolve(strategy).layer_norm.layer_norm_forward(
        x.reshape(-1, size), weight, bias, eps)
    return out.reshape(x.shape), mean.reshape(rows), invstd.reshape(rows)


def layer_norm_backward(grad_out, x, normalized_shape, mean, invstd, weight=None, *,
                        strategy=None):
    """Gradients of :func:`layer_norm`: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_out and x (*, *normalized_shape); mean and invstd (*) are those :func:`layer_norm`
    returned; weight (normalized_shape) or None (ones). The input gradient flows through each
    row's mean and variance. ``grad_weight`` and ``grad_bias`` (normalized_shape) are returned
    even without a weight or bias.
    """
    op = "layer_norm_backward"
    x, normalized_shape, rows, weight, _ = _check_layer_norm(op, x, normalized_shape, weight,
                                                             None)
    grad_out = check.float_array(op, "grad_out", grad_out)
    check.grad_out_shape(op, grad_out, x.shape)
    statistics = {}
    for name, value in {"mean": mean, "invstd": invstd}.items():
        # np.size, not the shape: NumPy makes a 0-d array 1-d in places (asfortranarray).
        if not isinstance(value, np.ndarray | np.generic) or np.size(value) != math.prod(rows):
            raise ValueError(f"{op}: {name} must be the array of shape {rows} layer_norm "
                             f"returned, got {getattr(value, 'shape', value)!r}")
        statistics[name] = check.float_array(op, name, np.asarray(value)).reshape(-1)
    check.same_dtype(op, grad_out=grad_out, input=x, weight=weight, **statistics)
    size = math.prod(normalized_shape)
    weight = np.ones(size, x.dtype) if weight is None else weight.reshape(size)
    kernels = resolve(strategy).layer_norm
    x2, grad_out2 = x.reshape(-1, size), grad_out.reshape(-1, size)
    grad_weight, grad_bias = kernels.layer_norm_backward_parameters(
        grad_out2, x2, statistics["mean"], statistics["invstd"])
    grad_x = kernels.layer_norm_backward_input(grad_out2, x2, statistics["mean"],
                                               statistics["invstd"], weight)
    return (grad_x.reshape(x.shape), grad_weight.reshape(normalized_shape),
            grad_bias.reshape(normalized_shape))
