from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, C, H=W, kernel, stride); kernel 0 is global average pooling (adaptive, output 1).
SHAPES = {
    "N=64 C=32 H=28 k=2 s=2": (64, 32, 28, 2, 2),
    "N=64 C=64 H=7 global": (64, 64, 7, 0, 0),
}


@prepared
def avg_pool2d_calls(strategy, shape):
    n, c, size, k, stride = SHAPES.get(shape, shape)
    (x,) = random_arrays((n, c, size, size))
    if k == 0:
        def pool():
            return F.adaptive_avg_pool2d(x, 1, strategy=strategy)

        def pool_backward(grad_out):
            F.adaptive_avg_pool2d_backward(grad_out, x.shape, 1, strategy=strategy)
    else:
        def pool():
            return F.avg_pool2d(x, k, stride, strategy=strategy)

        def pool_backward(grad_out):
            F.avg_pool2d_backward(grad_out, x.shape, k, stride, strategy=strategy)
    (grad_out,) = random_arrays(pool().shape, seed=1)

    def forward_backward():
        pool()
        pool_backward(grad_out)

    return pool, forward_backward


class AvgPool2d(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = avg_pool2d_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
