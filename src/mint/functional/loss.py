"""Losses: softmax cross-entropy, fused with its softmax so the backward is one subtraction."""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _check_cross_entropy(op, logits, target, reduction):
    logits = check.float_array(op, "logits", logits, ndim=2)
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must be an integer numpy.ndarray of class indices, got "
            f"{getattr(target, 'dtype', type(target).__name__)}"
        )
    if target.shape != (logits.shape[0],):
        raise ValueError(
            f"{op}: target must have shape ({logits.shape[0]},) to match logits "
            f"{logits.shape}, got {target.shape}"
        )
    num_classes = logits.shape[1]
    if target.size and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(
            f"{op}: target holds class indices outside [0, {num_classes}): "
            f"min {target.min()}, max {target.max()}"
        )
    check.choice(op, "reduction", reduction, check.REDUCTIONS)
    if reduction == "mean" and logits.shape[0] == 0:
        raise ValueError(f"{op}: the mean over an empty batch is undefined (logits {logits.shape})")
    return logits, np.ascontiguousarray(target, dtype=np.int64)


def cross_entropy(logits, target, reduction="mean", *, strategy=None):
    """Softmax cross-entropy, fused and stable: returns ``(loss, probs)``.

    logits (N, C) float, target (N,) integer class indices. ``loss`` is a Python float, the mean
    (or sum) over the batch of ``logsumexp(logits[n]) - logits[n, target[n]]``; ``probs`` (N, C)
    is the softmax, which :func:`cross_entropy_backward` needs.
    """
    logits, target = _check_cross_entropy("cross_entropy", logits, target, reduction)
    losses, probs = resolve(strategy).cross_entropy.cross_entropy_forward(logits, target)
    total = float(losses.sum())
    return (total / logits.shape[0] if reduction == "mean" else total), probs


def cross_entropy_backward(probs, target, reduction="mean", *, strategy=None):
    """dL/dlogits of :func:`cross_entropy`: ``(probs - onehot(target)) * scale``.

    ``scale`` is ``1 / N`` for ``reduction="mean"`` and 1 for ``"sum"``.
    """
    probs, target = _check_cross_entropy("cross_entropy_backward", probs, target, reduction)
    scale = 1.0 / probs.shape[0] if reduction == "mean" else 1.0
    return resolve(strategy).cross_entropy.cross_entropy_backward(probs, target, scale)
