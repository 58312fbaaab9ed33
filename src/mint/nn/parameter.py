"""A trainable array and the gradient that back-propagation adds into it."""

import numpy as np

from mint._checks import FLOAT_DTYPES


class Parameter:
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

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def zero_grad(self):
        """Set ``grad`` to zero in place (arrays that view it stay valid)."""
        self.grad.fill(0)

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
