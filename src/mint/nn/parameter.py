"""The arrays a module holds: a ``Parameter`` (trained, with a gradient) or a ``Buffer`` (state
that is not trained: running statistics, counters)."""

import numpy as np

from mint._checks import FLOAT_DTYPES


class _Holder:
    """What Parameter and Buffer share: an array in ``data``, its shape and dtype."""

    data: np.ndarray

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.data.shape}, dtype={self.data.dtype})"


class Parameter(_Holder):
    """``data`` (the values) and ``grad`` (dL/d data, same shape and dtype, starting at zero).

    Layers *add* their gradients into ``grad``, so two backward passes accumulate, as in
    PyTorch; :meth:`zero_grad` (or an optimizer's) resets it in place.
    """

    def __init__(self, data):
        if not isinstance(data, np.ndarray):
            raise TypeError(f"Parameter: data must be a numpy.ndarray, got {type(data).__name__}")
        if data.dtype not in FLOAT_DTYPES:
            raise TypeError(f"Parameter: data must have dtype float32 or float64, got {data.dtype}")
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)

    def zero_grad(self):
        """Set ``grad`` to zero in place (arrays that view it stay valid)."""
        self.grad.fill(0)


class Buffer(_Holder):
    """``data``: an array that is part of a module's state but not trained (PyTorch's
    ``register_buffer``): BatchNorm's running mean and variance, a step counter.

    Found by the same attribute walk as :class:`Parameter`; saved and loaded by ``state_dict`` /
    ``load_state_dict`` under the key PyTorch gives it, converted by ``Module.to(dtype)`` when it
    holds floats (counters stay integers, as in PyTorch), and never seen by optimizers, which
    take ``Module.parameters()``. A layer updates it in place (``buffer.data[...] = ...``) or
    assigns a new array of the same shape and dtype.
    """

    def __init__(self, data):
        if not isinstance(data, np.ndarray):
            raise TypeError(f"Buffer: data must be a numpy.ndarray, got {type(data).__name__}")
        if data.dtype.kind not in "biuf":
            raise TypeError(f"Buffer: data must hold real numbers, got dtype {data.dtype}")
        self.data = np.require(data, requirements="C")  # keeps a 0-d counter 0-d


def add_parameter_grads(layer, grad_weight, grad_bias):
    """Add ``grad_weight`` and ``grad_bias`` into ``layer.weight.grad`` and ``layer.bias.grad``,
    for each of the two the layer has (None: not there): gradients of several backward passes
    accumulate, as in PyTorch."""
    for parameter, grad in ((layer.weight, grad_weight), (layer.bias, grad_bias)):
        if parameter is not None:
            parameter.grad += grad
