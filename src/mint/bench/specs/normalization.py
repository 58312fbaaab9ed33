"""The spec of batch normalisation in training mode."""

import numpy as np

from mint import functional as F
from mint.bench.specs.common import Inputs, OpSpec, _normal


def batch_norm_inputs(shape, seed=0):
    """``(N, C, H=W)`` -> x; running mean and variance (updated in place, as a layer in training
    does), weight, bias, training=True; a grad_out of x's shape."""
    n, c, size = shape
    rng = np.random.default_rng(seed)
    x, grad_out = _normal(rng, (n, c, size, size)), _normal(rng, (n, c, size, size))
    running = (np.zeros(c, np.float32), np.ones(c, np.float32))
    return Inputs((x,), (*running, _normal(rng, (c,)), _normal(rng, (c,)), True), grad_out)


SPECS = (
    OpSpec(
        "batch_norm",
        shapes=((64, 32, 28), (64, 64, 14)),  # after lenet-sized convolutions
        label="N={} C={} H={}", inputs=batch_norm_inputs,
        forward=F.batch_norm,
        # The input gradient, as PyTorch computes for x alone; Mint's backward also returns
        # the weight and bias gradients, whose sums the input gradient needs anyway.
        backward=lambda grad, x, running_mean, running_var, weight, bias, training, out, strategy:
            F.batch_norm_backward(grad, x, out[1], out[2], weight, strategy=strategy)[0],
        torch="batch_norm",
    ),
)
