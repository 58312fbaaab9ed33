from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, heads, tokens, features per head): models.vit's self-attention on MNIST.
SHAPES = {"N=64 H=4 L=17 E=16": (64, 4, 17, 16)}


@prepared
def attention_calls(strategy, shape):
    q, k, v, grad_out = random_arrays(*(SHAPES[shape],) * 4)

    def forward():
        return F.scaled_dot_product_attention(q, k, v, strategy=strategy)

    def forward_backward():
        _, logsumexp, keep = forward()
        F.scaled_dot_product_attention_backward(grad_out, q, k, v, logsumexp, keep,
                                                strategy=strategy)

    return forward, forward_backward


class ScaledDotProductAttention(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = attention_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
