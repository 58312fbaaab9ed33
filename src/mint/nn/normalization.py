"""Batch and layer normalisation layers, with PyTorch's arguments, defaults, initialisation
(weight ones, bias zeros) and state: parameters ``weight``, ``bias`` and, for batch
normalisation, buffers ``running_mean``, ``running_var``, ``num_batches_tracked``, so a PyTorch
state dict loads as it is."""

import numpy as np

from mint import _checks as check
from mint import functional as F
from mint.functional.normalization import momentum_argument, normalized_shape_argument
from mint.nn.module import Module, repr_arguments
from mint.nn.parameter import Buffer, Parameter, add_parameter_grads


class _BatchNorm(Module):
    """Normalise each channel over the batch (and positions): batch statistics in train mode,
    which also update the running ones; running statistics in eval mode.

    ``momentum`` weighs the new batch in the running averages; ``None`` makes them cumulative
    (the batch ``t`` weighs ``1 / t``). Without ``track_running_stats`` there are no buffers and
    batch statistics are used in both modes; without ``affine`` there is no weight or bias
    (``bias=False`` keeps the weight only, as in PyTorch). Subclasses set the accepted input
    dimensions.
    """

    independent_samples = True  # in eval mode: the running statistics

    dimensions = {}  # ndim -> the input layout it means, for error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, bias=True, dtype=np.float32, strategy=None):
        name = type(self).__name__
        self.num_features = check.integer(name, "num_features", num_features, 1)
        self.eps = check.real(name, "eps", eps, minimum=0)
        self.momentum = None if momentum is None else momentum_argument(name, momentum)
        self.affine = check.boolean(name, "affine", affine)
        self.track_running_stats = check.boolean(name, "track_running_stats",
                                                 track_running_stats)
        has_bias = check.boolean(name, "bias", bias)
        dtype = check.float_dtype(name, dtype)
        self.strategy = check.strategy(name, strategy)
        channels = self.num_features
        self.weight = Parameter(np.ones(channels, dtype)) if self.affine else None
        self.bias = Parameter(np.zeros(channels, dtype)) if self.affine and has_bias else None
        tracked = self.track_running_stats
        self.running_mean = Buffer(np.zeros(channels, dtype)) if tracked else None
        self.running_var = Buffer(np.ones(channels, dtype)) if tracked else None
        self.num_batches_tracked = Buffer(np.array(0, np.int64)) if tracked else None

    def _check_input(self, x):
        name = type(self).__name__
        x = check.float_array(name, "input", x)
        if x.ndim not in self.dimensions:
            raise ValueError(f"{name}: input must be {' or '.join(self.dimensions.values())}, "
                             f"got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input with {self.num_features} channels "
                             f"(num_features), got shape {x.shape}")
        return x

    def _momentum(self):
        """The weight of this batch in the running averages."""
        if self.momentum is not None:
            return self.momentum
        if self.num_batches_tracked is None:
            return 0.0  # no running averages
        return 1 / (int(self.num_batches_tracked.data) + 1)  # cumulative, this batch included

    def forward(self, x):
        x = self._check_input(x)
        running = [None if b is None else b.data for b in (self.running_mean, self.running_var)]
        affine = [None if p is None else p.data for p in (self.weight, self.bias)]
        batch_statistics = self.training or self.running_mean is None
        out, mean, invstd = F.batch_norm(x, *running, *affine, batch_statistics,
                                         self._momentum(), self.eps, strategy=self.strategy)
        # Counted once the batch is in: a refused input leaves every buffer as it was.
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.data += 1
        self.save_for_backward(out.shape, x, mean, invstd)
        return out

    def backward(self, grad_out):
        x, mean, invstd = self.saved_for_backward(grad_out)
        weight = None if self.weight is None else self.weight.data
        grad_x, grad_weight, grad_bias = F.batch_norm_backward(
            grad_out, x, mean, invstd, weight, training=True, strategy=self.strategy)
        add_parameter_grads(self, grad_weight, grad_bias)
        return grad_x

    def extra_repr(self):
        return repr_arguments(
            f"{self.num_features}", f"eps={self.eps}", f"momentum={self.momentum}",
            f"affine={self.affine}", f"bias={self.bias is not None}",
            f"track_running_stats={self.track_running_stats}", strategy=self.strategy)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C."""

    dimensions = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images, per channel C over N, H and W."""

    dimensions = {4: "(N, C, H, W)"}


class LayerNorm(Module):
    """Normalise each sample over its last dimensions, ``normalized_shape``: (*,
    *normalized_shape) -> the same shape, with each sample's own mean and variance in train and
    eval mode alike (``docs/backprop.md``, section "Layer normalisation").

    PyTorch's arguments and state: ``weight`` (ones) and ``bias`` (zeros) of shape
    ``normalized_shape`` when ``elementwise_affine``; ``bias=False`` keeps the weight only.
    """

    independent_samples = True

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *,
                 dtype=np.float32, strategy=None):
        name = "LayerNorm"
        self.normalized_shape = normalized_shape_argument(name, normalized_shape)
        self.eps = check.real(name, "eps", eps, minimum=0)
        self.elementwise_affine = check.boolean(name, "elementwise_affine", elementwise_affine)
        has_bias = check.boolean(name, "bias", bias)
        dtype = check.float_dtype(name, dtype)
        self.strategy = check.strategy(name, strategy)
        shape = self.normalized_shape
        self.weight = Parameter(np.ones(shape, dtype)) if self.elementwise_affine else None
        self.bias = (Parameter(np.zeros(shape, dtype)) if self.elementwise_affine and has_bias
                     else None)

    def forward(self, x):
        affine = [None if p is None else p.data for p in (self.weight, self.bias)]
        out, mean, invstd = F.layer_norm(x, self.normalized_shape, *affine, self.eps,
                                         strategy=self.strategy)
        self.save_for_backward(out.shape, x, mean, invstd)
        return out

    def backward(self, grad_out):
        x, mean, invstd = self.saved_for_backward(grad_out)
        weight = None if self.weight is None else self.weight.data
        grad_x, grad_weight, grad_bias = F.layer_norm_backward(
            grad_out, x, self.normalized_shape, mean, invstd, weight, strategy=self.strategy)
        add_parameter_grads(self, grad_weight, grad_bias)
        return grad_x

    def extra_repr(self):
        return repr_arguments(f"{self.normalized_shape}", f"eps={self.eps}",
                              f"elementwise_affine={self.elementwise_affine}",
                              f"bias={self.bias is not None}", strategy=self.strategy)
