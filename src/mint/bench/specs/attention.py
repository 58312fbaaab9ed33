"""The spec of scaled dot-product attention at the shapes of models.vit on MNIST."""

import numpy as np

from mint import functional as F
from mint.bench.specs.common import Inputs, OpSpec, _normal


def attention_inputs(shape, seed=0):
    """``(N, L, E, H)`` -> query, key, value (N, H, L, E / H): the heads of a self-attention
    layer of width E over L tokens; a grad_out of the output's shape."""
    n, tokens, width, heads = shape
    rng = np.random.default_rng(seed)
    q, k, v, grad_out = (_normal(rng, (n, heads, tokens, width // heads)) for _ in range(4))
    return Inputs((q, k, v), (), grad_out)


def _attention_flops(grad, q, k, v):
    """Scores and weighted sum: two products of 2 L S E FLOPs per (sample, head)."""
    return 4 * q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2] * q.shape[3]


SPECS = (
    OpSpec(
        "attention",
        shapes=((64, 17, 64, 4),),  # models.vit on MNIST: 16 patches and the class token
        label="N={} L={} E={} H={}", inputs=attention_inputs,
        forward=F.scaled_dot_product_attention,
        backward=lambda grad, q, k, v, out, strategy: F.scaled_dot_product_attention_backward(
            grad, q, k, v, out[1], out[2], strategy=strategy),
        torch="scaled_dot_product_attention", flops=_attention_flops,
        backward_flops=2.0,  # the scores again, and four products of the same size
    ),
)
