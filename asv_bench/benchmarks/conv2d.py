from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, C_in, C_out, H=W, kernel, stride, padding): the layers of a LeNet-sized network.
SHAPES = {
    "N=64 Cin=1 Cout=32 H=28 k=3 s=1 p=1": (64, 1, 32, 28, 3, 1, 1),
    "N=64 Cin=32 Cout=64 H=14 k=3 s=1 p=1": (64, 32, 64, 14, 3, 1, 1),
    "N=64 Cin=32 Cout=64 H=26 k=3 s=1 p=0": (64, 32, 64, 26, 3, 1, 0),
    "N=64 Cin=64 Cout=128 H=16 k=3 s=2 p=1": (64, 64, 128, 16, 3, 2, 1),
}


def convolution_calls(strategy, n, c_in, c_out, size, k, stride, padding, with_bias=True):
    """``forward`` and ``forward_backward`` of one convolution of seeded arrays (without a bias
    when not ``with_bias``)."""
    x, weight, bias = random_arrays((n, c_in, size, size), (c_out, c_in, k, k), (c_out,))
    bias = bias if with_bias else None
    out_shape = F.conv2d(x, weight, bias, stride, padding, strategy=strategy).shape
    (grad_out,) = random_arrays(out_shape, seed=1)

    def forward():
        F.conv2d(x, weight, bias, stride, padding, strategy=strategy)

    def forward_backward():
        F.conv2d(x, weight, bias, stride, padding, strategy=strategy)
        F.conv2d_backward(grad_out, x, weight, stride, padding, strategy=strategy)

    return forward, forward_backward


@prepared
def conv2d_calls(strategy, shape):
    return convolution_calls(strategy, *SHAPES.get(shape, shape))


class Conv2d(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = conv2d_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
