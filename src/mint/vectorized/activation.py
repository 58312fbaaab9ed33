"""Elementwise activations and their gradients with NumPy ufuncs.

Same functions, equations and PyTorch conventions as :mod:`mint.kernels.activation`: 1-D arrays
of one length L in, a new array of length L and the same dtype out.
"""

import math

import numpy as np


def relu_forward(x):
    """out (L,) = max(x, 0), NaN kept (``np.maximum`` propagates NaN)."""
    return np.maximum(x, 0)


def relu_backward(grad_out, x):
    """grad_x (L,) = grad_out where x > 0 (or NaN), else 0; x is the forward's input."""
    return np.where(x <= 0, 0, grad_out).astype(grad_out.dtype, copy=False)


def leaky_relu_forward(x, slope):
    """out (L,) = x if x > 0 else slope * x."""
    return np.where(x > 0, x, x * slope)


def leaky_relu_backward(grad_out, x, slope):
    """grad_x (L,) = grad_out if x > 0 else slope * grad_out; x is the forward's input."""
    return np.where(x > 0, grad_out, grad_out * slope)


def sigmoid_forward(x):
    """out (L,) = 1 / (1 + exp(-x)), computed without overflow.

    ``e = exp(-|x|)`` lies in (0, 1]; then sigmoid(x) is 1 / (1 + e) for x >= 0 and
    e / (1 + e) for x < 0.
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def sigmoid_backward(grad_out, out):
    """grad_x (L,) = grad_out * out * (1 - out); out is the forward's output."""
    return grad_out * out * (1 - out)


def tanh_forward(x):
    """out (L,) = tanh(x)."""
    return np.tanh(x)


def tanh_backward(grad_out, out):
    """grad_x (L,) = grad_out * (1 - out^2); out is the forward's output."""
    return grad_out * (1 - out * out)


def softplus_forward(x, beta, threshold):
    """out (L,) = log(1 + exp(beta * x)) / beta, or x where beta * x > threshold.

    ``np.logaddexp(0, z)`` is log(1 + e^z) without overflow.
    """
    z = x * x.dtype.type(beta)
    return np.where(z > threshold, x, np.logaddexp(0, z) / x.dtype.type(beta))


def softplus_backward(grad_out, x, beta, threshold):
    """grad_x (L,) = grad_out * sigmoid(beta * x), or grad_out where beta * x > threshold; x is
    the forward's input."""
    z = x * x.dtype.type(beta)
    return np.where(z > threshold, grad_out, grad_out * sigmoid_forward(z))


def _normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal's distribution function."""
    from scipy.special import erf  # here: importing scipy.special costs 0.13 s at start-up

    return 0.5 * (1 + erf(x * x.dtype.type(math.sqrt(0.5))))


def gelu_forward(x):
    """out (L,) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, exact GELU (A6)."""
    return x * _normal_cdf(x)


def gelu_backward(grad_out, x):
    """grad_x (L,) = grad_out * (Phi(x) + x phi(x)) (A6); x is the forward's input."""
    cdf = _normal_cdf(x)
    pdf = x.dtype.type(1 / math.sqrt(2 * math.pi)) * np.exp(-0.5 * x * x)
    return grad_out * (cdf + x * pdf)


def _gelu_tanh_argument(x):
    """u = sqrt(2/pi) (x + 0.044715 x^3) of the tanh approximation (A7)."""
    return x.dtype.type(math.sqrt(2 / math.pi)) * (x + x.dtype.type(0.044715) * (x * x * x))


def gelu_tanh_forward(x):
    """out (L,) = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3) (A7). NumPy's tanh is
    a SIMD loop, so the twin keeps PyTorch's tanh form (the loop kernel uses x sigmoid(2u))."""
    return 0.5 * x * (1 + np.tanh(_gelu_tanh_argument(x)))


def gelu_tanh_backward(grad_out, x):
    """grad_x (L,) = grad_out * ((1 + t) / 2 + x (1 - t^2) u' / 2), t = tanh u (A7); x is the
    forward's input."""
    t = np.tanh(_gelu_tanh_argument(x))
    du = x.dtype.type(math.sqrt(2 / math.pi)) * (1 + x.dtype.type(3 * 0.044715) * (x * x))
    return grad_out * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


def silu_forward(x):
    """out (L,) = x sigmoid(x) (A8)."""
    return x * sigmoid_forward(x)


def silu_backward(grad_out, x):
    """grad_x (L,) = grad_out * s (1 + x (1 - s)), s = sigmoid(x) (A8); x is the forward's
    input."""
    s = sigmoid_forward(x)
    return grad_out * s * (1 + x * (1 - s))
