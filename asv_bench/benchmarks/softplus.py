from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, C, H=W): the size of lenet's first activation.
SHAPES = {"N=64 C=32 H=28": (64, 32, 28)}


@prepared
def softplus_calls(strategy, shape):
    n, c, size = SHAPES[shape]
    x, grad_out = random_arrays((n, c, size, size), (n, c, size, size))

    def forward():
        F.softplus(x, strategy=strategy)

    def forward_backward():
        F.softplus(x, strategy=strategy)
        F.softplus_backward(grad_out, x, strategy=strategy)

    return forward, forward_backward


class Softplus(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = softplus_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
