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
    gelu,
    gelu_backward,
    leaky_relu,
    leaky_relu_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    silu,
    silu_backward,
    softplus,
    softplus_backward,
    tanh,
    tanh_backward,
)
from mint.functional.attention import (
    attention_weights,
    matmul,
    matmul_backward,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
)
from mint.functional.augment import shift_flip
from mint.functional.convolution import (
    conv2d,
    conv2d_backward,
    conv2d_backward_parameters,
    conv2d_output_shape,
    conv_transpose2d,
    conv_transpose2d_backward,
    conv_transpose2d_backward_parameters,
    conv_transpose2d_output_shape,
)
from mint.functional.dense import linear, linear_backward, linear_backward_parameters
from mint.functional.dropout import dropout, dropout2d, dropout_backward
from mint.functional.embedding import embedding, embedding_backward
from mint.functional.loss import (
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_backward,
    cross_entropy,
    cross_entropy_backward,
    mse_loss,
    mse_loss_backward,
    nll_loss,
    nll_loss_backward,
)
from mint.functional.normalization import (
    batch_norm,
    batch_norm_backward,
    layer_norm,
    layer_norm_backward,
)
from mint.functional.pooling import (
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from mint.functional.shape import flatten, flatten_backward
from mint.functional.softmax import (
    log_softmax,
    log_softmax_backward,
    softmax,
    softmax_backward,
)

__all__ = [
    "FLOAT_DTYPES",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "attention_weights",
    "avg_pool2d",
    "avg_pool2d_backward",
    "batch_norm",
    "batch_norm_backward",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_backward",
    "conv2d",
    "conv2d_backward",
    "conv2d_backward_parameters",
    "conv2d_output_shape",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "conv_transpose2d_backward_parameters",
    "conv_transpose2d_output_shape",
    "cross_entropy",
    "cross_entropy_backward",
    "dropout",
    "dropout2d",
    "dropout_backward",
    "embedding",
    "embedding_backward",
    "flatten",
    "flatten_backward",
    "gelu",
    "gelu_backward",
    "layer_norm",
    "layer_norm_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "linear",
    "linear_backward",
    "linear_backward_parameters",
    "log_softmax",
    "matmul",
    "matmul_backward",
    "log_softmax_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "mse_loss",
    "mse_loss_backward",
    "nll_loss",
    "nll_loss_backward",
    "relu",
    "relu_backward",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "shift_flip",
    "sigmoid",
    "sigmoid_backward",
    "silu",
    "silu_backward",
    "softmax",
    "softmax_backward",
    "softplus",
    "softplus_backward",
    "tanh",
    "tanh_backward",
]
