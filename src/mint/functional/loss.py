"""Losses and their gradients: cross-entropy (fused with its softmax, so the backward is one
subtraction), negative log-likelihood, mean squared error, binary cross-entropy on logits.

Every loss takes ``reduction`` as PyTorch: ``"mean"`` (the default) and ``"sum"`` return a
Python float, ``"none"`` the array of per-sample (or per-element) losses. Every backward takes
``grad_out``, dL/d(loss): ``None`` means 1 for a mean or a sum (the loss is where
back-propagation starts), a real number scales the gradient, and ``"none"`` needs an array of
the losses' shape. The kernels compute unreduced losses and, from ``grad_losses`` (dL/d of each
loss: ``grad_out / count`` for a mean, (X2)), the gradient.
"""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def _reduce(losses, reduction, count):
    """(X2): the losses' mean over ``count`` (a float; NaN when ``count`` is 0, as PyTorch),
    their sum, or the array itself."""
    if reduction == "none":
        return losses
    total = float(losses.sum())
    if reduction == "sum":
        return total
    return total / count if count else float("nan")


def _grad_losses(op, reduction, grad_out, shape, dtype, count):
    """dL/dlosses (``shape``, ``dtype``) from ``grad_out``, as (X2) reduces the losses."""
    if reduction == "none":
        if grad_out is None:
            raise ValueError(f"{op}: reduction='none' returns one loss per sample: pass "
                             f"grad_out of shape {shape}, the gradient of each")
        grad_out = check.float_array(op, "grad_out", grad_out)
        check.grad_out_shape(op, grad_out, shape)
        if grad_out.dtype != dtype:
            raise TypeError(f"{op}: grad_out must have the input's dtype {dtype}, got "
                            f"{grad_out.dtype}")
        return grad_out
    scale = 1.0 if grad_out is None else check.real(op, "grad_out", grad_out)
    if reduction == "mean":
        scale = scale / count if count else 0.0  # a NaN mean of nothing has zero gradient
    return np.full(shape, scale, dtype)


def _check_reduction(op, reduction, size):
    check.choice(op, "reduction", reduction, check.REDUCTIONS)
    if reduction == "mean" and size == 0:
        raise ValueError(f"{op}: the mean over an empty batch is undefined")


def _check_class_targets(op, x, target, ignore_index=None):
    """target as int64 (N,) class indices into x's C columns (or ``ignore_index``)."""
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must be an integer numpy.ndarray of class indices, got "
            f"{getattr(target, 'dtype', type(target).__name__)}"
        )
    if target.shape != (x.shape[0],):
        raise ValueError(
            f"{op}: target must have shape ({x.shape[0]},) to match input {x.shape}, got "
            f"{target.shape}"
        )
    num_classes = x.shape[1]
    counted = target if ignore_index is None else target[target != ignore_index]
    if counted.size and (counted.min() < 0 or counted.max() >= num_classes):
        ignored = "" if ignore_index is None else f" (or ignore_index {ignore_index})"
        raise ValueError(
            f"{op}: target holds class indices outside [0, {num_classes}){ignored}: "
            f"min {counted.min()}, max {counted.max()}"
        )
    return np.ascontiguousarray(target, dtype=np.int64)


def _check_float_target(op, x, target):
    """target as a float array of x's shape and dtype (MSE, BCE)."""
    target = check.float_array(op, "target", target)
    if target.shape != x.shape:
        raise ValueError(f"{op}: target must have the input's shape {x.shape}, got "
                         f"{target.shape}")
    check.same_dtype(op, input=x, target=target)
    return target


def _broadcast(op, name, value, x):
    """value (None, or an array broadcastable to x's shape) as a flat array of x's length."""
    if value is None:
        return None
    value = check.float_array(op, name, value)
    check.same_dtype(op, input=x, **{name: value})
    try:
        return np.ascontiguousarray(np.broadcast_to(value, x.shape)).reshape(-1)
    except ValueError:
        raise ValueError(f"{op}: {name} of shape {value.shape} does not broadcast to the input "
                         f"shape {x.shape}") from None


# ---------------------------------------------------------------------------- cross-entropy


def _check_cross_entropy(op, logits, target, reduction, label_smoothing):
    logits = check.float_array(op, "logits", logits, ndim=2)
    target = _check_class_targets(op, logits, target)
    _check_reduction(op, reduction, logits.shape[0])
    label_smoothing = check.real(op, "label_smoothing", label_smoothing, 0.0)
    if label_smoothing > 1:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    return logits, target, label_smoothing


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, *, strategy=None):
    """Softmax cross-entropy, fused and stable: returns ``(loss, probs)``.

    logits (N, C) float, target (N,) integer class indices. The loss of sample n is
    ``logsumexp(logits[n]) - (1 - e) logits[n, target[n]] - e / C sum_c logits[n, c]`` with
    ``e = label_smoothing`` in [0, 1] (PyTorch's: the target distribution mixes the one-hot
    target with the uniform one); ``loss`` is their mean, sum or array (``reduction``).
    ``probs`` (N, C) is the softmax, which :func:`cross_entropy_backward` needs.
    """
    logits, target, label_smoothing = _check_cross_entropy("cross_entropy", logits, target,
                                                           reduction, label_smoothing)
    losses, probs = resolve(strategy).cross_entropy.cross_entropy_forward(logits, target,
                                                                          label_smoothing)
    return _reduce(losses, reduction, logits.shape[0]), probs


def cross_entropy_backward(probs, target, reduction="mean", label_smoothing=0.0, grad_out=None,
                           *, strategy=None):
    """dL/dlogits of :func:`cross_entropy`: ``(probs - e / C - (1 - e) onehot(target))``
    times dL/d(each sample's loss) (``1 / N`` for a mean of ``grad_out=None``)."""
    op = "cross_entropy_backward"
    probs, target, label_smoothing = _check_cross_entropy(op, probs, target, reduction,
                                                          label_smoothing)
    grad_losses = _grad_losses(op, reduction, grad_out, target.shape, probs.dtype,
                               probs.shape[0])
    return resolve(strategy).cross_entropy.cross_entropy_backward(probs, target, label_smoothing,
                                                                  grad_losses)


# -------------------------------------------------------------------------------------- NLL


def _check_nll(op, log_probs, target, weight, ignore_index, reduction):
    log_probs = check.float_array(op, "input", log_probs, ndim=2)
    ignore_index = check.integer(op, "ignore_index", ignore_index, -(2**63))
    target = _check_class_targets(op, log_probs, target, ignore_index)
    _check_reduction(op, reduction, log_probs.shape[0])
    if weight is None:
        weight = np.ones(log_probs.shape[1], log_probs.dtype)
    else:
        weight = check.float_array(op, "weight", weight, ndim=1)
        if weight.shape != log_probs.shape[1:]:
            raise ValueError(f"{op}: weight must have one value per class, shape "
                             f"({log_probs.shape[1]},), got {weight.shape}")
        check.same_dtype(op, input=log_probs, weight=weight)
    counted = target[target != ignore_index]
    return log_probs, target, weight, ignore_index, float(weight[counted].sum())


def nll_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean", *,
             strategy=None):
    """Negative log-likelihood: ``-weight[t] log_probs[n, t]`` per sample, ``t = target[n]``.

    log_probs (N, C) (a ``log_softmax`` output), target (N,) integer class indices, weight
    (C,) or None (all 1). Samples whose target is ``ignore_index`` count for nothing; the mean
    divides by the total weight of the other samples (NaN if there is none, as PyTorch).
    """
    log_probs, target, weight, ignore_index, total_weight = _check_nll(
        "nll_loss", log_probs, target, weight, ignore_index, reduction)
    losses = resolve(strategy).nll_loss.nll_loss_forward(log_probs, target, weight, ignore_index)
    return _reduce(losses, reduction, total_weight)


def nll_loss_backward(log_probs, target, weight=None, ignore_index=-100, reduction="mean",
                      grad_out=None, *, strategy=None):
    """dL/dlog_probs of :func:`nll_loss`: ``-weight[t]`` times dL/d(sample n's loss) at
    ``(n, t)``, 0 elsewhere; log_probs is the forward's input (only its shape is used)."""
    op = "nll_loss_backward"
    log_probs, target, weight, ignore_index, total_weight = _check_nll(
        op, log_probs, target, weight, ignore_index, reduction)
    grad_losses = _grad_losses(op, reduction, grad_out, target.shape, log_probs.dtype,
                               total_weight)
    return resolve(strategy).nll_loss.nll_loss_backward(log_probs, target, weight, ignore_index,
                                                        grad_losses)


# -------------------------------------------------------------------------------------- MSE


def _check_elementwise_loss(op, x, target, reduction):
    x = check.float_array(op, "input", x)
    target = _check_float_target(op, x, target)
    _check_reduction(op, reduction, x.size)
    return x, target


def mse_loss(x, target, reduction="mean", *, strategy=None):
    """Squared error ``(x - target)^2`` per element (any shape; target of the same shape),
    averaged over all elements, summed, or kept (``reduction``)."""
    x, target = _check_elementwise_loss("mse_loss", x, target, reduction)
    losses = resolve(strategy).mse_loss.mse_loss_forward(x.reshape(-1), target.reshape(-1))
    return _reduce(losses.reshape(x.shape), reduction, x.size)


def mse_loss_backward(x, target, reduction="mean", grad_out=None, *, strategy=None):
    """dL/dx of :func:`mse_loss`: ``2 (x - target)`` times dL/d(each element's loss)."""
    op = "mse_loss_backward"
    x, target = _check_elementwise_loss(op, x, target, reduction)
    grad_losses = _grad_losses(op, reduction, grad_out, x.shape, x.dtype, x.size)
    grad = resolve(strategy).mse_loss.mse_loss_backward(x.reshape(-1), target.reshape(-1),
                                                        grad_losses.reshape(-1))
    return grad.reshape(x.shape)


# --------------------------------------------------------------------------- BCE with logits


def _check_bce(op, x, target, weight, pos_weight, reduction):
    x, target = _check_elementwise_loss(op, x, target, reduction)
    weight = _broadcast(op, "weight", weight, x)
    pos_weight = _broadcast(op, "pos_weight", pos_weight, x)
    if pos_weight is None:
        pos_weight = np.ones(x.size, x.dtype)
    return x, target, weight, pos_weight


def binary_cross_entropy_with_logits(x, target, weight=None, pos_weight=None, reduction="mean",
                                     *, strategy=None):
    """Binary cross-entropy of ``sigmoid(x)`` against ``target`` (probabilities, any shape),
    computed from the logits ``x`` without overflow, as PyTorch:
    ``-(pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))`` per element, times
    ``weight``; both weights broadcast to x's shape (pos_weight usually has one value per
    class, the last axis)."""
    x, target, weight, pos_weight = _check_bce("binary_cross_entropy_with_logits", x, target,
                                               weight, pos_weight, reduction)
    losses = resolve(strategy).bce_with_logits.bce_with_logits_forward(
        x.reshape(-1), target.reshape(-1), pos_weight)
    if weight is not None:
        losses *= weight
    return _reduce(losses.reshape(x.shape), reduction, x.size)


def binary_cross_entropy_with_logits_backward(x, target, weight=None, pos_weight=None,
                                              reduction="mean", grad_out=None, *,
                                              strategy=None):
    """dL/dx of :func:`binary_cross_entropy_with_logits`:
    ``((1 - t) - (1 + (pos_weight - 1) t) sigmoid(-x)) * weight`` times dL/d(each loss)."""
    op = "binary_cross_entropy_with_logits_backward"
    x, target, weight, pos_weight = _check_bce(op, x, target, weight, pos_weight, reduction)
    grad_losses = _grad_losses(op, reduction, grad_out, x.shape, x.dtype, x.size).reshape(-1)
    if weight is not None:
        grad_losses = grad_losses * weight
    grad = resolve(strategy).bce_with_logits.bce_with_logits_backward(
        x.reshape(-1), target.reshape(-1), pos_weight, grad_losses)
    return grad.reshape(x.shape)
