"""The benchmark cases: one spec per op (shapes, inputs, Mint call, PyTorch reference, FLOPs).

``mint bench`` times the cases built here. Each :class:`Case` turns a strategy name into a
zero-argument callable. To time a new op, write its seeded inputs builder and add one
:class:`OpSpec` to ``SPECS``: ``mint bench --ops`` and its table, JSON and plot pick it up.
A whole network (a training step) is a :class:`ModelSpec` over ``NETWORKS``.
"""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np

import mint
from mint import functional as F
from mint import models

MINT_STRATEGIES = tuple(mint.STRATEGIES)
# "torch": PyTorch eager with its default (contiguous NCHW) tensors; "torch-cl": the same with
# every 4-D tensor (images, activations, convolution weights) in torch.channels_last, the layout a
# performance-minded user picks for CPU convolutions. Tensors of other ranks have no channels-last
# layout: for ops on them (linear, cross_entropy) "torch-cl" times exactly what "torch" times.
TORCH_STRATEGIES = ("torch", "torch-cl")
ALL_STRATEGIES = (*MINT_STRATEGIES, *TORCH_STRATEGIES)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Case:
    """One timed piece of work: ``make(strategy)`` returns the callable to time."""

    op: str
    direction: str  # "forward" or "forward+backward" ("step" for a training step)
    shape: str
    flops: float | None  # floating-point operations per call, None where not meaningful
    items: int  # images per call, for images/s
    make: Callable[[str], Callable[[], object]]


# ------------------------------------------------------------------------------------------ ops


class Inputs(NamedTuple):
    """The seeded arguments of one op call, in the order Mint's and PyTorch's functional take
    them: ``op(*arrays, *args)``; ``grad_out`` (the output's shape) is what backward receives."""

    arrays: tuple  # the arrays backward differentiates (in PyTorch: tensors requiring grad)
    args: tuple  # the other arguments: stride, padding, ..., or arrays such as class targets
    grad_out: np.ndarray | None  # None when the op returns a scalar (a loss)


@dataclass(frozen=True)
class OpSpec:
    """How to time one op of ``mint.functional`` against its ``torch.nn.functional`` twin.

    ``inputs(shape, seed=0)`` builds the seeded :class:`Inputs` of one entry of ``shapes``
    (each starts with the batch size N); ``label`` formats a shape for the table. The Mint
    forward is called ``forward(*arrays, *args, strategy=s)``, the backward
    ``backward(grad_out, *arrays, *args, out=out, strategy=s)`` with ``out`` what forward returned,
    and ``flops(grad_out, *arrays, *args)`` counts one forward call's floating-point operations;
    a backward costs ``backward_flops`` forwards.
    """

    name: str
    shapes: tuple[tuple, ...]
    label: str
    inputs: Callable[..., Inputs]
    forward: Callable
    backward: Callable
    torch: str  # the reference's name in torch.nn.functional, called like ``forward``
    flops: Callable[..., float] | None = None
    backward_flops: float = 0.0
    directions: tuple[str, ...] = ("forward", "forward+backward")

    def cases(self, shapes=None):
        """The cases of ``shapes`` (default: all of this op's), each direction in turn."""
        return [case for shape in (self.shapes if shapes is None else shapes)
                for case in self._cases(shape)]

    def _cases(self, shape):
        inputs = self.inputs(shape)
        once = self.flops and self.flops(inputs.grad_out, *inputs.arrays, *inputs.args)
        flops = {"forward": once, "forward+backward": once and (1 + self.backward_flops) * once}
        return [Case(self.name, direction, self.label.format(*shape), flops[direction], shape[0],
                     _either(partial(self._mint, inputs, direction),
                             partial(_torch_op, self.torch, inputs, direction)))
                for direction in self.directions]

    def _mint(self, inputs, direction, strategy):
        arrays, args, grad_out = inputs
        # partial binds the arguments once: a timed call costs what the op's own call costs
        forward = partial(self.forward, *arrays, *args, strategy=strategy)
        if direction == "forward":
            return forward
        backward = partial(self.backward, grad_out, *arrays, *args, strategy=strategy)
        return lambda: backward(out=forward())


def _either(mint_make, torch_make):
    """``make(strategy)`` of a Case: PyTorch's callable for a torch strategy, else Mint's; both
    builders take the strategy."""
    return lambda strategy: (torch_make if strategy in TORCH_STRATEGIES else mint_make)(strategy)


def torch_tensor(array, strategy):
    """A copy of ``array`` as a tensor, in channels-last memory for "torch-cl" when it is 4-D."""
    import torch

    tensor = torch.from_numpy(array.copy())
    if strategy == "torch-cl" and tensor.dim() == 4:
        return tensor.contiguous(memory_format=torch.channels_last)
    return tensor


def _torch_op(name, inputs, direction, strategy):
    """``torch.nn.functional.<name>(*arrays, *args)`` as a callable: without autograd for the
    forward, else back-propagating ``grad_out`` to every one of ``arrays``; the 4-D arrays in
    the layout of ``strategy`` (see :func:`torch_tensor`)."""
    import torch

    function = getattr(torch.nn.functional, name)
    arrays, args, grad_out = inputs
    backward = direction != "forward"
    tensors = [torch_tensor(a, strategy).requires_grad_(backward) for a in arrays]
    args = [torch_tensor(a, strategy) if isinstance(a, np.ndarray) else a for a in args]
    if backward:
        grad = None if grad_out is None else torch_tensor(grad_out, strategy)
        return lambda: function(*tensors, *args).backward(grad)

    def forward():
        with torch.no_grad():
            return function(*tensors, *args)
    return forward


def _normal(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


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


def max_pool2d_inputs(shape, seed=0):
    """``(N, C, H=W, kernel, stride)`` -> x; kernel, stride."""
    n, c, size, k, stride = shape
    rng = np.random.default_rng(seed)
    out = (size - k) // stride + 1
    return Inputs((_normal(rng, (n, c, size, size)),), (k, stride), _normal(rng, (n, c, out, out)))


def avg_pool2d_inputs(shape, seed=0):
    """``(N, C, H=W, kernel, stride)`` -> x; kernel, stride."""
    n, c, size, k, stride = shape
    rng = np.random.default_rng(seed)
    out = (size - k) // stride + 1
    return Inputs((_normal(rng, (n, c, size, size)),), (k, stride), _normal(rng, (n, c, out, out)))


def adaptive_avg_pool2d_inputs(shape, seed=0):
    """``(N, C, H=W, output size)`` -> x; output_size."""
    n, c, size, out = shape
    rng = np.random.default_rng(seed)
    return Inputs((_normal(rng, (n, c, size, size)),), (out,), _normal(rng, (n, c, out, out)))


def linear_inputs(shape, seed=0):
    """``(N, in_features, out_features)`` -> x, weight, bias."""
    n, c_in, c_out = shape
    rng = np.random.default_rng(seed)
    x, weight, bias = _normal(rng, (n, c_in)), _normal(rng, (c_out, c_in)), _normal(rng, (c_out,))
    return Inputs((x, weight, bias), (), _normal(rng, (n, c_out)))


def cross_entropy_inputs(shape, seed=0):
    """``(N, classes)`` -> logits (float32); target (int64)."""
    n, classes = shape
    rng = np.random.default_rng(seed)
    return Inputs((_normal(rng, (n, classes)),), (rng.integers(0, classes, n),), None)


def elementwise_inputs(shape, seed=0):
    """``(N, C, H=W)`` -> x; a grad_out of the same shape."""
    n, c, size = shape
    rng = np.random.default_rng(seed)
    return Inputs((_normal(rng, (n, c, size, size)),), (), _normal(rng, (n, c, size, size)))


def softmax_inputs(shape, seed=0):
    """``(N, C, H=W, dim)`` -> x (N, C, H, W), or (N, C) when H is 0; dim."""
    n, c, size, dim = shape
    rng = np.random.default_rng(seed)
    x_shape = (n, c, size, size) if size else (n, c)
    return Inputs((_normal(rng, x_shape),), (dim,), _normal(rng, x_shape))


def batch_norm_inputs(shape, seed=0):
    """``(N, C, H=W)`` -> x; running mean and variance (updated in place, as a layer in training
    does), weight, bias, training=True; a grad_out of x's shape."""
    n, c, size = shape
    rng = np.random.default_rng(seed)
    x, grad_out = _normal(rng, (n, c, size, size)), _normal(rng, (n, c, size, size))
    running = (np.zeros(c, np.float32), np.ones(c, np.float32))
    return Inputs((x,), (*running, _normal(rng, (c,)), _normal(rng, (c,)), True), grad_out)


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


OP_SPECS = (
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
    OpSpec(
        "max_pool2d",
        shapes=((64, 32, 28, 2, 2), (64, 64, 14, 2, 2), (64, 32, 27, 3, 2)),
        label="N={} C={} H={} k={} s={}", inputs=max_pool2d_inputs,
        forward=F.max_pool2d,
        backward=lambda grad, x, k, stride, out, strategy:
            F.max_pool2d_backward(grad, out[1], x.shape, strategy=strategy),
        torch="max_pool2d",
        # comparisons: one per output element and window position; backward only scatters
        flops=lambda grad, x, k, stride: float(grad.size * k * k),
    ),
    OpSpec(
        "avg_pool2d",
        shapes=((64, 32, 28, 2, 2), (64, 64, 16, 3, 1)),
        label="N={} C={} H={} k={} s={}", inputs=avg_pool2d_inputs,
        forward=F.avg_pool2d,
        backward=lambda grad, x, k, stride, out, strategy:
            F.avg_pool2d_backward(grad, x.shape, k, stride, strategy=strategy),
        torch="avg_pool2d",
        # additions: one per output element and window position; backward as many
        flops=lambda grad, x, k, stride: float(grad.size * k * k), backward_flops=1,
    ),
    OpSpec(
        "adaptive_avg_pool2d",
        # global average pooling at the end of a small ResNet, and a non-dividing 7 -> 3
        shapes=((64, 64, 7, 1), (64, 128, 8, 1), (64, 64, 7, 3)),
        label="N={} C={} H={} out={}", inputs=adaptive_avg_pool2d_inputs,
        forward=F.adaptive_avg_pool2d,
        backward=lambda grad, x, output_size, out, strategy:
            F.adaptive_avg_pool2d_backward(grad, x.shape, output_size, strategy=strategy),
        torch="adaptive_avg_pool2d",
    ),
    OpSpec(
        "linear",
        shapes=((64, 3136, 128), (64, 128, 10)),
        label="N={} in={} out={}", inputs=linear_inputs,
        forward=F.linear,
        backward=lambda grad, x, weight, bias, out, strategy:
            F.linear_backward(grad, x, weight, strategy=strategy),
        torch="linear",
        flops=lambda grad, x, weight, bias: 2.0 * x.size * len(weight), backward_flops=2,
    ),
    OpSpec(
        "cross_entropy",
        shapes=((64, 10), (512, 1000)),
        label="N={} C={}", inputs=cross_entropy_inputs,
        forward=F.cross_entropy,
        backward=lambda grad, logits, target, out, strategy:
            F.cross_entropy_backward(out[1], target, strategy=strategy),
        torch="cross_entropy",
        directions=("forward+backward",),
    ),
    OpSpec(
        "softplus",
        shapes=((64, 32, 28),),  # the size of lenet's first activation
        label="N={} C={} H={}", inputs=elementwise_inputs,
        forward=F.softplus,
        backward=lambda grad, x, out, strategy: F.softplus_backward(grad, x, strategy=strategy),
        torch="softplus",
    ),
    OpSpec(
        "gelu",
        shapes=((64, 32, 28),),  # exact GELU (erf), at lenet's first activation size
        label="N={} C={} H={}", inputs=elementwise_inputs,
        forward=F.gelu,
        backward=lambda grad, x, out, strategy: F.gelu_backward(grad, x, strategy=strategy),
        torch="gelu",
    ),
    OpSpec(
        "silu",
        shapes=((64, 32, 28),),
        label="N={} C={} H={}", inputs=elementwise_inputs,
        forward=F.silu,
        backward=lambda grad, x, out, strategy: F.silu_backward(grad, x, strategy=strategy),
        torch="silu",
    ),
    OpSpec(
        "softmax",
        # a classifier's last axis, and the channels of a feature map (a strided axis)
        shapes=((512, 1000, 0, 1), (64, 32, 28, 1)),
        label="N={} C={} H={} dim={}", inputs=softmax_inputs,
        forward=F.softmax,
        backward=lambda grad, x, dim, out, strategy:
            F.softmax_backward(grad, out, dim, strategy=strategy),
        torch="softmax",
    ),
    OpSpec(
        "batch_norm",
        shapes=((64, 32, 28), (64, 64, 14)),  # after lenet-sized convolutions
        label="N={} C={} H={}", inputs=batch_norm_inputs,
        forward=F.batch_norm,
        # The input gradient, as PyTorch computes for x alone; Mint's backward also returns
        # the weight and bias gradients, whose sums the input gradient needs anyway.
        backward=lambda grad, x, running_mean, running_var, weight, bias, training, out, strategy:
            F.batch_norm_backward(grad, x, out[1], out[2], weight, strategy=strategy)[0],
        torch="batch_norm",
    ),
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


# ------------------------------------------------------------------------------------ networks


def lenet_flops(batch, in_shape=(1, 28, 28)):
    """Multiply-add flops of one lenet forward pass (convolutions and linear layers)."""
    channels, height, width = in_shape
    conv1 = 2.0 * batch * 32 * height * width * channels * 9
    conv2 = 2.0 * batch * 64 * (height // 2) * (width // 2) * 32 * 9
    fc = 2.0 * batch * (64 * (height // 4) * (width // 4) * 128 + 128 * 10)
    return conv1 + conv2 + fc


def torch_lenet():
    """``mint.models.lenet`` for 1 x 28 x 28 images, in PyTorch (same layers)."""
    import torch

    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def torch_resnet(in_shape=(1, 28, 28), num_classes=10, widths=(16, 32, 64), blocks=(2, 2, 2)):
    """``mint.models.resnet`` in PyTorch: the same layers under the same state_dict keys, the
    residual sums by :func:`mint.interop.torch_residual` (``body(x) + shortcut(x)``)."""
    import torch

    from mint.interop import torch_residual

    nn = torch.nn

    def block(in_channels, out_channels, stride):
        body = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            bn1=nn.BatchNorm2d(out_channels), relu=nn.ReLU(),
            conv2=nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            bn2=nn.BatchNorm2d(out_channels)))
        shortcut = None
        if stride != 1 or in_channels != out_channels:
            shortcut = nn.Sequential(OrderedDict(
                conv=nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                bn=nn.BatchNorm2d(out_channels)))
        return nn.Sequential(OrderedDict(residual=torch_residual()(body, shortcut),
                                         relu=nn.ReLU()))

    layers = OrderedDict(conv1=nn.Conv2d(in_shape[0], widths[0], 3, 1, 1, bias=False),
                         bn1=nn.BatchNorm2d(widths[0]), relu=nn.ReLU())
    in_channels = widths[0]
    for stage, (out_channels, count) in enumerate(zip(widths, blocks, strict=True)):
        stage_blocks = []
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            stage_blocks.append(block(in_channels, out_channels, stride))
            in_channels = out_channels
        layers[f"layer{stage + 1}"] = nn.Sequential(*stage_blocks)
    layers.update(avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                  fc=nn.Linear(in_channels, num_classes))
    return nn.Sequential(layers)


def torch_resnet18(in_shape=(3, 224, 224), num_classes=1000):
    """``mint.models.resnet18`` in PyTorch: torchvision's ResNet-18, module for module (the
    same state_dict keys, torchvision's BasicBlock forward), by :func:`mint.interop.to_torch`
    (torchvision itself is not needed)."""
    from mint.interop import to_torch

    return to_torch(models.resnet18(in_shape=in_shape, num_classes=num_classes))


def summary_flops(network, in_shape, num_classes, batch):
    """Floating-point operations of one forward pass of ``mint.models.<network>``: twice the
    multiply-adds :func:`mint.summary` counts (convolutions, BatchNorm's scale and shift, the
    linear layers)."""
    from mint.summarize import summary

    model = models.MODELS[network](in_shape=in_shape, num_classes=num_classes)
    return 2.0 * summary(model, (batch, *in_shape)).total_multiply_adds


class Network(NamedTuple):
    """A model of ``mint.models`` as the network cases need it besides Mint's own builder."""

    torch_model: Callable[..., object]  # the same layers in PyTorch: (in_shape, num_classes)
    flops: Callable[[int], float]  # floating-point operations of a batch's forward pass
    in_shape: tuple[int, int, int] = (1, 28, 28)  # the images it is timed on: MNIST's, ...
    num_classes: int = 10


# keys: names in mint.models.MODELS
NETWORKS = {"lenet": Network(lambda in_shape, num_classes: torch_lenet(), lenet_flops),
            "resnet": Network(torch_resnet, partial(summary_flops, "resnet", (1, 28, 28), 10)),
            # torchvision's ImageNet ResNet-18, on ImageNet-sized images
            "resnet18": Network(torch_resnet18,
                                partial(summary_flops, "resnet18", (3, 224, 224), 1000),
                                (3, 224, 224), 1000)}


def image_batch(batch, in_shape=(1, 28, 28), num_classes=10, seed=0):
    """Seeded ``(images float32 (N, *in_shape) in [0, 1), labels int64 (N,))``."""
    rng = np.random.default_rng(seed)
    return (rng.random((batch, *in_shape), dtype=np.float32),
            rng.integers(0, num_classes, batch))


def _shapes(network, in_shape):
    """``(in_shape, num_classes)`` of ``network``'s cases: its own images unless ``in_shape``
    (C, H, W) asks for others (the tests run resnet18 on small ones)."""
    return tuple(in_shape or NETWORKS[network].in_shape), NETWORKS[network].num_classes


def _mint_model(strategy, network, batch, seed, in_shape=None):
    """Mint's ``network`` (seeded, its layers on ``strategy``) and a seeded batch."""
    in_shape, num_classes = _shapes(network, in_shape)
    mint.manual_seed(seed)
    with mint.use_strategy(strategy):
        model = models.MODELS[network](in_shape=in_shape, num_classes=num_classes)
    return model, *image_batch(batch, in_shape, num_classes, seed)


def _torch_model(strategy, network, batch, seed, in_shape=None):
    """The PyTorch twin of ``network`` (seeded) and the same batch as tensors; for "torch-cl"
    the model's 4-D weights and the images in channels-last memory."""
    import torch

    in_shape, num_classes = _shapes(network, in_shape)
    images, labels = image_batch(batch, in_shape, num_classes, seed)
    torch.manual_seed(seed)
    mint.manual_seed(seed)  # a twin made by to_torch takes the weights of a Mint model
    model = NETWORKS[network].torch_model(in_shape, num_classes)
    if strategy == "torch-cl":
        model = model.to(memory_format=torch.channels_last)
    return model, torch_tensor(images, strategy), torch.from_numpy(labels)


def make_mint_train_step(strategy, network="lenet", batch=64, seed=0, in_shape=None):
    """One SGD-with-momentum step of ``network`` on a fixed batch, as a zero-argument callable."""
    model, images, labels = _mint_model(strategy, network, batch, seed, in_shape)
    loss_fn = mint.nn.CrossEntropyLoss()
    optimizer = mint.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        with mint.use_strategy(strategy):
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            # The images need no gradient (as in the torch step, where they do not require grad).
            model.backward_parameters(loss_fn.backward())
            optimizer.step()
        return loss

    return step


def make_torch_train_step(strategy="torch", network="lenet", batch=64, seed=0, in_shape=None):
    """The same step in PyTorch eager mode (same layers, batch and optimizer)."""
    import torch

    model, x, y = _torch_model(strategy, network, batch, seed, in_shape)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def make_mint_inference(strategy, network="lenet", batch=1000, seed=0, in_shape=None):
    """``network``'s forward pass in eval mode (no activations kept) on a fixed batch: the
    logits (N, classes)."""
    model, images, _ = _mint_model(strategy, network, batch, seed, in_shape)
    model.eval()

    def forward():
        with mint.use_strategy(strategy):
            return model(images)

    return forward


def make_torch_inference(strategy="torch", network="lenet", batch=1000, seed=0, in_shape=None):
    """The same forward pass in PyTorch: eval mode, under ``torch.inference_mode`` (no
    autograd record)."""
    import torch

    model, x, _ = _torch_model(strategy, network, batch, seed, in_shape)
    model.eval()

    def forward():
        with torch.inference_mode():
            return model(x)

    return forward


@dataclass(frozen=True)
class ModelSpec:
    """Whole-network cases: ``mint(strategy, network, batch)`` and ``torch(strategy, network,
    batch)`` build the callables; one call costs ``passes`` forward passes of ``NETWORKS``
    FLOPs."""

    name: str
    direction: str
    shapes: tuple[tuple[str, int], ...]  # (network, batch)
    mint: Callable[[str, str, int], Callable[[], object]]
    torch: Callable[[str, str, int], Callable[[], object]]
    passes: float

    def cases(self, shapes=None):
        """The cases of ``shapes`` (default: all of this spec's (network, batch) pairs)."""
        return [Case(self.name, self.direction,
                     f"{network} N={batch} {'x'.join(map(str, NETWORKS[network].in_shape))}",
                     self.passes * NETWORKS[network].flops(batch), batch,
                     _either(partial(self.mint, network=network, batch=batch),
                             partial(self.torch, network=network, batch=batch)))
                for network, batch in (self.shapes if shapes is None else shapes)]


# Every op and network case ``mint bench`` knows, by name, in the order it runs them.
SPECS = {spec.name: spec for spec in (
    *OP_SPECS,
    # forward, then backward's two products as large (input and weight gradients)
    ModelSpec("train_step", "step", (("lenet", 64), ("resnet", 64), ("resnet18", 8)),
              make_mint_train_step, make_torch_train_step, passes=3),
    # eval mode, forward only; resnet on 256 images, not 1,000: one of its images costs 4.8x
    # lenet's FLOPs, so 256 are about as much work as lenet's 1,000 (and the vectorized twin
    # takes ~1.2 s a call, not ~5)
    ModelSpec("inference", "forward", (("lenet", 1000), ("resnet", 256), ("resnet18", 8)),
              make_mint_inference, make_torch_inference, passes=1),
)}
OPS = tuple(SPECS)

# ``mint bench --sweep batch``: how images/s grow with the batch, per network case and threads.
SWEEP_BATCHES = (1, 8, 32, 64, 256)
SWEEP_THREADS = (1, 2)
SWEEP_NETWORK = "lenet"
SWEEP_SPECS = ("train_step", "inference")


def sweep_cases(batches=SWEEP_BATCHES):
    """The lenet training step and inference at each of ``batches``."""
    return [case for name in SWEEP_SPECS
            for case in SPECS[name].cases([(SWEEP_NETWORK, batch) for batch in batches])]


def cases(ops=OPS):
    """Every benchmark case of the named ops, in a stable order."""
    unknown = [op for op in ops if op not in SPECS]
    if unknown:
        raise ValueError(f"unknown op(s) {unknown}; choose from {list(OPS)}")
    return [case for op in ops for case in SPECS[op].cases()]
