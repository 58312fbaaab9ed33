"""Elementwise activations. Each is one :class:`Activation`: the functional pair it calls, what
its backward needs (the forward's input, or its output where the gradient is cheaper from it)
and its own hyper-parameters."""

from mint import _checks as check
from mint import functional as F
from mint.functional.activation import softplus_arguments
from mint.nn.module import Module, repr_arguments


class Activation(Module):
    """An elementwise ``out = function(x, **arguments)`` whose backward is
    ``backward_function(grad_out, kept, **arguments)``, with ``kept`` the forward's input
    (``keeps = "input"``) or output (``keeps = "output"``). Subclasses set the three class
    attributes and, if they have hyper-parameters, store them in ``self.arguments``."""

    function = None
    backward_function = None
    keeps = "input"

    def __init__(self, *, strategy=None):
        self.arguments = {}
        self.strategy = check.strategy(type(self).__name__, strategy)

    def forward(self, x):
        out = type(self).function(x, **self.arguments, strategy=self.strategy)
        self.save_for_backward(out.shape, x if self.keeps == "input" else out)
        return out

    def backward(self, grad_out):
        (kept,) = self.saved_for_backward(grad_out)
        return type(self).backward_function(grad_out, kept, **self.arguments,
                                            strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(*(f"{name}={value}" for name, value in self.arguments.items()),
                              strategy=self.strategy)


class ReLU(Activation):
    function, backward_function = F.relu, F.relu_backward


class LeakyReLU(Activation):
    function, backward_function = F.leaky_relu, F.leaky_relu_backward

    def __init__(self, negative_slope=0.01, *, strategy=None):
        super().__init__(strategy=strategy)
        self.arguments["negative_slope"] = check.real("LeakyReLU", "negative_slope",
                                                      negative_slope)

    @property
    def negative_slope(self):
        return self.arguments["negative_slope"]


class Sigmoid(Activation):
    function, backward_function, keeps = F.sigmoid, F.sigmoid_backward, "output"


class Tanh(Activation):
    function, backward_function, keeps = F.tanh, F.tanh_backward, "output"


class Softplus(Activation):
    """``log(1 + exp(beta * x)) / beta``, linear (``x``) where ``beta * x > threshold``."""

    function, backward_function = F.softplus, F.softplus_backward

    def __init__(self, beta=1.0, threshold=20.0, *, strategy=None):
        super().__init__(strategy=strategy)
        self.arguments = softplus_arguments("Softplus", beta, threshold)
