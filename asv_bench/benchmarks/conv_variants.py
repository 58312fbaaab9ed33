from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, C_in, C_out, H=W, kernel, stride, padding, groups, transposed).
SHAPES = {
    "depthwise N=64 C=32 H=14 k=3 p=1 g=32": (64, 32, 32, 14, 3, 1, 1, 32, False),
    "grouped N=64 Cin=64 Cout=64 H=14 k=3 p=1 g=4": (64, 64, 64, 14, 3, 1, 1, 4, False),
    "transposed N=64 Cin=64 Cout=32 H=7 k=4 s=2 p=1": (64, 64, 32, 7, 4, 2, 1, 1, True),
}


@prepared
def conv_variant_calls(strategy, shape):
    n, c_in, c_out, size, k, stride, padding, groups, transposed = SHAPES[shape]
    weight_shape = (c_in, c_out // groups, k, k) if transposed else (c_out, c_in // groups, k, k)
    x, weight, bias = random_arrays((n, c_in, size, size), weight_shape, (c_out,))
    if transposed:
        def forward():
            return F.conv_transpose2d(x, weight, bias, stride, padding, strategy=strategy)

        def backward(grad_out):
            F.conv_transpose2d_backward(grad_out, x, weight, stride, padding, strategy=strategy)
    else:
        def forward():
            return F.conv2d(x, weight, bias, stride, padding, groups=groups, strategy=strategy)

        def backward(grad_out):
            F.conv2d_backward(grad_out, x, weight, stride, padding, groups=groups,
                              strategy=strategy)
    (grad_out,) = random_arrays(forward().shape, seed=1)

    def forward_backward():
        forward()
        backward(grad_out)

    return forward, forward_backward


class ConvVariants(Benchmark):
    """Grouped, depthwise and transposed convolutions, on the convolution's kernels."""

    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = conv_variant_calls(strategy, shape)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
