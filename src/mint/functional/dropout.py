"""Dropout of elements or of whole channels, and its gradient.

The mask is drawn here, in Python, from ``mint.manual_seed``'s generator
(:func:`mint.runtime.default_generator`), before any kernel runs; the kernels of both strategies
only apply it. So a seeded run repeats exactly, whatever the strategy and the thread count (a
draw inside a parallel Numba kernel would follow Numba's per-thread generators instead).
"""

import warnings

import numpy as np

from mint import _checks as check
from mint.runtime import default_generator
from mint.strategy import resolve


def dropout_probability(op, p):
    """``p`` as a float in [0, 1] (both ends allowed, as in PyTorch); also used by nn.Dropout."""
    p = check.real(op, "p", p)
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: p (the probability of dropping) must be in [0, 1], got {p}")
    return p


def _scale(p):
    """1 / (1 - p): kept values are scaled so that the expected output is the input. 0 when
    p = 1, where nothing is kept."""
    return 0.0 if p == 1 else 1.0 / (1.0 - p)


def _dropped(op, x, p, training, mask_shape, strategy):
    """(out, mask) of a dropout whose mask has ``mask_shape`` (x's leading axes, then ones)."""
    p = dropout_probability(op, p)
    training = check.boolean(op, "training", training)
    kernels = resolve(strategy).dropout
    if not training:
        return x, None
    # u >= p keeps each entry with probability 1 - p (u uniform on [0, 1), in steps of 2**-53).
    mask = default_generator().random(mask_shape) >= p
    rows = mask.size
    out = kernels.dropout_forward(x.reshape(rows, -1 if rows else 0), mask.reshape(-1),
                                  _scale(p))
    return out.reshape(x.shape), mask


def dropout(x, p=0.5, training=True, *, strategy=None):
    """Dropout, as ``torch.nn.functional.dropout``: each element of x (any shape) is zeroed with
    probability p, the others are scaled by 1 / (1 - p), (D1).

    Returns ``(out, mask)``: mask is bool, x's shape, True where an element was kept, for
    :func:`dropout_backward`. With ``training=False`` out is x itself and mask is None (the
    identity, whose gradient :func:`dropout_backward` passes through).
    ``p`` lies in [0, 1]; p = 1 drops everything (out = x * 0, as PyTorch).
    """
    x = check.float_array("dropout", "input", x)
    return _dropped("dropout", x, p, training, x.shape, strategy)


def dropout2d(x, p=0.5, training=True, *, strategy=None):
    """Channel dropout, as ``torch.nn.functional.dropout2d``: each channel of each sample is
    zeroed as a whole with probability p, the others are scaled by 1 / (1 - p), (D1).

    x (N, C, H, W), or (N, C, L), which PyTorch 2 also reads as a batch of channels (with a
    warning that it may later read it as one unbatched (C, H, W) image; Mint warns the same:
    pass ``x[None]`` to drop the channels of one image). Returns ``(out, mask)`` with mask bool
    (N, C, 1, 1) or (N, C, 1), True for the channels kept (None with ``training=False``). Other
    ranks raise ValueError (PyTorch deprecates them).
    """
    op = "dropout2d"
    x = check.float_array(op, "input", x)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: input must be (N, C, H, W) or (N, C, L), got shape {x.shape}; use dropout "
            "for element-wise dropout"
        )
    if x.ndim == 3:
        warnings.warn(
            f"{op}: a 3-D input {x.shape} is read as (N, C, L), dropping whole rows x[n, c], as "
            "PyTorch does today; for one unbatched (C, H, W) image pass x[None]",
            UserWarning, stacklevel=2,
        )
    return _dropped(op, x, p, training, (*x.shape[:2], *(1,) * (x.ndim - 2)), strategy)


def dropout_backward(grad_out, mask, p, *, strategy=None):
    """Gradient of :func:`dropout` and :func:`dropout2d`: grad_out scaled by 1 / (1 - p) where
    the forward's ``mask`` kept an element or a channel, times 0 elsewhere, (D2).

    grad_out has the forward output's shape; mask is the bool mask the forward returned (that
    shape, or its leading axes followed by ones for channel dropout); ``None``, from a forward
    with ``training=False``, passes grad_out through (as a copy).
    """
    op = "dropout_backward"
    grad_out = check.float_array(op, "grad_out", grad_out)
    p = dropout_probability(op, p)
    if mask is None:
        return grad_out.copy()
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(
            f"{op}: mask must be None or the bool numpy.ndarray returned by the forward"
        )
    leading = grad_out.shape[:2] + (1,) * (grad_out.ndim - 2)
    if mask.ndim != grad_out.ndim or (mask.shape != grad_out.shape and mask.shape != leading):
        raise ValueError(
            f"{op}: mask shape {mask.shape} must be grad_out's shape {grad_out.shape} or "
            f"{leading} (channel dropout)"
        )
    rows = mask.size
    grad_x = resolve(strategy).dropout.dropout_backward(
        grad_out.reshape(rows, -1 if rows else 0), np.ascontiguousarray(mask).reshape(-1),
        _scale(p),
    )
    return grad_x.reshape(grad_out.shape)
