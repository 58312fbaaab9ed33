"""Ready-made networks, and their JSON description so a checkpoint can rebuild them.

An *architecture* is a JSON-able dict: ``{"name": "lenet", "in_shape": [1, 28, 28],
"num_classes": 10}`` plus any other keyword of the builder; :func:`build` turns it back into a
model. Every builder takes ``strategy=`` ("loop", "vectorized" or ``None`` for the default at
call time), which is a way of computing, not part of the architecture.

``resnet18``, ``resnet34``, ``resnet50``, ``vgg11_bn`` and ``vgg16_bn`` are torchvision's
ImageNet networks, module for module: a torchvision ``state_dict()`` (as NumPy arrays) loads
into them with no key mapping. Their ``in_shape`` gives the input channels (``in_shape[0]``);
the height and width only have to be large enough (the networks end in adaptive pooling).
"""

import math

import numpy as np

from mint import _checks as check
from mint import nn
from mint.runtime import default_generator


def _check_in_shape(model, in_shape):
    return check.positive_ints(model, "in_shape", in_shape, lambda n: n == 3,
                               "(channels, height, width)")


def lenet(in_shape=(1, 28, 28), num_classes=10, dropout=0.0, *, strategy=None):
    """Two 3x3 convolutions (32, 64 channels), each followed by ReLU and 2x2 max-pooling, then
    a hidden layer of 128 units: the classic small MNIST convnet. Needs height and width >= 4.

    ``dropout`` > 0 puts an ``nn.Dropout(dropout)`` between the hidden layer and the classifier
    (whose keys become ``10.weight``, ``10.bias``); 0, the default, leaves it out.
    """
    channels, height, width = _check_in_shape("lenet", in_shape)
    if height < 4 or width < 4:
        raise ValueError(f"lenet: height and width must be at least 4, got in_shape {in_shape}")
    dropout = check.real("lenet", "dropout", dropout, 0.0, below=1.0)
    s = strategy
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1, strategy=s),
        nn.ReLU(strategy=s),
        nn.MaxPool2d(2, strategy=s),
        nn.Conv2d(32, 64, 3, padding=1, strategy=s),
        nn.ReLU(strategy=s),
        nn.MaxPool2d(2, strategy=s),
        nn.Flatten(strategy=s),
        nn.Linear(64 * (height // 4) * (width // 4), 128, strategy=s),
        nn.ReLU(strategy=s),
        *([nn.Dropout(dropout, strategy=s)] if dropout else []),
        nn.Linear(128, num_classes, strategy=s),
    )


def _basic_block(in_channels, out_channels, stride, strategy):
    """He et al.'s basic block: ``relu(body(x) + shortcut(x))``, body conv3x3 (strided) - BN -
    ReLU - conv3x3 - BN, shortcut the identity, or a strided 1x1 convolution and BN where the
    shape changes (torchvision's BasicBlock with its ``downsample``)."""
    s = strategy
    body = nn.Sequential({
        "conv1": nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False, strategy=s),
        "bn1": nn.BatchNorm2d(out_channels, strategy=s),
        "relu": nn.ReLU(strategy=s),
        "conv2": nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False, strategy=s),
        "bn2": nn.BatchNorm2d(out_channels, strategy=s),
    })
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = nn.Sequential({
            "conv": nn.Conv2d(in_channels, out_channels, 1, stride, bias=False, strategy=s),
            "bn": nn.BatchNorm2d(out_channels, strategy=s),
        })
    return nn.Sequential({"residual": nn.Residual(body, shortcut), "relu": nn.ReLU(strategy=s)})


def resnet(in_shape=(1, 28, 28), num_classes=10, widths=(16, 32, 64), blocks=(2, 2, 2), *,
           strategy=None):
    """A small classic ResNet (He et al. 2016, the CIFAR variant) for 28x28 or 32x32 images.

    A 3x3 convolution to ``widths[0]`` channels with BatchNorm and ReLU, then one stage per
    entry of ``widths``: ``blocks[i]`` basic blocks of ``widths[i]`` channels, the first of
    each stage after the first halving the height and width (stride 2, with a 1x1 convolution
    and BatchNorm as shortcut); global average pooling and a linear layer to the classes.
    Convolutions have no bias (BatchNorm's shift takes its place). State-dict keys follow the
    layout: ``conv1.weight``, ``layer1.0.residual.body.conv1.weight``, ``fc.bias``.
    """
    channels, height, width = _check_in_shape("resnet", in_shape)
    widths, blocks = (check.positive_ints("resnet", name, value, lambda n: n > 0,
                                          "a non-empty list of positive ints")
                      for name, value in (("widths", widths), ("blocks", blocks)))
    if len(widths) != len(blocks):
        raise ValueError(f"resnet: widths and blocks must have one entry per stage, got "
                         f"{len(widths)} widths and {len(blocks)} block counts")
    s = strategy
    layers = {
        "conv1": nn.Conv2d(channels, widths[0], 3, 1, 1, bias=False, strategy=s),
        "bn1": nn.BatchNorm2d(widths[0], strategy=s),
        "relu": nn.ReLU(strategy=s),
    }
    in_channels = widths[0]
    for stage, (out_channels, count) in enumerate(zip(widths, blocks, strict=True)):
        stride = 1 if stage == 0 else 2
        stage_blocks = []
        for index in range(count):
            stage_blocks.append(_basic_block(in_channels, out_channels,
                                             stride if index == 0 else 1, s))
            in_channels = out_channels
        layers[f"layer{stage + 1}"] = nn.Sequential(*stage_blocks)
    layers.update({
        "avgpool": nn.AdaptiveAvgPool2d(1, strategy=s),
        "flatten": nn.Flatten(strategy=s),
        "fc": nn.Linear(in_channels, num_classes, strategy=s),
    })
    return nn.Sequential(layers)


class _ResidualBlock(nn.Module):
    """``relu(branch(x) + identity)``, ``identity`` being ``x`` or ``downsample(x)``: the
    forward and backward of torchvision's residual blocks. torchvision calls one ``relu`` at
    every place; a Mint module is one call site, so the blocks hold ``relu``, ``relu2`` (and
    ``relu3``), one per call (ReLU has no state: the state_dict keys are torchvision's)."""

    def _branch(self):
        """The modules from the input to the sum, in order."""
        raise NotImplementedError

    @property
    def independent_samples(self):
        return all(child.independent_samples for child in self.children())

    def forward(self, x):
        out = x
        for module in self._branch():
            out = module(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self._relu_out(out + identity)

    def backward(self, grad_out):
        grad_sum = self._relu_out.backward(grad_out)
        grad_x = grad_sum
        for module in reversed(self._branch()):
            grad_x = module.backward(grad_x)
        return grad_x + (grad_sum if self.downsample is None
                         else self.downsample.backward(grad_sum))


class BasicBlock(_ResidualBlock):
    """torchvision's ``BasicBlock``: conv3x3 (``stride``) - bn1 - relu - conv3x3 - bn2, plus the
    input or ``downsample(input)``, then ``relu2``. ``downsample`` (a ``Sequential`` of a
    strided 1x1 convolution and a batch norm, or ``None``) maps the input to the output shape.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, *, strategy=None):
        s = strategy
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False, strategy=s)
        self.bn1 = nn.BatchNorm2d(planes, strategy=s)
        self.relu = nn.ReLU(strategy=s)
        self.relu2 = nn.ReLU(strategy=s)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False, strategy=s)
        self.bn2 = nn.BatchNorm2d(planes, strategy=s)
        self.downsample = _check_downsample(type(self).__name__, downsample)

    def _branch(self):
        return self.conv1, self.bn1, self.relu, self.conv2, self.bn2

    @property
    def _relu_out(self):
        return self.relu2


class Bottleneck(_ResidualBlock):
    """torchvision's ``Bottleneck`` (ResNet v1.5: the 3x3 convolution strides): conv1x1 - bn1 -
    relu - conv3x3 (``stride``) - bn2 - relu2 - conv1x1 to ``4 * planes`` channels - bn3, plus
    the input or ``downsample(input)``, then ``relu3``."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, *, strategy=None):
        s = strategy
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False, strategy=s)
        self.bn1 = nn.BatchNorm2d(planes, strategy=s)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False, strategy=s)
        self.bn2 = nn.BatchNorm2d(planes, strategy=s)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False, strategy=s)
        self.bn3 = nn.BatchNorm2d(out_channels, strategy=s)
        self.relu = nn.ReLU(strategy=s)
        self.relu2 = nn.ReLU(strategy=s)
        self.relu3 = nn.ReLU(strategy=s)
        self.downsample = _check_downsample(type(self).__name__, downsample)

    def _branch(self):
        return (self.conv1, self.bn1, self.relu, self.conv2, self.bn2, self.relu2, self.conv3,
                self.bn3)

    @property
    def _relu_out(self):
        return self.relu3


def _check_downsample(block, downsample):
    if downsample is not None and not isinstance(downsample, nn.Module):
        raise TypeError(f"{block}: downsample must be a mint.nn.Module or None, got "
                        f"{type(downsample).__name__}")
    return downsample


def _kaiming_normal_fan_out(conv):
    """torchvision's initialisation of a convolution: N(0, 2 / fan_out), fan_out = out_channels
    times the kernel size (``kaiming_normal_(mode="fan_out", nonlinearity="relu")``)."""
    weight = conv.weight.data
    std = math.sqrt(2.0 / (weight.shape[0] * weight.shape[2] * weight.shape[3]))
    weight[...] = default_generator().normal(0.0, std, weight.shape)


def _imagenet_resnet(name, block, counts, in_shape, num_classes, strategy):
    """torchvision's ``ResNet(block, counts)``: a 7x7 stride-2 stem with BatchNorm, ReLU and a
    3x3 stride-2 max-pooling, four stages (``layer1`` to ``layer4``) of ``counts[i]`` blocks of
    64, 128, 256, 512 planes (stages 2-4 start with stride 2), global average pooling and
    ``fc``; torchvision's initialisation. A ``flatten`` module (no state) stands for the
    reshape torchvision's forward does."""
    channels, _, _ = _check_in_shape(name, in_shape)
    num_classes = check.integer(name, "num_classes", num_classes, 1)
    s = strategy
    layers = {
        "conv1": nn.Conv2d(channels, 64, 7, 2, 3, bias=False, strategy=s),
        "bn1": nn.BatchNorm2d(64, strategy=s),
        "relu": nn.ReLU(strategy=s),
        "maxpool": nn.MaxPool2d(3, 2, 1, strategy=s),
    }
    inplanes = 64
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), counts, strict=True)):
        stride = 1 if stage == 0 else 2
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, out_channels, 1, stride, bias=False, strategy=s),
                nn.BatchNorm2d(out_channels, strategy=s),
            )
        blocks = [block(inplanes, planes, stride, downsample, strategy=s)]
        blocks += [block(out_channels, planes, strategy=s) for _ in range(count - 1)]
        layers[f"layer{stage + 1}"] = nn.Sequential(*blocks)
        inplanes = out_channels
    layers.update({
        "avgpool": nn.AdaptiveAvgPool2d(1, strategy=s),
        "flatten": nn.Flatten(strategy=s),
        "fc": nn.Linear(inplanes, num_classes, strategy=s),
    })
    model = nn.Sequential(layers)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            _kaiming_normal_fan_out(module)
    return model


def resnet18(in_shape=(3, 224, 224), num_classes=1000, *, strategy=None):
    """torchvision's ``resnet18``: :class:`BasicBlock` stages of 2, 2, 2, 2 blocks (11.7M
    parameters with 1000 classes); ``in_shape[0]`` input channels."""
    return _imagenet_resnet("resnet18", BasicBlock, (2, 2, 2, 2), in_shape, num_classes,
                            strategy)


def resnet34(in_shape=(3, 224, 224), num_classes=1000, *, strategy=None):
    """torchvision's ``resnet34``: :class:`BasicBlock` stages of 3, 4, 6, 3 blocks."""
    return _imagenet_resnet("resnet34", BasicBlock, (3, 4, 6, 3), in_shape, num_classes,
                            strategy)


def resnet50(in_shape=(3, 224, 224), num_classes=1000, *, strategy=None):
    """torchvision's ``resnet50``: :class:`Bottleneck` stages of 3, 4, 6, 3 blocks."""
    return _imagenet_resnet("resnet50", Bottleneck, (3, 4, 6, 3), in_shape, num_classes,
                            strategy)


# torchvision's VGG configurations: output channels of each 3x3 convolution, "M" a 2x2 pooling.
_VGG_FEATURES = {
    "vgg11_bn": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16_bn": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                 512, 512, 512, "M"),
}


def _vgg(name, in_shape, num_classes, dropout, strategy):
    """torchvision's ``VGG(make_layers(cfg, batch_norm=True))``: ``features`` (3x3 convolution,
    BatchNorm, ReLU per entry, 2x2 max-pooling per "M"), ``avgpool`` to 7x7, ``classifier``
    (4096, 4096, ``num_classes`` units with ReLU and Dropout between); torchvision's
    initialisation. Height and width must be at least 32 (five poolings halve them)."""
    channels, height, width = _check_in_shape(name, in_shape)
    if height < 32 or width < 32:
        raise ValueError(f"{name}: height and width must be at least 32, got in_shape "
                         f"{in_shape}")
    num_classes = check.integer(name, "num_classes", num_classes, 1)
    dropout = check.real(name, "dropout", dropout, 0.0, below=1.0)
    s = strategy
    features = []
    for entry in _VGG_FEATURES[name]:
        if entry == "M":
            features.append(nn.MaxPool2d(2, 2, strategy=s))
        else:
            features += [nn.Conv2d(channels, entry, 3, padding=1, strategy=s),
                         nn.BatchNorm2d(entry, strategy=s), nn.ReLU(strategy=s)]
            channels = entry
    classifier = nn.Sequential(
        nn.Linear(channels * 7 * 7, 4096, strategy=s), nn.ReLU(strategy=s),
        nn.Dropout(dropout, strategy=s),
        nn.Linear(4096, 4096, strategy=s), nn.ReLU(strategy=s), nn.Dropout(dropout, strategy=s),
        nn.Linear(4096, num_classes, strategy=s),
    )
    model = nn.Sequential({
        "features": nn.Sequential(*features),
        "avgpool": nn.AdaptiveAvgPool2d(7, strategy=s),
        "flatten": nn.Flatten(strategy=s),
        "classifier": classifier,
    })
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            _kaiming_normal_fan_out(module)
            module.bias.data[...] = 0
        elif isinstance(module, nn.Linear):
            module.weight.data[...] = default_generator().normal(0.0, 0.01,
                                                                 module.weight.shape)
            module.bias.data[...] = 0
    return model


def vgg11_bn(in_shape=(3, 224, 224), num_classes=1000, dropout=0.5, *, strategy=None):
    """torchvision's ``vgg11_bn`` (VGG configuration "A" with BatchNorm; 132.9M parameters with
    1000 classes, 123M of them in ``classifier``)."""
    return _vgg("vgg11_bn", in_shape, num_classes, dropout, strategy)


def vgg16_bn(in_shape=(3, 224, 224), num_classes=1000, dropout=0.5, *, strategy=None):
    """torchvision's ``vgg16_bn`` (VGG configuration "D" with BatchNorm)."""
    return _vgg("vgg16_bn", in_shape, num_classes, dropout, strategy)


def mlp(in_shape=(1, 28, 28), num_classes=10, hidden=(256, 128), *, strategy=None):
    """Flatten, then a Linear + ReLU per entry of ``hidden``, then Linear to the classes."""
    channels, height, width = _check_in_shape("mlp", in_shape)
    hidden = tuple(hidden)
    layers = [nn.Flatten(strategy=strategy)]
    width_in = channels * height * width
    for units in hidden:
        layers += [nn.Linear(width_in, units, strategy=strategy), nn.ReLU(strategy=strategy)]
        width_in = units
    layers.append(nn.Linear(width_in, num_classes, strategy=strategy))
    return nn.Sequential(*layers)


class VisionTransformer(nn.Module):
    """A Vision Transformer (Dosovitskiy et al. 2021, arXiv:2010.11929) in torchvision's
    names: ``conv_proj`` cuts the image into patches and embeds each (a convolution with
    stride = kernel = patch size), ``class_token`` (1, 1, dim) is put before the patch tokens,
    ``pos_embedding`` (1, tokens, dim) is added, ``encoder`` (pre-norm
    ``TransformerEncoderLayer``s with GELU and its final LayerNorm as ``encoder.norm``) mixes
    the tokens, and ``head`` classifies the class token's output."""

    independent_samples = True

    def __init__(self, in_shape, num_classes, patch_size, dim, depth, heads, mlp_dim, *,
                 strategy=None):
        channels, height, width = in_shape
        self.patches = (height // patch_size, width // patch_size)
        tokens = 1 + self.patches[0] * self.patches[1]
        self.conv_proj = nn.Conv2d(channels, dim, patch_size, stride=patch_size,
                                   strategy=strategy)
        self.class_token = nn.Parameter(np.zeros((1, 1, dim), np.float32))
        self.pos_embedding = nn.Parameter(
            (0.02 * default_generator().standard_normal((1, tokens, dim))).astype(np.float32))
        layer = nn.TransformerEncoderLayer(dim, heads, mlp_dim, dropout=0.0, activation="gelu",
                                           norm_first=True, strategy=strategy)
        self.encoder = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim,
                                                                             strategy=strategy))
        self.head = nn.Linear(dim, num_classes, strategy=strategy)
        self._init_like_torchvision()

    def _init_like_torchvision(self):
        """torchvision's ViT initialisation: the patch embedding from N(0, 1 / fan_in), the
        feed-forward layers Xavier-uniform with biases from N(0, 1e-12), a zero head."""
        rng = default_generator()
        weight = self.conv_proj.weight.data
        weight[...] = rng.standard_normal(weight.shape) / math.sqrt(weight[0].size)
        self.conv_proj.bias.data[...] = 0
        for layer in self.encoder.layers:
            for linear in (layer.linear1, layer.linear2):
                bound = math.sqrt(6 / sum(linear.weight.shape))
                linear.weight.data[...] = rng.uniform(-bound, bound, linear.weight.shape)
                linear.bias.data[...] = 1e-6 * rng.standard_normal(linear.bias.shape)
        self.head.weight.data[...] = 0
        self.head.bias.data[...] = 0

    def forward(self, x):
        patches = self.conv_proj(x)  # (N, dim, h, w)
        N, dim = patches.shape[:2]
        tokens = patches.reshape(N, dim, -1).transpose(0, 2, 1)
        class_tokens = np.broadcast_to(self.class_token.data, (N, 1, dim))
        tokens = np.concatenate([class_tokens, tokens], axis=1) + self.pos_embedding.data
        out = self.head(self.encoder(tokens)[:, 0])
        self.save_for_backward(out.shape, patches.shape)
        return out

    def _backward_tokens(self, grad_out):
        """The gradient of the patch embeddings (N, dim, h, w), once the class token's and the
        position embedding's are added into their grads."""
        (patches_shape,) = self.saved_for_backward(grad_out)
        grad_class = self.head.backward(grad_out)
        grad_encoded = np.zeros((len(grad_class), self.pos_embedding.shape[1],
                                 grad_class.shape[1]), grad_class.dtype)
        grad_encoded[:, 0] = grad_class
        grad_tokens = self.encoder.backward(grad_encoded)
        self.pos_embedding.grad += grad_tokens.sum(axis=0, keepdims=True)
        self.class_token.grad += grad_tokens[:, :1].sum(axis=0, keepdims=True)
        return np.ascontiguousarray(grad_tokens[:, 1:].transpose(0, 2, 1)).reshape(
            patches_shape)

    def backward(self, grad_out):
        return self.conv_proj.backward(self._backward_tokens(grad_out))

    def backward_parameters(self, grad_out):
        self.conv_proj.backward_parameters(self._backward_tokens(grad_out))


def vit(in_shape=(1, 28, 28), num_classes=10, patch_size=7, dim=64, depth=4, heads=4,
        mlp_dim=128, *, strategy=None):
    """A small :class:`VisionTransformer`: patches of ``patch_size`` pixels (a remainder of
    the image is left out, as by the strided convolution), ``depth`` pre-norm encoder layers
    of ``heads`` heads over ``dim`` features with a GELU feed-forward block of ``mlp_dim``.
    On MNIST's 28 x 28 images: 16 patches and the class token, 17 tokens."""
    channels, height, width = _check_in_shape("vit", in_shape)
    num_classes = check.integer("vit", "num_classes", num_classes, 1)
    patch_size = check.integer("vit", "patch_size", patch_size, 1)
    if patch_size > min(height, width):
        raise ValueError(f"vit: patch_size ({patch_size}) must fit in the image {in_shape}")
    for name, value in (("dim", dim), ("depth", depth), ("heads", heads), ("mlp_dim", mlp_dim)):
        check.integer("vit", name, value, 1)
    return VisionTransformer((channels, height, width), num_classes, patch_size, dim, depth,
                             heads, mlp_dim, strategy=strategy)


# What a model trains with by default (``mint train --model``), where it differs from the data
# set's batch size, the default optimizer's (Adam's) learning rate and no warm-up: the ViT
# learns better with more steps than a convnet, and with a linear warm-up before the cosine
# decay it takes a larger lr (3 epochs of MNIST, seed 0: lr 1e-3, 97.80%; lr 2e-3, 97.87%; lr
# 2e-3 after a warm-up of half an epoch, 98.24%; docs/transformers.md).
TRAINING_DEFAULTS = {"vit": {"batch_size": 32, "lr": 2e-3, "warmup": 0.5}}

MODELS = {"lenet": lenet, "mlp": mlp, "resnet": resnet, "resnet18": resnet18,
          "resnet34": resnet34, "resnet50": resnet50, "vgg11_bn": vgg11_bn,
          "vgg16_bn": vgg16_bn, "vit": vit}


def architecture(name, **kwargs):
    """The JSON-able description of model ``name`` built with ``kwargs`` (tuples become lists)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    return {"name": name, **{k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}}


def build(description, *, strategy=None):
    """The model an :func:`architecture` dict describes, freshly initialised."""
    if not isinstance(description, dict) or description.get("name") not in MODELS:
        raise ValueError(
            f"an architecture must be a dict whose 'name' is one of {sorted(MODELS)}, "
            f"got {description!r}"
        )
    kwargs = {k: v for k, v in description.items() if k != "name"}
    try:
        return MODELS[description["name"]](**kwargs, strategy=strategy)
    except TypeError as error:
        raise ValueError(
            f"architecture {description!r} does not fit its builder: {error}"
        ) from None
