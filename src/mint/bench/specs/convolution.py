"""The specs of the convolutions: conv2d (LeNet's and ResNet-18's shapes), grouped and
depthwise conv2d, conv_transpose2d."""

import numpy as np

from mint import functional as F
from mint.bench.specs.common import Inputs, OpSpec, _normal


def _conv2d_arrays(n, c_in, c_out, size, k, stride, padding, groups, seed):
    """Seeded x, weight (scaled by 1/sqrt(fan-in)), bias and grad_out of one convolution."""
    rng = np.random.default_rng(seed)
    x = _normal(rng, (n, c_in, size, size))
    weight = _normal(rng, (c_out, c_in // groups, k, k)) / np.float32(
        np.sqrt(c_in // groups * k * k))
    bias = _normal(rng, (c_out,))
    out_shape = F.conv2d_output_shape(x.shape, weight.shape, (stride,) * 2, (padding,) * 2,
                                      (1, 1))
    return x, weight, bias, _normal(rng, out_shape)


def conv2d_inputs(shape, seed=0):
    """``(N, C_in, C_out, H=W, kernel, stride, padding)`` -> x, weight, bias; stride, padding."""
    *arrays, grad_out = _conv2d_arrays(*shape, groups=1, seed=seed)
    return Inputs(tuple(arrays), shape[5:], grad_out)


def grouped_conv2d_inputs(shape, seed=0):
    """``(N, C_in, C_out, H=W, kernel, stride, padding, groups)`` -> x, weight, bias; stride,
    padding, dilation 1, groups."""
    *arrays, grad_out = _conv2d_arrays(*shape, seed=seed)
    stride, padding, groups = shape[5:]
    return Inputs(tuple(arrays), (stride, padding, 1, groups), grad_out)


def conv_transpose2d_inputs(shape, seed=0):
    """``(N, C_in, C_out, H=W, kernel, stride, padding, output_padding)`` -> x, weight, bias;
    stride, padding, output_padding."""
    n, c_in, c_out, size, k, stride, padding, output_padding = shape
    rng = np.random.default_rng(seed)
    x = _normal(rng, (n, c_in, size, size))
    weight = _normal(rng, (c_in, c_out, k, k)) / np.float32(np.sqrt(c_in * k * k))
    out_shape = F.conv_transpose2d_output_shape(x.shape, weight.shape, (stride,) * 2,
                                                (padding,) * 2, (output_padding,) * 2, 1, (1, 1))
    return Inputs((x, weight, _normal(rng, (c_out,))), (stride, padding, output_padding),
                  _normal(rng, out_shape))


def _conv2d_flops(grad, x, weight, *_):
    """One multiply-add per output element and filter weight (a backward: two such products)."""
    return 2.0 * grad.size * weight[0].size


def _conv2d_spec(name, shapes):
    """The spec of :func:`mint.functional.conv2d` on ``shapes`` (N, C_in, C_out, H=W, kernel,
    stride, padding)."""
    return OpSpec(
        name, shapes=shapes, label="N={} Cin={} Cout={} H={} k={} s={} p={}",
        inputs=conv2d_inputs, forward=F.conv2d,
        backward=lambda grad, x, weight, bias, stride, padding, out, strategy:
            F.conv2d_backward(grad, x, weight, stride, padding, strategy=strategy),
        torch="conv2d", flops=_conv2d_flops, backward_flops=2,
    )


SPECS = (
    # the convolutions of a LeNet-sized network on MNIST
    _conv2d_spec("conv2d", ((64, 1, 32, 28, 3, 1, 1), (64, 32, 64, 14, 3, 1, 1),
                            (64, 32, 64, 26, 3, 1, 0), (64, 64, 128, 16, 3, 2, 1))),
    # ResNet-18's convolutions on 224 x 224 images, batch 8: the 7x7 stride-2 stem, the 3x3 of
    # each stage (many channels on small maps), a 3x3 stride 2 and a 1x1 shortcut
    _conv2d_spec("conv2d_resnet18", ((8, 3, 64, 224, 7, 2, 3), (8, 64, 64, 56, 3, 1, 1),
                                     (8, 128, 128, 28, 3, 1, 1), (8, 256, 256, 14, 3, 1, 1),
                                     (8, 512, 512, 7, 3, 1, 1), (8, 128, 256, 28, 3, 2, 1),
                                     (8, 256, 512, 14, 1, 2, 0))),
    OpSpec(
        "conv2d_groups",
        # depthwise (groups = C_in, a MobileNet block's 3x3 on lenet's second maps), and 4 groups
        shapes=((64, 32, 32, 14, 3, 1, 1, 32), (64, 64, 64, 14, 3, 1, 1, 4)),
        label="N={} Cin={} Cout={} H={} k={} s={} p={} groups={}", inputs=grouped_conv2d_inputs,
        forward=F.conv2d,
        backward=lambda grad, x, weight, bias, stride, padding, dilation, groups, out, strategy:
            F.conv2d_backward(grad, x, weight, stride, padding, dilation, groups,
                              strategy=strategy),
        torch="conv2d",
        flops=_conv2d_flops, backward_flops=2,
    ),
    OpSpec(
        "conv_transpose2d",
        # a decoder's upsampling to MNIST's 14 x 14 and 28 x 28 maps
        shapes=((64, 64, 32, 7, 4, 2, 1, 0), (64, 32, 16, 14, 3, 2, 1, 1)),
        label="N={} Cin={} Cout={} H={} k={} s={} p={} op={}", inputs=conv_transpose2d_inputs,
        forward=F.conv_transpose2d,
        backward=lambda grad, x, weight, bias, stride, padding, output_padding, out, strategy:
            F.conv_transpose2d_backward(grad, x, weight, stride, padding, output_padding,
                                        strategy=strategy),
        torch="conv_transpose2d",
        # one multiply-add per input element and weight of its row (some land in the padding)
        flops=lambda grad, x, weight, *_: 2.0 * x.size * weight[0].size, backward_flops=2,
    ),
)
