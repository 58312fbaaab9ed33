"""Elementwise activations: ReLU and LeakyReLU keep their input, Sigmoid and Tanh their output."""

from mint import _checks as check
from mint import functional as F
from mint.nn.module import Module, repr_arguments


class ReLU(Module):
    def __init__(self, *, strategy=None):
        self.strategy = check.strategy("ReLU", strategy)

    def forward(self, x):
        out = F.relu(x, strategy=self.strategy)
        self.save_for_backward(out.shape, x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        return F.relu_backward(grad_out, x, strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(strategy=self.strategy)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, *, strategy=None):
        self.negative_slope = check.real("LeakyReLU", "negative_slope", negative_slope)
        self.strategy = check.strategy("LeakyReLU", strategy)

    def forward(self, x):
        out = F.leaky_relu(x, self.negative_slope, strategy=self.strategy)
        self.save_for_backward(out.shape, x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_for_backward(grad_out)
        return F.leaky_relu_backward(grad_out, x, self.negative_slope, strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(f"negative_slope={self.negative_slope}", strategy=self.strategy)


class Sigmoid(Module):
    def __init__(self, *, strategy=None):
        self.strategy = check.strategy("Sigmoid", strategy)

    def forward(self, x):
        out = F.sigmoid(x, strategy=self.strategy)
        self.save_for_backward(out.shape, out)
        return out

    def backward(self, grad_out):
        (out,) = self.saved_for_backward(grad_out)
        return F.sigmoid_backward(grad_out, out, strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(strategy=self.strategy)


class Tanh(Module):
    def __init__(self, *, strategy=None):
        self.strategy = check.strategy("Tanh", strategy)

    def forward(self, x):
        out = F.tanh(x, strategy=self.strategy)
        self.save_for_backward(out.shape, out)
        return out

    def backward(self, grad_out):
        (out,) = self.saved_for_backward(grad_out)
        return F.tanh_backward(grad_out, out, strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(strategy=self.strategy)
