"""The specs of the poolings: max_pool2d, avg_pool2d, adaptive_avg_pool2d."""

import numpy as np

from mint import functional as F
from mint.bench.specs.common import Inputs, OpSpec, _normal


def max_pool2d_inputs(shape, seed=0):
    """``(N, C, H=W, kernel, stride)`` -> x; kernel, stride."""
    n, c, size, k, stride = shape
    rng = np.random.default_rng(seed)
    out = (size - k) // stride + 1
    return Inputs((_normal(rng, (n, c, size, size)),), (k, stride), _normal(rng, (n, c, out, out)))


def avg_pool2d_inputs(shape, seed=0):
    """``(N, C, H=W, kernel, stride)`` -> x; kernel, stride."""
    n, c, size, k, stride = shape
    rng = np.random.default_rng(seed)
    out = (size - k) // stride + 1
    return Inputs((_normal(rng, (n, c, size, size)),), (k, stride), _normal(rng, (n, c, out, out)))


def adaptive_avg_pool2d_inputs(shape, seed=0):
    """``(N, C, H=W, output size)`` -> x; output_size."""
    n, c, size, out = shape
    rng = np.random.default_rng(seed)
    return Inputs((_normal(rng, (n, c, size, size)),), (out,), _normal(rng, (n, c, out, out)))


SPECS = (
    OpSpec(
        "max_pool2d",
        shapes=((64, 32, 28, 2, 2), (64, 64, 14, 2, 2), (64, 32, 27, 3, 2)),
        label="N={} C={} H={} k={} s={}", inputs=max_pool2d_inputs,
        forward=F.max_pool2d,
        backward=lambda grad, x, k, stride, out, strategy:
            F.max_pool2d_backward(grad, out[1], x.shape, strategy=strategy),
        torch="max_pool2d",
        # comparisons: one per output element and window position; backward only scatters
        flops=lambda grad, x, k, stride: float(grad.size * k * k),
    ),
    OpSpec(
        "avg_pool2d",
        shapes=((64, 32, 28, 2, 2), (64, 64, 16, 3, 1)),
        label="N={} C={} H={} k={} s={}", inputs=avg_pool2d_inputs,
        forward=F.avg_pool2d,
        backward=lambda grad, x, k, stride, out, strategy:
            F.avg_pool2d_backward(grad, x.shape, k, stride, strategy=strategy),
        torch="avg_pool2d",
        # additions: one per output element and window position; backward as many
        flops=lambda grad, x, k, stride: float(grad.size * k * k), backward_flops=1,
    ),
    OpSpec(
        "adaptive_avg_pool2d",
        # global average pooling at the end of a small ResNet, and a non-dividing 7 -> 3
        shapes=((64, 64, 7, 1), (64, 128, 8, 1), (64, 64, 7, 3)),
        label="N={} C={} H={} out={}", inputs=adaptive_avg_pool2d_inputs,
        forward=F.adaptive_avg_pool2d,
        backward=lambda grad, x, output_size, out, strategy:
            F.adaptive_avg_pool2d_backward(grad, x.shape, output_size, strategy=strategy),
        torch="adaptive_avg_pool2d",
    ),
)
