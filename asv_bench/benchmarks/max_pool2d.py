from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, C, H=W, kernel, stride)
SHAPES = {
    "N=64 C=32 H=28 k=2 s=2": (64, 32, 28, 2, 2),
    "N=64 C=64 H=14 k=2 s=2": (64, 64, 14, 2, 2),
    "N=64 C=32 H=27 k=3 s=2": (64, 32, 27, 3, 2),
}


@prepared
def max_pool2d_calls(strategy, shape):
    n, c, size, k, stride = SHAPES.get(shape, shape)
    out_size = (size - k) // stride + 1
    x, grad_out = random_arrays((n, c, size, size), (n, c, out_size, out_size))

    def forward():
        F.max_pool2d(x, k, stride, strategy=strategy)

    def forward_backward():
        _, argmax = F.max_pool2d(x, k, stride, strategy=strategy)
        F.max_pool2d_backward(grad_out, argmax, x.shape, strategy=strategy)

    return forward, forward_backward


class MaxPool2d(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = max_pool2d_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
