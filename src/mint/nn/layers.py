"""Layers with parameters or spatial hyper-parameters: Linear, Conv2d, MaxPool2d, AvgPool2d,
AdaptiveAvgPool2d, Flatten.

Each forward calls :mod:`mint.functional` and keeps what backward needs; each backward calls the
matching ``*_backward`` function and adds the parameter gradients into ``Parameter.grad``.
"""

import math

import numpy as np

from mint import _checks as check
from mint import functional as F
from mint.functional.pooling import adaptive_output_size, avg_pool2d_arguments
from mint.nn.module import Module, repr_arguments
from mint.nn.parameter import Parameter
from mint.runtime import default_generator


def _uniform_parameter(shape, fan_in, dtype):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for weights and biases alike.

    For the weight this is ``kaiming_uniform_(a=sqrt(5))``, whose bound
    ``sqrt(2 / (1 + a**2)) * sqrt(3 / fan_in)`` simplifies to ``1 / sqrt(fan_in)``.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return Parameter(default_generator().uniform(-bound, bound, size=shape).astype(dtype))


def _add_parameter_grads(layer, grad_weight, grad_bias):
    """Accumulate, as PyTorch does: gradients of several backward passes add up."""
    layer.weight.grad += grad_weight
    if layer.bias is not None:
        layer.bias.grad += grad_bias


class Linear(Module):
    """``y = x @ weight.T + bias``: x (N, in_features) -> (N, out_features)."""

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
        _add_parameter_grads(self, grad_weight, grad_bias)
        return grad_x

    def backward_parameters(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        _add_parameter_grads(self, *F.linear_backward_parameters(
            grad_out, x, self.weight.data, strategy=self.strategy
        ))

    def extra_repr(self):
        return repr_arguments(f"in_features={self.in_features}",
                              f"out_features={self.out_features}",
                              f"bias={self.bias is not None}", strategy=self.strategy)


class Conv2d(Module):
    """2-D cross-correlation over NCHW input; weight (out_channels, in_channels, KH, KW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, *, dtype=np.float32, strategy=None):
        self.in_channels = check.integer("Conv2d", "in_channels", in_channels, 1)
        self.out_channels = check.integer("Conv2d", "out_channels", out_channels, 1)
        self.kernel_size = check.pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = check.pair("Conv2d", "stride", stride, 1)
        self.padding = check.pair("Conv2d", "padding", padding, 0)
        self.dilation = check.pair("Conv2d", "dilation", dilation, 1)
        has_bias = check.boolean("Conv2d", "bias", bias)
        dtype = check.float_dtype("Conv2d", dtype)
        self.strategy = check.strategy("Conv2d", strategy)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.weight = _uniform_parameter(
            (self.out_channels, self.in_channels, *self.kernel_size), fan_in, dtype
        )
        self.bias = _uniform_parameter((self.out_channels,), fan_in, dtype) if has_bias else None

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        out = F.conv2d(x, self.weight.data, bias, self.stride, self.padding, self.dilation,
                       strategy=self.strategy)
        self.save_for_backward(out.shape, x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        grad_x, grad_weight, grad_bias = F.conv2d_backward(
            grad_out, x, self.weight.data, self.stride, self.padding, self.dilation,
            strategy=self.strategy,
        )
        _add_parameter_grads(self, grad_weight, grad_bias)
        return grad_x

    def backward_parameters(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        _add_parameter_grads(self, *F.conv2d_backward_parameters(
            grad_out, x, self.weight.data, self.stride, self.padding, self.dilation,
            strategy=self.strategy,
        ))

    def extra_repr(self):
        # Like PyTorch, show padding, dilation and bias only when they differ from the default.
        return repr_arguments(
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}",
            f"stride={self.stride}",
            f"padding={self.padding}" if self.padding != (0, 0) else "",
            f"dilation={self.dilation}" if self.dilation != (1, 1) else "",
            "bias=False" if self.bias is None else "",
            strategy=self.strategy,
        )


class MaxPool2d(Module):
    """Max over each window; keeps the argmax mask (not the input) for backward."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                 strategy=None):
        self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode = (
            check.pooling("MaxPool2d", kernel_size, stride, padding, dilation, ceil_mode)
        )
        self.strategy = check.strategy("MaxPool2d", strategy)

    def forward(self, x):
        out, argmax = F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                   self.ceil_mode, strategy=self.strategy)
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

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, x):
        self.save_for_backward(np.shape(x))
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        return grad_out
