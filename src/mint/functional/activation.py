"""Elementwise activations and their gradients, on arrays of any shape."""

from mint import _checks as check
from mint.strategy import resolve


def _elementwise(op, kernel_name, strategy, *arrays, **scalars):
    """Run an elementwise kernel on the flattened arrays and give the result their shape."""
    names = ("grad_out", "input") if len(arrays) == 2 else ("input",)
    checked = [check.float_array(op, n, a) for n, a in zip(names, arrays, strict=True)]
    if len(checked) == 2 and checked[0].shape != checked[1].shape:
        raise ValueError(
            f"{op}: grad_out shape {checked[0].shape} must equal the input shape "
            f"{checked[1].shape}"
        )
    check.same_dtype(op, **dict(zip(names, checked, strict=True)))
    kernel = getattr(resolve(strategy).activation, kernel_name)
    flat = kernel(*(a.reshape(-1) for a in checked), *scalars.values())
    return flat.reshape(checked[0].shape)


def relu(x, *, strategy=None):
    """``max(x, 0)`` elementwise, any shape."""
    return _elementwise("relu", "relu_forward", strategy, x)


def relu_backward(grad_out, x, *, strategy=None):
    """``grad_out * (x > 0)``; x is the forward's input."""
    return _elementwise("relu_backward", "relu_backward", strategy, grad_out, x)


def leaky_relu(x, negative_slope=0.01, *, strategy=None):
    """``x if x > 0 else negative_slope * x`` elementwise."""
    slope = check.real("leaky_relu", "negative_slope", negative_slope)
    return _elementwise("leaky_relu", "leaky_relu_forward", strategy, x, slope=slope)


def leaky_relu_backward(grad_out, x, negative_slope=0.01, *, strategy=None):
    """``grad_out * (1 if x > 0 else negative_slope)``; x is the forward's input."""
    slope = check.real("leaky_relu_backward", "negative_slope", negative_slope)
    return _elementwise("leaky_relu_backward", "leaky_relu_backward", strategy, grad_out, x,
                        slope=slope)


def sigmoid(x, *, strategy=None):
    """``1 / (1 + exp(-x))`` elementwise, without overflow for large ``|x|``."""
    return _elementwise("sigmoid", "sigmoid_forward", strategy, x)


def sigmoid_backward(grad_out, out, *, strategy=None):
    """``grad_out * out * (1 - out)``; out is the forward's *output*."""
    return _elementwise("sigmoid_backward", "sigmoid_backward", strategy, grad_out, out)


def tanh(x, *, strategy=None):
    """``tanh(x)`` elementwise."""
    return _elementwise("tanh", "tanh_forward", strategy, x)


def tanh_backward(grad_out, out, *, strategy=None):
    """``grad_out * (1 - out**2)``; out is the forward's *output*."""
    return _elementwise("tanh_backward", "tanh_backward", strategy, grad_out, out)


def softplus_arguments(op, beta, threshold):
    """``{"beta": ..., "threshold": ...}`` checked: finite reals, beta non-zero (also used by
    ``nn.Softplus``)."""
    beta = check.real(op, "beta", beta)
    if beta == 0:
        raise ValueError(f"{op}: beta must be non-zero (out = log(1 + exp(beta * x)) / beta)")
    return {"beta": beta, "threshold": check.real(op, "threshold", threshold)}


def softplus(x, beta=1.0, threshold=20.0, *, strategy=None):
    """``log(1 + exp(beta * x)) / beta`` elementwise, or ``x`` where ``beta * x > threshold``
    (PyTorch's linear region, where the two agree to float precision)."""
    return _elementwise("softplus", "softplus_forward", strategy, x,
                        **softplus_arguments("softplus", beta, threshold))


def softplus_backward(grad_out, x, beta=1.0, threshold=20.0, *, strategy=None):
    """``grad_out * sigmoid(beta * x)``, or ``grad_out`` where ``beta * x > threshold``; x is
    the forward's input."""
    return _elementwise("softplus_backward", "softplus_backward", strategy, grad_out, x,
                        **softplus_arguments("softplus_backward", beta, threshold))


GELU_APPROXIMATIONS = ("none", "tanh")


def gelu(x, approximate="none", *, strategy=None):
    """``x * Phi(x)`` elementwise, ``Phi`` the standard normal CDF (``approximate="none"``, with
    erf), or PyTorch's ``approximate="tanh"``:
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if check.choice("gelu", "approximate", approximate, GELU_APPROXIMATIONS) == "tanh":
        return _elementwise("gelu", "gelu_tanh_forward", strategy, x)
    return _elementwise("gelu", "gelu_forward", strategy, x)


def gelu_backward(grad_out, x, approximate="none", *, strategy=None):
    """dL/dx of :func:`gelu` with the same ``approximate``; x is the forward's input."""
    if check.choice("gelu_backward", "approximate", approximate, GELU_APPROXIMATIONS) == "tanh":
        return _elementwise("gelu_backward", "gelu_tanh_backward", strategy, grad_out, x)
    return _elementwise("gelu_backward", "gelu_backward", strategy, grad_out, x)


def silu(x, *, strategy=None):
    """``x * sigmoid(x)`` elementwise (also called swish)."""
    return _elementwise("silu", "silu_forward", strategy, x)


def silu_backward(grad_out, x, *, strategy=None):
    """``grad_out * s * (1 + x * (1 - s))`` with ``s = sigmoid(x)``; x is the forward's input."""
    return _elementwise("silu_backward", "silu_backward", strategy, grad_out, x)
