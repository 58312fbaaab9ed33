"""The spec of the cross-entropy loss (forward and backward together)."""

import numpy as np

from mint import functional as F
from mint.bench.specs.common import Inputs, OpSpec, _normal


def cross_entropy_inputs(shape, seed=0):
    """``(N, classes)`` -> logits (float32); target (int64)."""
    n, classes = shape
    rng = np.random.default_rng(seed)
    return Inputs((_normal(rng, (n, classes)),), (rng.integers(0, classes, n),), None)


SPECS = (
    OpSpec(
        "cross_entropy",
        shapes=((64, 10), (512, 1000)),
        label="N={} C={}", inputs=cross_entropy_inputs,
        forward=F.cross_entropy,
        backward=lambda grad, logits, target, out, strategy:
            F.cross_entropy_backward(out[1], target, strategy=strategy),
        torch="cross_entropy",
        directions=("forward+backward",),
    ),
)
