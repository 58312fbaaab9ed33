"""The specs of the activations: softplus, GELU, SiLU (elementwise) and softmax (along an axis)."""

import numpy as np

from mint import functional as F
from mint.bench.specs.common import Inputs, OpSpec, _normal


def elementwise_inputs(shape, seed=0):
    """``(N, C, H=W)`` -> x; a grad_out of the same shape."""
    n, c, size = shape
    rng = np.random.default_rng(seed)
    return Inputs((_normal(rng, (n, c, size, size)),), (), _normal(rng, (n, c, size, size)))


def softmax_inputs(shape, seed=0):
    """``(N, C, H=W, dim)`` -> x (N, C, H, W), or (N, C) when H is 0; dim."""
    n, c, size, dim = shape
    rng = np.random.default_rng(seed)
    x_shape = (n, c, size, size) if size else (n, c)
    return Inputs((_normal(rng, x_shape),), (dim,), _normal(rng, x_shape))


def _elementwise_spec(name, forward, backward):
    """The spec of the elementwise ``forward`` (PyTorch's ``torch.nn.functional.<name>``), whose
    backward takes ``(grad_out, x)``, at the size of lenet's first activation."""
    return OpSpec(
        name, shapes=((64, 32, 28),), label="N={} C={} H={}", inputs=elementwise_inputs,
        forward=forward,
        backward=lambda grad, x, out, strategy: backward(grad, x, strategy=strategy),
        torch=name,
    )


SPECS = (
    _elementwise_spec("softplus", F.softplus, F.softplus_backward),
    _elementwise_spec("gelu", F.gelu, F.gelu_backward),  # the exact GELU (erf)
    _elementwise_spec("silu", F.silu, F.silu_backward),
    OpSpec(
        "softmax",
        # a classifier's last axis, and the channels of a feature map (a strided axis)
        shapes=((512, 1000, 0, 1), (64, 32, 28, 1)),
        label="N={} C={} H={} dim={}", inputs=softmax_inputs,
        forward=F.softmax,
        backward=lambda grad, x, dim, out, strategy:
            F.softmax_backward(grad, out, dim, strategy=strategy),
        torch="softmax",
    ),
)
