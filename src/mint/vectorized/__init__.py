"""NumPy twins of the loop kernels: the ``vectorized`` strategy.

Each module mirrors the module of the same name in :mod:`mint.kernels`: same function names,
same signatures, same shape notation (see :mod:`mint.kernels`), same results. They use only
NumPy array expressions: windows through ``sliding_window_view`` (im2col), one BLAS matmul per
direction, and no Python loop over pixels.
"""

from mint.vectorized import (
    activation,
    attention,
    augment,
    avg_pool2d,
    batch_norm,
    bce_with_logits,
    conv2d,
    cross_entropy,
    dropout,
    embedding,
    layer_norm,
    linear,
    matmul,
    max_pool2d,
    mse_loss,
    nll_loss,
    optimizers,
    softmax,
    winograd,
)

__all__ = [
    "activation",
    "attention",
    "augment",
    "avg_pool2d",
    "batch_norm",
    "bce_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "layer_norm",
    "linear",
    "matmul",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "optimizers",
    "softmax",
    "winograd",
]
