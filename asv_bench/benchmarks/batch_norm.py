import numpy as np

from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, C, H=W): after lenet-sized convolutions.
SHAPES = {"N=64 C=32 H=28": (64, 32, 28), "N=64 C=64 H=14": (64, 64, 14)}


@prepared
def batch_norm_calls(strategy, shape):
    """Training mode: batch statistics, running statistics updated in place, as a layer does."""
    n, c, size = SHAPES.get(shape, shape)
    x, grad_out, weight, bias = random_arrays((n, c, size, size), (n, c, size, size), (c,), (c,))
    running_mean, running_var = np.zeros(c, np.float32), np.ones(c, np.float32)

    def forward():
        return F.batch_norm(x, running_mean, running_var, weight, bias, training=True,
                            strategy=strategy)

    def forward_backward():
        _, mean, invstd = forward()
        F.batch_norm_backward(grad_out, x, mean, invstd, weight, strategy=strategy)

    return forward, forward_backward


class BatchNorm(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = batch_norm_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
