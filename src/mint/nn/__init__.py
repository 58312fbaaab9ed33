"""Layers as PyTorch names them, with explicit ``forward`` and ``backward``.

``Parameter`` holds ``data`` and ``grad``, ``Buffer`` non-trained state; :class:`Module` finds
both by walking its attributes; every layer calls :mod:`mint.functional` (never a kernel) with
its ``strategy`` (``None`` means the default at call time).
"""

from mint.nn.activation import Activation, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from mint.nn.layers import Conv2d, Flatten, Linear, MaxPool2d
from mint.nn.loss import CrossEntropyLoss
from mint.nn.module import Module, Sequential
from mint.nn.normalization import BatchNorm1d, BatchNorm2d
from mint.nn.parameter import Buffer, Parameter

__all__ = [
    "Activation",
    "BatchNorm1d",
    "BatchNorm2d",
    "Buffer",
    "Conv2d",
    "CrossEntropyLoss",
    "Flatten",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
]
