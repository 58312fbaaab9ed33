"""Layers as PyTorch names them, with explicit ``forward`` and ``backward``.

``Parameter`` holds ``data`` and ``grad``, ``Buffer`` non-trained state; :class:`Module` finds
both by walking its attributes; every layer calls :mod:`mint.functional` (never a kernel) with
its ``strategy`` (``None`` means the default at call time).
"""

from mint.nn import utils
from mint.nn.activation import (
    GELU,
    Activation,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from mint.nn.containers import ModuleDict, ModuleList, Residual, Sequential
from mint.nn.dropout import Dropout, Dropout2d
from mint.nn.layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
)
from mint.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from mint.nn.module import Module
from mint.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from mint.nn.parameter import Buffer, Parameter
from mint.nn.sparse import Embedding
from mint.nn.transformer import (
    MultiheadAttention,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "Activation",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Buffer",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "GELU",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiheadAttention",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Residual",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "utils",
]
