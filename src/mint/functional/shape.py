"""Ops that only change an array's shape: flatten (a view, the same for both strategies)."""

import math

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def flatten(x, start_dim=1, *, strategy=None):
    """Merge the dimensions from ``start_dim`` on into one (a view; same for both strategies)."""
    resolve(strategy)
    x = check.float_array("flatten", "input", x)
    start_dim = check.integer("flatten", "start_dim", start_dim, 0)
    if start_dim >= max(x.ndim, 1):
        raise ValueError(
            f"flatten: start_dim must be < input dimensions {x.ndim}, got {start_dim}"
        )
    # The merged size spelled out: NumPy cannot infer -1 when a batch has no images.
    return x.reshape(*x.shape[:start_dim], math.prod(x.shape[start_dim:]))


def flatten_backward(grad_out, input_shape, *, strategy=None):
    """Gradient of :func:`flatten`: ``grad_out`` reshaped to the forward's input shape."""
    resolve(strategy)
    grad_out = check.float_array("flatten_backward", "grad_out", grad_out)
    input_shape = tuple(int(s) for s in input_shape)
    if int(np.prod(input_shape)) != grad_out.size:
        raise ValueError(
            f"flatten_backward: grad_out of shape {grad_out.shape} cannot take the input "
            f"shape {input_shape}"
        )
    return grad_out.reshape(input_shape)
