"""Numba loop kernels: the ``loop`` strategy, one module per op.

Shape notation, used by every kernel docstring here and in :mod:`mint.vectorized`:

==========================  ==================================================
``N``                       batch size
``C``, ``L``                channels, and positions per channel, of batch normalisation's
                            input viewed as (N, C, L): L = 1, length, or H * W
``C_in``, ``C_out``         input and output channels (features for ``linear``)
``H_in``, ``W_in``          input height and width
``H_out``, ``W_out``        output height and width
``KH``, ``KW``              kernel (window) height and width
``(SH, SW)``                stride
``(PH, PW)``                zero padding (``-inf`` padding for max-pooling)
``(DH, DW)``                dilation: distance between kernel taps
``R``, ``D``                rows, and values per row, of layer normalisation's input viewed
                            as (R, D): D = the product of ``normalized_shape``
``B``, ``L``, ``S``         attention: (sample, head) pairs, queries and keys per pair
``E``, ``E_v``              features per query and key, and per value
``V``                       rows of an embedding table
==========================  ==================================================

Output size, with floor division as in PyTorch (``ceil_mode`` of max-pooling rounds up
instead, keeping only windows that start inside the input or the left padding)::

    H_out = (H_in + 2 * PH - DH * (KH - 1) - 1) // SH + 1
    W_out = (W_in + 2 * PW - DW * (KW - 1) - 1) // SW + 1

Kernels are pure: they take C-contiguous float arrays (float32 or float64), Python ints or
int tuples, and the index arrays or masks :mod:`mint.functional` built (max-pooling's argmax,
average pooling's windows, dropout's mask), allocate and return their outputs (conv2d keeps its
internal layout copies in arrays reused from call to call; no output is ever one of them), and
check nothing.
:mod:`mint.functional` is the only caller (and :mod:`mint.optim`, of ``optimizers``, on arrays it
holds); it validates every argument before a kernel runs, because a Numba kernel reads out of
bounds silently. Equation numbers refer to
``docs/backprop.md``.
"""

from mint.kernels import (
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
