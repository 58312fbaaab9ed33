"""The spec of the linear layer's op."""

import numpy as np

from mint import functional as F
from mint.bench.specs.common import Inputs, OpSpec, _normal


def linear_inputs(shape, seed=0):
    """``(N, in_features, out_features)`` -> x, weight, bias."""
    n, c_in, c_out = shape
    rng = np.random.default_rng(seed)
    x, weight, bias = _normal(rng, (n, c_in)), _normal(rng, (c_out, c_in)), _normal(rng, (c_out,))
    return Inputs((x, weight, bias), (), _normal(rng, (n, c_out)))


SPECS = (
    OpSpec(
        "linear",
        shapes=((64, 3136, 128), (64, 128, 10)),
        label="N={} in={} out={}", inputs=linear_inputs,
        forward=F.linear,
        backward=lambda grad, x, weight, bias, out, strategy:
            F.linear_backward(grad, x, weight, strategy=strategy),
        torch="linear",
        flops=lambda grad, x, weight, bias: 2.0 * x.size * len(weight), backward_flops=2,
    ),
)
