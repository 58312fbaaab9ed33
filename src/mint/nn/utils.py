"""Utilities on a model's parameters, as ``torch.nn.utils``: gradient clipping."""

import math
import numbers

import numpy as np

from mint import _checks as check
from mint.nn.parameter import Parameter


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``; returns the total norm before clipping, as a Python float.

    As ``torch.nn.utils.clip_grad_norm_``: the total norm is the ``norm_type``-norm of all
    gradients together (``p > 0``, or ``inf`` / ``"inf"`` for the largest absolute value), and
    every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``. ``parameters`` is a
    :class:`Parameter` or an iterable of them (``model.parameters()``). With
    ``error_if_nonfinite`` a NaN or infinite total raises ``RuntimeError`` and nothing changes.
    """
    op = "clip_grad_norm_"
    parameters = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, Parameter):
            raise TypeError(f"{op}: parameters[{index}] must be a mint.Parameter, got "
                            f"{type(parameter).__name__}")
    max_norm = check.real(op, "max_norm", max_norm, 0.0)
    norm_type = _norm_type(op, norm_type)
    error_if_nonfinite = check.boolean(op, "error_if_nonfinite", error_if_nonfinite)
    if not parameters:
        return 0.0
    norms = [np.linalg.norm(p.grad.reshape(-1), norm_type) for p in parameters]
    total = float(np.linalg.norm(np.array(norms), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{op}: the total norm of order {norm_type} of the gradients is {total}; pass "
            "error_if_nonfinite=False to clip anyway"
        )
    scale = min(max_norm / (total + 1e-6), 1.0)
    for parameter in parameters:
        parameter.grad *= parameter.grad.dtype.type(scale)
    return total


def _norm_type(op, norm_type):
    """``norm_type`` as a float > 0, ``inf`` included (also written ``"inf"``)."""
    if isinstance(norm_type, str) and norm_type == "inf":
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{op}: norm_type must be a real number or 'inf', got {norm_type!r}")
    if not norm_type > 0:
        raise ValueError(f"{op}: norm_type must be > 0 (or inf), got {norm_type}")
    return float(norm_type)
