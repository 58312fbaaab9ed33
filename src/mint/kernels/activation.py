"""Elementwise activations and their gradients, as Numba loops.

Every function takes 1-D C-contiguous arrays of one length (``mint.functional`` flattens the
caller's arrays and restores their shape) and returns a new array of the same length and dtype.
Scalars (the leaky slope) are cast to the array's dtype first, so float32 stays float32.

Each public function allocates its output with NumPy and passes it to a parallel kernel of the
same name with a leading underscore, which fills it. NumPy asks the operating system for transparent
huge pages for large arrays and Numba's own allocator does not: a fresh 6 MB output took one page
fault per 4 KB, and in a lenet training step the first ReLU took 2.3 ms instead of 1.0.

    relu            out = x if x > 0 else 0             grad_x = grad_out if x > 0 else 0
    leaky_relu      out = x if x > 0 else slope * x     grad_x = grad_out * (1 if x > 0 else slope)
    sigmoid         out = 1 / (1 + exp(-x))             grad_x = grad_out * out * (1 - out)
    tanh            out = tanh(x)                       grad_x = grad_out * (1 - out^2)
    softplus        out = log(1 + exp(b x)) / b         grad_x = grad_out * sigmoid(b x)
                    (out = x, grad_x = grad_out where b x > threshold)
    gelu            out = x Phi(x)                      grad_x = grad_out * (Phi(x) + x phi(x))
                    (Phi the standard normal CDF, 0.5 (1 + erf(x / sqrt 2)), phi its density)
    gelu_tanh       out = x sigmoid(2u)                 grad_x = grad_out * (s + 2 x s (1 - s) u')
                    (u = sqrt(2/pi) (x + 0.044715 x^3), s = sigmoid(2u) = (1 + tanh u) / 2)
    silu            out = x sigmoid(x)                  grad_x = grad_out * s (1 + x (1 - s))

As in PyTorch: the gradient of relu at exactly 0 is 0, that of leaky_relu at 0 is ``slope``,
and NaN propagates (relu(NaN) is NaN; relu's gradient passes through at NaN, PyTorch's
``threshold_backward`` zeroes only where ``x <= 0``).
Each loop writes element i only, so ``prange`` over i is race-free by construction.
"""

import math

import numpy as np
from numba import njit, prange

from mint.kernels import vector_math
from mint.kernels.vector_math import exp_nonpositive

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715  # the cubic coefficient of GELU's tanh approximation


def _filled(kernel, out, *args):
    """out, after ``kernel(*args, out)`` has written every element of it."""
    kernel(*args, out)
    return out


@njit(parallel=True, cache=True)
def _relu_forward(x, out):
    zero = x.dtype.type(0)
    # Iteration i writes only out[i].
    for i in prange(x.size):
        # "not <= 0" rather than "> 0" lets NaN through, as PyTorch does.
        out[i] = zero if x[i] <= 0 else x[i]


def relu_forward(x):
    """out (L,) = max(x, 0), NaN kept."""
    return _filled(_relu_forward, np.empty_like(x), x)


@njit(parallel=True, cache=True)
def _relu_backward(grad_out, x, grad_x):
    zero = grad_out.dtype.type(0)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        grad_x[i] = zero if x[i] <= 0 else grad_out[i]


def relu_backward(grad_out, x):
    """grad_x (L,) = grad_out where x > 0 (or NaN), else 0; x is the forward's input."""
    return _filled(_relu_backward, np.empty_like(grad_out), grad_out, x)


@njit(parallel=True, cache=True)
def _leaky_relu_forward(x, slope, out):
    slope = x.dtype.type(slope)
    # Iteration i writes only out[i].
    for i in prange(x.size):
        out[i] = x[i] if x[i] > 0 else slope * x[i]


def leaky_relu_forward(x, slope):
    """out (L,) = x if x > 0 else slope * x."""
    return _filled(_leaky_relu_forward, np.empty_like(x), x, slope)


@njit(parallel=True, cache=True)
def _leaky_relu_backward(grad_out, x, slope, grad_x):
    slope = grad_out.dtype.type(slope)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        grad_x[i] = grad_out[i] if x[i] > 0 else slope * grad_out[i]


def leaky_relu_backward(grad_out, x, slope):
    """grad_x (L,) = grad_out if x > 0 else slope * grad_out; x is the forward's input."""
    return _filled(_leaky_relu_backward, np.empty_like(grad_out), grad_out, x, slope)


@njit(cache=True, inline="always")
def _sigmoid(z, one):
    """1 / (1 + exp(-z)) without overflow, as a select (see sigmoid_forward), with the exp that
    vectorises (see mint.kernels.vector_math); ``one`` is 1 in z's dtype."""
    e = exp_nonpositive(-np.abs(z))
    return (one if z >= 0 else e) / (one + e)


@njit(parallel=True, cache=True)
def _sigmoid_forward(x, out):
    one = x.dtype.type(1)
    # Iteration i writes only out[i].
    for i in prange(x.size):
        out[i] = _sigmoid(x[i], one)


def sigmoid_forward(x):
    """out (L,) = 1 / (1 + exp(-x)), computed without overflow.

    With e = exp(-|x|), which lies in (0, 1] and cannot overflow: sigmoid(x) = 1 / (1 + e) for
    x >= 0 and e / (1 + e) for x < 0 (:func:`_sigmoid`).
    """
    return _filled(_sigmoid_forward, np.empty_like(x), x)


@njit(parallel=True, cache=True)
def _sigmoid_backward(grad_out, out, grad_x):
    one = out.dtype.type(1)
    # Iteration i writes only grad_x[i].
    for i in prange(out.size):
        grad_x[i] = grad_out[i] * out[i] * (one - out[i])


def sigmoid_backward(grad_out, out):
    """grad_x (L,) = grad_out * out * (1 - out); out is the forward's output."""
    return _filled(_sigmoid_backward, np.empty_like(grad_out), grad_out, out)


@njit(parallel=True, cache=True)
def _tanh_forward(x, out):
    # Iteration i writes only out[i].
    for i in prange(x.size):
        out[i] = vector_math.tanh(x[i])


def tanh_forward(x):
    """out (L,) = tanh(x)."""
    return _filled(_tanh_forward, np.empty_like(x), x)


@njit(parallel=True, cache=True)
def _tanh_backward(grad_out, out, grad_x):
    one = out.dtype.type(1)
    # Iteration i writes only grad_x[i].
    for i in prange(out.size):
        grad_x[i] = grad_out[i] * (one - out[i] * out[i])


def tanh_backward(grad_out, out):
    """grad_x (L,) = grad_out * (1 - out^2); out is the forward's output."""
    return _filled(_tanh_backward, np.empty_like(grad_out), grad_out, out)


@njit(parallel=True, cache=True)
def _softplus_forward(x, beta, threshold, out):
    beta, threshold = x.dtype.type(beta), x.dtype.type(threshold)
    zero = x.dtype.type(0)
    # Iteration i writes only out[i].
    for i in prange(x.size):
        z = beta * x[i]
        # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): the exp cannot overflow.
        smooth = ((z if z > 0 else zero)
                  + vector_math.log1p_unit(exp_nonpositive(-np.abs(z)))) / beta
        out[i] = x[i] if z > threshold else smooth


def softplus_forward(x, beta, threshold):
    """out (L,) = log(1 + exp(beta * x)) / beta, or x where beta * x > threshold."""
    return _filled(_softplus_forward, np.empty_like(x), x, beta, threshold)


@njit(parallel=True, cache=True)
def _softplus_backward(grad_out, x, beta, threshold, grad_x):
    beta, threshold = x.dtype.type(beta), x.dtype.type(threshold)
    one = x.dtype.type(1)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        z = beta * x[i]
        grad_x[i] = grad_out[i] if z > threshold else grad_out[i] * _sigmoid(z, one)


def softplus_backward(grad_out, x, beta, threshold):
    """grad_x (L,) = grad_out * sigmoid(beta * x), or grad_out where beta * x > threshold; x is
    the forward's input."""
    return _filled(_softplus_backward, np.empty_like(grad_out), grad_out, x, beta, threshold)


@njit(parallel=True, cache=True)
def _gelu_forward(x, out):
    half, one = x.dtype.type(0.5), x.dtype.type(1)
    scale = x.dtype.type(_SQRT_HALF)
    # Iteration i writes only out[i].
    for i in prange(x.size):
        out[i] = half * x[i] * (one + vector_math.erf(x[i] * scale))


def gelu_forward(x):
    """out (L,) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, exact GELU (A6)."""
    return _filled(_gelu_forward, np.empty_like(x), x)


@njit(parallel=True, cache=True)
def _gelu_backward(grad_out, x, grad_x):
    half, one = x.dtype.type(0.5), x.dtype.type(1)
    scale, density = x.dtype.type(_SQRT_HALF), x.dtype.type(_INV_SQRT_2PI)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        cdf = half * (one + vector_math.erf(x[i] * scale))
        pdf = density * exp_nonpositive(-half * x[i] * x[i])
        grad_x[i] = grad_out[i] * (cdf + x[i] * pdf)


def gelu_backward(grad_out, x):
    """grad_x (L,) = grad_out * (Phi(x) + x phi(x)) (A6); x is the forward's input."""
    return _filled(_gelu_backward, np.empty_like(grad_out), grad_out, x)


@njit(parallel=True, cache=True)
def _gelu_tanh_forward(x, out):
    one, two = x.dtype.type(1), x.dtype.type(2)
    scale, cubic = x.dtype.type(_SQRT_2_OVER_PI), x.dtype.type(_GELU_CUBIC)
    # Iteration i writes only out[i].
    for i in prange(x.size):
        u = scale * (x[i] + cubic * x[i] * x[i] * x[i])
        out[i] = x[i] * _sigmoid(two * u, one)


def gelu_tanh_forward(x):
    """out (L,) = x (1 + tanh u) / 2 = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3) (A7).

    The sigmoid form needs one exp where tanh would need a libm call that does not vectorise.
    """
    return _filled(_gelu_tanh_forward, np.empty_like(x), x)


@njit(parallel=True, cache=True)
def _gelu_tanh_backward(grad_out, x, grad_x):
    one, two, three = x.dtype.type(1), x.dtype.type(2), x.dtype.type(3)
    scale, cubic = x.dtype.type(_SQRT_2_OVER_PI), x.dtype.type(_GELU_CUBIC)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        square = x[i] * x[i]
        s = _sigmoid(two * scale * (x[i] + cubic * square * x[i]), one)
        du = scale * (one + three * cubic * square)
        grad_x[i] = grad_out[i] * (s + two * x[i] * s * (one - s) * du)


def gelu_tanh_backward(grad_out, x):
    """grad_x (L,) = grad_out * (s + 2 x s (1 - s) u'), s = sigmoid(2u) (A7); x is the
    forward's input."""
    return _filled(_gelu_tanh_backward, np.empty_like(grad_out), grad_out, x)


@njit(parallel=True, cache=True)
def _silu_forward(x, out):
    one = x.dtype.type(1)
    # Iteration i writes only out[i].
    for i in prange(x.size):
        out[i] = x[i] * _sigmoid(x[i], one)


def silu_forward(x):
    """out (L,) = x sigmoid(x) (A8)."""
    return _filled(_silu_forward, np.empty_like(x), x)


@njit(parallel=True, cache=True)
def _silu_backward(grad_out, x, grad_x):
    one = x.dtype.type(1)
    # Iteration i writes only grad_x[i].
    for i in prange(x.size):
        s = _sigmoid(x[i], one)
        grad_x[i] = grad_out[i] * s * (one + x[i] * (one - s))


def silu_backward(grad_out, x):
    """grad_x (L,) = grad_out * s (1 + x (1 - s)), s = sigmoid(x) (A8); x is the forward's
    input."""
    return _filled(_silu_backward, np.empty_like(grad_out), grad_out, x)
