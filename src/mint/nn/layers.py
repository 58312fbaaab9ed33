"""Layers with parameters or spatial hyper-parameters: Linear, Conv2d, ConvTranspose2d,
MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Identity, Flatten.

Each forward calls :mod:`mint.functional` and keeps what backward needs; each backward calls the
matching ``*_backward`` function and adds the parameter gradients into ``Parameter.grad``.
"""

import math

import numpy as np

from mint import _checks as check
from mint import functional as F
from mint.functional.convolution import check_algorithm
from mint.functional.pooling import adaptive_output_size, avg_pool2d_arguments
from mint.nn.module import Module, repr_arguments
from mint.nn.parameter import Parameter, add_parameter_grads
from mint.runtime import default_generator


def _uniform_parameter(shape, fan_in, dtype):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for weights and biases alike.

    For the weight this is ``kaiming_uniform_(a=sqrt(5))``, whose bound
    ``sqrt(2 / (1 + a**2)) * sqrt(3 / fan_in)`` simplifies to ``1 / sqrt(fan_in)``.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return Parameter(default_generator().uniform(-bound, bound, size=shape).astype(dtype))


class Linear(Module):
    """``y = x @ weight.T + bias``: x (*, in_features) -> (*, out_features), any leading
    shape (a batch, or a batch of sequences of tokens)."""

    independent_samples = True

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float32, strategy=None):
        self.in_features = check.integer("Linear", "in_features", in_features, 1)
        self.out_features = check.integer("Linear", "out_features", out_features, 1)
        has_bias = check.boolean("Linear", "bias", bias)
        dtype = check.float_dtype("Linear", dtype)
        self.strategy = check.strategy("Linear", strategy)
        fan_in = self.in_features
        self.weight = _uniform_parameter((self.out_features, self.in_features), fan_in, dtype)
        self.bias = _uniform_parameter((self.out_features,), fan_in, dtype) if has_bias else None

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        out = F.linear(x, self.weight.data, bias, strategy=self.strategy)
        self.save_for_backward(out.shape, x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        grad_x, grad_weight, grad_bias = F.linear_backward(
            grad_out, x, self.weight.data, strategy=self.strategy
        )
        add_parameter_grads(self, grad_weight, grad_bias)
        return grad_x

    def backward_parameters(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        add_parameter_grads(self, *F.linear_backward_parameters(
            grad_out, x, self.weight.data, strategy=self.strategy
        ))

    def extra_repr(self):
        return repr_arguments(f"in_features={self.in_features}",
                              f"out_features={self.out_features}",
                              f"bias={self.bias is not None}", strategy=self.strategy)


PADDING_MODES = ("zeros",)


class _Convolution(Module):
    """Forward and backward of a convolution layer: its functional ops (``_forward``,
    ``_backward``, ``_backward_parameters``) called with ``self.weight``, ``self.bias`` and
    ``self._arguments()``, its hyper-parameters in the ops' order."""

    independent_samples = True

    def _init_parameters(self, op, weight_shape, bias, padding_mode, dtype, strategy):
        """Check the last arguments; draw the weight and the bias (out_channels values) from
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with PyTorch's fan_in, the weight's second dimension
        times the kernel size, for both layers."""
        has_bias = check.boolean(op, "bias", bias)
        self.padding_mode = _padding_mode(op, padding_mode)
        dtype = check.float_dtype(op, dtype)
        self.strategy = check.strategy(op, strategy)
        fan_in = math.prod(weight_shape[1:])
        self.weight = _uniform_parameter(weight_shape, fan_in, dtype)
        self.bias = _uniform_parameter((self.out_channels,), fan_in, dtype) if has_bias else None

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        out = self._forward(x, self.weight.data, bias, *self._arguments(), strategy=self.strategy)
        self.save_for_backward(out.shape, x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        grad_x, grad_weight, grad_bias = self._backward(
            grad_out, x, self.weight.data, *self._arguments(), strategy=self.strategy,
            bias=self.bias is not None)
        add_parameter_grads(self, grad_weight, grad_bias)
        return grad_x

    def backward_parameters(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        add_parameter_grads(self, *self._backward_parameters(
            grad_out, x, self.weight.data, *self._arguments(), strategy=self.strategy,
            bias=self.bias is not None))

    def extra_repr(self):
        """PyTorch's repr: padding, dilation, output_padding, groups and bias only when they
        differ from the default (a padding string unquoted, as PyTorch prints it)."""
        output_padding = getattr(self, "output_padding", (0, 0))
        return repr_arguments(
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}",
            f"stride={self.stride}",
            f"padding={self.padding}" if self.padding != (0, 0) else "",
            f"dilation={self.dilation}" if self.dilation != (1, 1) else "",
            f"output_padding={output_padding}" if output_padding != (0, 0) else "",
            f"groups={self.groups}" if self.groups != 1 else "",
            "bias=False" if self.bias is None else "",
            f"algorithm={self.algorithm!r}" if getattr(self, "algorithm", "auto") != "auto" else "",
            strategy=self.strategy,
        )


class Conv2d(_Convolution):
    """2-D cross-correlation over NCHW input; weight (out_channels, in_channels / groups, KH,
    KW). ``padding`` is an int, a pair, "valid" or "same" (stride 1); ``groups`` splits the
    channels into independent convolutions (``groups == in_channels``: depthwise). Only
    ``padding_mode="zeros"`` is supported. ``algorithm`` ("auto", "direct" or "winograd") is
    passed to :func:`mint.functional.conv2d`; it is not part of the state_dict."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, dtype=np.float32, strategy=None,
                 algorithm="auto"):
        self.in_channels = check.integer("Conv2d", "in_channels", in_channels, 1)
        self.out_channels = check.integer("Conv2d", "out_channels", out_channels, 1)
        self.kernel_size = check.pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = check.pair("Conv2d", "stride", stride, 1)
        self.padding = check.conv_padding("Conv2d", padding, self.stride)
        self.dilation = check.pair("Conv2d", "dilation", dilation, 1)
        self.groups = _groups("Conv2d", groups, self.in_channels, self.out_channels)
        self._init_parameters(
            "Conv2d", (self.out_channels, self.in_channels // self.groups, *self.kernel_size),
            bias, padding_mode, dtype, strategy,
        )
        self.algorithm = check_algorithm("Conv2d", algorithm, self.kernel_size, self.stride,
                                         self.padding, self.dilation, self.groups)

    def _forward(self, *args, **options):
        return F.conv2d(*args, **options, algorithm=self.algorithm)

    def _backward(self, *args, **options):
        return F.conv2d_backward(*args, **options, algorithm=self.algorithm)

    def _backward_parameters(self, *args, **options):
        return F.conv2d_backward_parameters(*args, **options, algorithm=self.algorithm)

    def _arguments(self):
        return self.stride, self.padding, self.dilation, self.groups


class ConvTranspose2d(_Convolution):
    """2-D transposed convolution over NCHW input, the adjoint of :class:`Conv2d`; weight
    (in_channels, out_channels / groups, KH, KW), as PyTorch. Output size (T2):
    ``H_out = (H_in - 1) * SH - 2 * PH + DH * (KH - 1) + output_padding + 1``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros", *,
                 dtype=np.float32, strategy=None):
        op = "ConvTranspose2d"
        self.in_channels = check.integer(op, "in_channels", in_channels, 1)
        self.out_channels = check.integer(op, "out_channels", out_channels, 1)
        self.kernel_size = check.pair(op, "kernel_size", kernel_size, 1)
        self.stride, self.padding, self.dilation = check.spatial(op, stride, padding, dilation)
        self.output_padding = check.output_padding(op, output_padding, self.stride,
                                                   self.dilation)
        self.groups = _groups(op, groups, self.in_channels, self.out_channels)
        self._init_parameters(
            op, (self.in_channels, self.out_channels // self.groups, *self.kernel_size), bias,
            padding_mode, dtype, strategy,
        )

    _forward = staticmethod(F.conv_transpose2d)
    _backward = staticmethod(F.conv_transpose2d_backward)
    _backward_parameters = staticmethod(F.conv_transpose2d_backward_parameters)

    def _arguments(self):
        return self.stride, self.padding, self.output_padding, self.groups, self.dilation


def _groups(op, groups, in_channels, out_channels):
    groups = check.integer(op, "groups", groups, 1)
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(f"{op}: {name} must be divisible by groups, got {name}={channels}, "
                             f"groups={groups}")
    return groups


def _padding_mode(op, padding_mode):
    if padding_mode in ("reflect", "replicate", "circular"):
        raise ValueError(f"{op}: padding_mode={padding_mode!r} is not supported; Mint pads "
                         f"with zeros only (padding_mode='zeros')")
    return check.choice(op, "padding_mode", padding_mode, PADDING_MODES)


class MaxPool2d(Module):
    """Max over each window; in training keeps the argmax mask (not the input) for backward, in
    eval mode computes the maxima alone."""

    independent_samples = True

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                 strategy=None):
        self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode = (
            check.pooling("MaxPool2d", kernel_size, stride, padding, dilation, ceil_mode)
        )
        self.strategy = check.strategy("MaxPool2d", strategy)

    def forward(self, x):
        arguments = (x, self.kernel_size, self.stride, self.padding, self.dilation,
                     self.ceil_mode)
        if not self.training:
            return F.max_pool2d(*arguments, return_indices=False, strategy=self.strategy)
        out, argmax = F.max_pool2d(*arguments, strategy=self.strategy)
        self.save_for_backward(out.shape, argmax, x.shape)
        return out

    def backward(self, grad_out):
        argmax, input_shape = self.saved_for_backward(grad_out)
        return F.max_pool2d_backward(grad_out, argmax, input_shape, strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(f"kernel_size={self.kernel_size}", f"stride={self.stride}",
                              f"padding={self.padding}", f"dilation={self.dilation}",
                              f"ceil_mode={self.ceil_mode}", strategy=self.strategy)


class AvgPool2d(Module):
    """Mean over each window (padding counts as zeros); keeps only the input shape for backward.
    """

    independent_samples = True

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None, *, strategy=None):
        (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
         self.divisor_override) = avg_pool2d_arguments("AvgPool2d", kernel_size, stride, padding,
                                                       ceil_mode, count_include_pad,
                                                       divisor_override)
        self.strategy = check.strategy("AvgPool2d", strategy)

    def _arguments(self):
        return (self.kernel_size, self.stride, self.padding, self.ceil_mode,
                self.count_include_pad, self.divisor_override)

    def forward(self, x):
        out = F.avg_pool2d(x, *self._arguments(), strategy=self.strategy)
        self.save_for_backward(out.shape, x.shape)
        return out

    def backward(self, grad_out):
        (input_shape,) = self.saved_for_backward(grad_out)
        return F.avg_pool2d_backward(grad_out, input_shape, *self._arguments(),
                                     strategy=self.strategy)

    def extra_repr(self):
        # Like PyTorch, show ceil_mode, count_include_pad and divisor_override when not default.
        return repr_arguments(
            f"kernel_size={self.kernel_size}", f"stride={self.stride}", f"padding={self.padding}",
            "ceil_mode=True" if self.ceil_mode else "",
            "count_include_pad=False" if not self.count_include_pad else "",
            "" if self.divisor_override is None else f"divisor_override={self.divisor_override}",
            strategy=self.strategy,
        )


class AdaptiveAvgPool2d(Module):
    """Mean over ``output_size`` bins per plane (an int, or a pair whose ``None`` entries keep
    the input size); ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    independent_samples = True

    def __init__(self, output_size, *, strategy=None):
        self.output_size = adaptive_output_size("AdaptiveAvgPool2d", output_size)
        self.strategy = check.strategy("AdaptiveAvgPool2d", strategy)

    def forward(self, x):
        out = F.adaptive_avg_pool2d(x, self.output_size, strategy=self.strategy)
        self.save_for_backward(out.shape, x.shape)
        return out

    def backward(self, grad_out):
        (input_shape,) = self.saved_for_backward(grad_out)
        return F.adaptive_avg_pool2d_backward(grad_out, input_shape, self.output_size,
                                              strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(f"output_size={self.output_size}", strategy=self.strategy)


class Flatten(Module):
    """Merge the dimensions from ``start_dim`` on: (N, C, H, W) -> (N, C * H * W)."""

    def __init__(self, start_dim=1, *, strategy=None):
        self.start_dim = check.integer("Flatten", "start_dim", start_dim, 0)
        self.strategy = check.strategy("Flatten", strategy)

    @property
    def independent_samples(self):
        return self.start_dim >= 1  # start_dim 0 merges the batch axis too

    def forward(self, x):
        out = F.flatten(x, self.start_dim, strategy=self.strategy)
        self.save_for_backward(out.shape, x.shape)
        return out

    def backward(self, grad_out):
        (input_shape,) = self.saved_for_backward(grad_out)
        return F.flatten_backward(grad_out, input_shape, strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(f"start_dim={self.start_dim}", strategy=self.strategy)


class Identity(Module):
    """``out = x`` and ``grad_x = grad_out``: a placeholder where a layer is optional (a
    shortcut, a head to be replaced). As ``torch.nn.Identity``, any arguments are accepted and
    ignored, so it can stand in for the layer it replaces."""

    independent_samples = True

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, x):
        self.save_for_backward(np.shape(x))
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        return grad_out
