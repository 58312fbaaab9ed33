"""Softmax cross-entropy as a module: ``loss = fn(logits, target)``, then ``fn.backward()``."""

from mint import _checks as check
from mint import functional as F
from mint.nn.module import Module, repr_arguments


class CrossEntropyLoss(Module):
    """Mean (or sum) over the batch of ``-log softmax(logits)[n, target[n]]``.

    Calling it with logits (N, C) and integer targets (N,) returns the loss as a Python float and
    keeps the softmax; :meth:`backward` (no argument: the loss is where back-propagation starts)
    returns dL/dlogits.
    """

    def __init__(self, reduction="mean", *, strategy=None):
        self.reduction = check.choice("CrossEntropyLoss", "reduction", reduction,
                                      check.REDUCTIONS)
        self.strategy = check.strategy("CrossEntropyLoss", strategy)

    def forward(self, logits, target):
        loss, probs = F.cross_entropy(logits, target, self.reduction, strategy=self.strategy)
        self.save_for_backward((), probs, target)
        return loss

    def backward(self):
        probs, target = self.saved_for_backward()
        return F.cross_entropy_backward(probs, target, self.reduction, strategy=self.strategy)

    def extra_repr(self):
        reduction = "" if self.reduction == "mean" else f"reduction={self.reduction!r}"
        return repr_arguments(reduction, strategy=self.strategy)
