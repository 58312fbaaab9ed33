"""Dropout layers: in train mode each forward draws a new mask from ``mint.manual_seed``'s
generator (so a seeded run repeats exactly) and keeps it for backward; in eval mode they return
their input unchanged."""

from mint import _checks as check
from mint import functional as F
from mint.functional.dropout import dropout_probability
from mint.nn.module import Module, repr_arguments


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the others by 1 / (1 - p) in train
    mode; the identity in eval mode. Any input shape."""

    independent_samples = True  # in eval mode: the identity

    function = staticmethod(F.dropout)

    def __init__(self, p=0.5, inplace=False, *, strategy=None):
        name = type(self).__name__
        self.p = dropout_probability(name, p)
        if check.boolean(name, "inplace", inplace):
            raise ValueError(
                f"{name}: inplace=True is not supported: Mint layers never overwrite their "
                "input array (the output is a new array); use inplace=False"
            )
        self.inplace = False
        self.strategy = check.strategy(name, strategy)

    def forward(self, x):
        if not self.training:
            return x
        out, mask = type(self).function(x, self.p, True, strategy=self.strategy)
        self.save_for_backward(out.shape, mask)
        return out

    def backward(self, grad_out):
        (mask,) = self.saved_for_backward(grad_out)
        return F.dropout_backward(grad_out, mask, self.p, strategy=self.strategy)

    def extra_repr(self):
        return repr_arguments(f"p={self.p}", f"inplace={self.inplace}", strategy=self.strategy)


class Dropout2d(Dropout):
    """Zero whole channels x[n, c] of an (N, C, H, W) input (or (N, C, L), as PyTorch reads a
    3-D input) with probability ``p`` and scale the others by 1 / (1 - p) in train mode; the
    identity in eval mode."""

    function = staticmethod(F.dropout2d)
