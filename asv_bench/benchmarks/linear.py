from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, in_features, out_features): lenet's hidden and output layers.
SHAPES = {
    "N=64 in=3136 out=128": (64, 3136, 128),
    "N=64 in=128 out=10": (64, 128, 10),
}


@prepared
def linear_calls(strategy, shape):
    n, c_in, c_out = SHAPES.get(shape, shape)
    x, weight, bias, grad_out = random_arrays((n, c_in), (c_out, c_in), (c_out,), (n, c_out))

    def forward():
        F.linear(x, weight, bias, strategy=strategy)

    def forward_backward():
        F.linear(x, weight, bias, strategy=strategy)
        F.linear_backward(grad_out, x, weight, strategy=strategy)

    return forward, forward_backward


class Linear(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = linear_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
