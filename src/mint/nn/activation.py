"""Activations: elementwise, or along one axis (softmax). Each is one :class:`Activation`: the
functional pair it calls, what its backward needs (the forward's input, or its output where the
gradient is cheaper from it) and its own hyper-parameters."""

import numbers

from mint import _checks as check
from mint import functional as F
from mint.functional.activation import GELU_APPROXIMATIONS, softplus_arguments
from mint.nn.module import Module, repr_arguments


class Activation(Module):
    """An ``out = function(x, **arguments)`` whose backward is
    ``backward_function(grad_out, kept, **arguments)``, with ``kept`` the forward's input
    (``keeps = "input"``) or output (``keeps = "output"``). Subclasses set the three class
    attributes and, if they have hyper-parameters, store them in ``self.arguments``."""

    independent_samples = True

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


class GELU(Activation):
    """``x * Phi(x)`` (``approximate="none"``, with erf) or its tanh approximation
    (``approximate="tanh"``), as ``torch.nn.GELU``."""

    function, backward_function = F.gelu, F.gelu_backward

    def __init__(self, approximate="none", *, strategy=None):
        super().__init__(strategy=strategy)
        self.arguments["approximate"] = check.choice("GELU", "approximate", approximate,
                                                     GELU_APPROXIMATIONS)

    @property
    def approximate(self):
        return self.arguments["approximate"]

    def extra_repr(self):
        approximate = "" if self.approximate == "none" else f"approximate={self.approximate!r}"
        return repr_arguments(approximate, strategy=self.strategy)


class SiLU(Activation):
    """``x * sigmoid(x)``, as ``torch.nn.SiLU``."""

    function, backward_function = F.silu, F.silu_backward


class Softmax(Activation):
    """``exp(x) / sum(exp(x))`` along axis ``dim``, as ``torch.nn.Softmax(dim)``. For a
    classifier's training loss use ``CrossEntropyLoss`` on the logits instead (fused, stable)."""

    function, backward_function, keeps = F.softmax, F.softmax_backward, "output"

    def __init__(self, dim, *, strategy=None):
        super().__init__(strategy=strategy)
        self.arguments["dim"] = _dim(type(self).__name__, dim)

    @property
    def dim(self):
        return self.arguments["dim"]

    @property
    def independent_samples(self):
        # Along a positive axis, or the last of an input with a batch axis before it.
        return self.dim >= 1 or self.dim == -1


class LogSoftmax(Softmax):
    """``x - log(sum(exp(x)))`` along axis ``dim``, as ``torch.nn.LogSoftmax(dim)``; with
    ``NLLLoss`` it makes ``CrossEntropyLoss``."""

    function, backward_function = F.log_softmax, F.log_softmax_backward


def _dim(op, dim):
    """An int axis, kept as given (negative counts from the end); its range is checked against
    each input."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(
            f"{op}: dim must be an int, the axis to normalise, got {dim!r} (PyTorch's implicit "
            "dim=None is deprecated there; Mint does not guess)"
        )
    return int(dim)
