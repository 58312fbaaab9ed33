"""The planner that :class:`~mint.nn.Sequential` asks in which order to run its modules, and
which of them an eval-mode forward may fuse: a rule that concerns particular layers lives here,
above them, so that neither ``Module`` nor the containers know any layer by name."""

from functools import partial

import numpy as np

from mint import functional as F
from mint.nn.activation import ReLU
from mint.nn.layers import Conv2d, MaxPool2d
from mint.nn.normalization import BatchNorm2d


def execution_order(modules):
    """``modules`` in the order forward runs them: the listed order, except that a ``ReLU``
    directly followed by a ``MaxPool2d`` runs after it.

    The swap is exact: ReLU is non-decreasing, so ``max(relu(window)) = relu(max(window))``
    value for value, the pool's argmax gets a non-zero gradient from ReLU exactly when the
    window's maximum is positive, and that maximum sits at the same (first) position in both
    orders; NaN wins the window and passes ReLU either way. ReLU then runs on the pooled map, a
    quarter of the values for a 2 x 2 pool, forward and backward. The exact classes only: a
    subclass may compute something else.
    """
    order = list(modules)
    for index in range(len(order) - 1):
        if type(order[index]) is ReLU and type(order[index + 1]) is MaxPool2d:
            order[index], order[index + 1] = order[index + 1], order[index]
    return order


def inference_steps(modules):
    """The callables an eval-mode forward runs on an array: :func:`execution_order`, except that
    a ``Conv2d`` directly followed by a ``BatchNorm2d`` that normalises with its running
    statistics, both in eval mode, becomes one convolution with the normalisation folded in.

    Eval-mode batch norm is an affine map per output channel ``co``, ``y * s[co] + t[co]`` with
    ``s = weight / sqrt(running_var + eps)`` and ``t = bias - running_mean * s``, so::

        bn(conv(x, W, b)) = conv(x, W * s[co], b * s[co] + t[co])

    which saves batch norm's pass over the convolution's output (read and written once more).
    The folded weight and bias are computed from the current parameters and buffers at each
    call (in float64, then rounded once to the layer's dtype), so a later change of either is
    seen. The sums differ from the unfused pair's by rounding only: the unfused one rounds the
    convolution's output ``y`` (an error of order ``eps_mach * |y|``) before subtracting the
    mean; the folded one rounds ``W * s`` and adds ``t``, errors of the same order. Eval mode
    keeps no activations, so nothing needs either layer's backward. A pair whose sizes or dtypes
    do not match is left alone, and batch norm refuses it with its own message.
    """
    order, steps = execution_order(modules), []
    while order:
        conv = order.pop(0)
        if order and _foldable(conv, order[0]):
            steps.append(_folded_convolution(conv, order.pop(0)))
        else:
            steps.append(conv)
    return steps


def _foldable(conv, norm):
    """Whether ``norm`` can be folded into ``conv`` (:func:`inference_steps`): the exact classes,
    both in eval mode, running statistics kept, and ``norm``'s channels and dtype the
    convolution's output's."""
    return (type(conv) is Conv2d and type(norm) is BatchNorm2d
            and not conv.training and not norm.training and norm.running_mean is not None
            and norm.num_features == conv.out_channels
            and norm.running_mean.data.dtype == conv.weight.data.dtype)


def _folded_convolution(conv, norm):
    """``x -> norm(conv(x))`` as one :func:`mint.functional.conv2d` with the folded weight and
    bias of :func:`inference_steps`."""
    dtype = conv.weight.data.dtype
    scale = 1 / np.sqrt(norm.running_var.data.astype(np.float64) + norm.eps)
    if norm.weight is not None:
        scale *= norm.weight.data
    shift = -norm.running_mean.data * scale
    if norm.bias is not None:
        shift += norm.bias.data
    if conv.bias is not None:
        shift += conv.bias.data * scale
    weight = (conv.weight.data * scale[:, None, None, None]).astype(dtype)
    return partial(F.conv2d, weight=weight, bias=shift.astype(dtype), stride=conv.stride,
                   padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                   strategy=conv.strategy, algorithm=conv.algorithm)
