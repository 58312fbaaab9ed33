"""Every op as a pair of functions, forward and backward: validation, then strategy dispatch.

This is the only door into :mod:`mint.kernels` (``loop``) and :mod:`mint.vectorized`. Numba
kernels do no bounds checking, so every argument is checked here (with the shared checks of
:mod:`mint._checks`), before any kernel runs, and bad input raises ``TypeError`` or
``ValueError`` naming the argument and what was expected. Arrays may be of any memory layout:
they are made C-contiguous here. Both strategies see exactly the same, already validated,
arguments, so they raise the same errors.

Float32 and float64 are supported; the arrays of one call must share their dtype. Each function
takes ``strategy=None`` ("loop", "vectorized", or ``None`` for :func:`mint.get_strategy`).

One module per op family; a new op is a new module here, re-exported below.
"""

from mint._checks import FLOAT_DTYPES
from mint.functional.activation import (
    leaky_relu,
    leaky_relu_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    softplus,
    softplus_backward,
    tanh,
    tanh_backward,
)
from mint.functional.convolution import (
    conv2d,
    conv2d_backward,
    conv2d_backward_parameters,
    conv2d_output_shape,
)
from mint.functional.dense import linear, linear_backward, linear_backward_parameters
from mint.functional.loss import cross_entropy, cross_entropy_backward
from mint.functional.normalization import batch_norm, batch_norm_backward
from mint.functional.pooling import max_pool2d, max_pool2d_backward
from mint.functional.shape import flatten, flatten_backward

__all__ = [
    "FLOAT_DTYPES",
    "batch_norm",
    "batch_norm_backward",
    "conv2d",
    "conv2d_backward",
    "conv2d_backward_parameters",
    "conv2d_output_shape",
    "cross_entropy",
    "cross_entropy_backward",
    "flatten",
    "flatten_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "linear",
    "linear_backward",
    "linear_backward_parameters",
    "max_pool2d",
    "max_pool2d_backward",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "softplus",
    "softplus_backward",
    "tanh",
    "tanh_backward",
]
