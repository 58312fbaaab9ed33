"""Ready-made networks, and their JSON description so a checkpoint can rebuild them.

An *architecture* is a JSON-able dict: ``{"name": "lenet", "in_shape": [1, 28, 28],
"num_classes": 10}`` plus any other keyword of the builder; :func:`build` turns it back into a
model. Every builder takes ``strategy=`` ("loop", "vectorized" or ``None`` for the default at
call time), which is a way of computing, not part of the architecture.
"""

from mint import _checks as check
from mint import nn


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


MODELS = {"lenet": lenet, "mlp": mlp, "resnet": resnet}


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
