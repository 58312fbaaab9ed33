"""Losses as modules: ``loss = fn(input, target)``, then ``fn.backward()``.

A loss returns a Python float (``reduction="mean"`` or ``"sum"``) or, with ``"none"``, the
array of per-sample (per-element) losses. ``backward(grad_out=None)`` returns dL/d(input):
``grad_out`` is dL/d(loss), 1 when omitted (the loss is where back-propagation starts); with
``"none"`` it is required, one value per loss, as ``loss.backward(gradient)`` in PyTorch.
Class weights are :class:`Buffer` s, under PyTorch's ``state_dict`` keys.
"""

from mint import _checks as check
from mint import functional as F
from mint.nn.module import Module, repr_arguments
from mint.nn.parameter import Buffer


class _Loss(Module):
    """``reduction`` and ``strategy``, checked; subclasses define forward and backward."""

    def __init__(self, reduction, strategy):
        name = type(self).__name__
        self.reduction = check.choice(name, "reduction", reduction, check.REDUCTIONS)
        self.strategy = check.strategy(name, strategy)

    def _weight(self, name, value):
        """``value`` (None or a float array) as a Buffer."""
        return None if value is None else Buffer(check.float_array(type(self).__name__, name,
                                                                   value))

    def extra_repr(self):
        reduction = "" if self.reduction == "mean" else f"reduction={self.reduction!r}"
        return repr_arguments(reduction, strategy=self.strategy)


def _data(buffer):
    return None if buffer is None else buffer.data


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, C) and integer targets (N,), with PyTorch's
    ``label_smoothing``: per sample ``-(1 - e) log p[t] - e / C sum_c log p[c]``.

    Fused with its softmax, which it keeps for :meth:`backward` (dL/dlogits).
    """

    def __init__(self, reduction="mean", *, label_smoothing=0.0, strategy=None):
        super().__init__(reduction, strategy)
        self.label_smoothing = check.real("CrossEntropyLoss", "label_smoothing",
                                          label_smoothing, 0.0)
        if self.label_smoothing > 1:
            raise ValueError("CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{self.label_smoothing}")

    def forward(self, logits, target):
        loss, probs = F.cross_entropy(logits, target, self.reduction, self.label_smoothing,
                                      strategy=self.strategy)
        self.save_for_backward(getattr(loss, "shape", ()), probs, target)
        return loss

    def backward(self, grad_out=None):
        probs, target = self.saved_for_backward()
        return F.cross_entropy_backward(probs, target, self.reduction, self.label_smoothing,
                                        grad_out, strategy=self.strategy)

    def extra_repr(self):
        smoothing = f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        return repr_arguments(super().extra_repr(), smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C) (``LogSoftmax(dim=1)``'s output)
    and integer targets (N,): per sample ``-weight[t] input[n, t]``; targets equal to
    ``ignore_index`` count for nothing, and the mean divides by the total weight of the rest."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", strategy=None):
        super().__init__(reduction, strategy)
        self.weight = self._weight("weight", weight)
        self.ignore_index = check.integer("NLLLoss", "ignore_index", ignore_index, -(2**63))

    def _arguments(self):
        return {"weight": _data(self.weight), "ignore_index": self.ignore_index,
                "reduction": self.reduction}

    def forward(self, log_probs, target):
        loss = F.nll_loss(log_probs, target, **self._arguments(), strategy=self.strategy)
        self.save_for_backward(getattr(loss, "shape", ()), log_probs, target)
        return loss

    def backward(self, grad_out=None):
        log_probs, target = self.saved_for_backward()
        return F.nll_loss_backward(log_probs, target, **self._arguments(), grad_out=grad_out,
                                   strategy=self.strategy)

    def extra_repr(self):
        ignore = "" if self.ignore_index == -100 else f"ignore_index={self.ignore_index}"
        return repr_arguments(ignore, super().extra_repr())


class MSELoss(_Loss):
    """Mean (sum, or array) of the squared errors ``(input - target)^2``, any shape."""

    def __init__(self, *, reduction="mean", strategy=None):
        super().__init__(reduction, strategy)

    def forward(self, x, target):
        loss = F.mse_loss(x, target, self.reduction, strategy=self.strategy)
        self.save_for_backward(getattr(loss, "shape", ()), x, target)
        return loss

    def backward(self, grad_out=None):
        x, target = self.saved_for_backward()
        return F.mse_loss_backward(x, target, self.reduction, grad_out, strategy=self.strategy)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)`` against probabilities ``target`` (any shape),
    computed from the logits without overflow; ``weight`` rescales each element's loss and
    ``pos_weight`` the positive term (both broadcast to the input; pos_weight usually has one
    value per class)."""

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None, strategy=None):
        super().__init__(reduction, strategy)
        self.weight = self._weight("weight", weight)
        self.pos_weight = self._weight("pos_weight", pos_weight)

    def _arguments(self):
        return {"weight": _data(self.weight), "pos_weight": _data(self.pos_weight),
                "reduction": self.reduction}

    def forward(self, x, target):
        loss = F.binary_cross_entropy_with_logits(x, target, **self._arguments(),
                                                  strategy=self.strategy)
        self.save_for_backward(getattr(loss, "shape", ()), x, target)
        return loss

    def backward(self, grad_out=None):
        x, target = self.saved_for_backward()
        return F.binary_cross_entropy_with_logits_backward(
            x, target, **self._arguments(), grad_out=grad_out, strategy=self.strategy)
