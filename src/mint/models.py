"""Ready-made networks, and their JSON description so a checkpoint can rebuild them.

An *architecture* is a JSON-able dict: ``{"name": "lenet", "in_shape": [1, 28, 28],
"num_classes": 10}`` plus any other keyword of the builder; :func:`build` turns it back into a
model. Every builder takes ``strategy=`` ("loop", "vectorized" or ``None`` for the default at
call time), which is a way of computing, not part of the architecture.
"""

import numbers

from mint import nn


def _check_in_shape(model, in_shape):
    shape = tuple(in_shape) if isinstance(in_shape, tuple | list) else None
    if (
        shape is None
        or len(shape) != 3
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape)
        or min(shape) < 1
    ):
        raise ValueError(f"{model}: in_shape must be (channels, height, width), got {in_shape!r}")
    return tuple(int(s) for s in shape)


def lenet(in_shape=(1, 28, 28), num_classes=10, *, strategy=None):
    """Two 3x3 convolutions (32, 64 channels), each followed by ReLU and 2x2 max-pooling, then
    a hidden layer of 128 units: the classic small MNIST convnet. Needs height and width >= 4.
    """
    channels, height, width = _check_in_shape("lenet", in_shape)
    if height < 4 or width < 4:
        raise ValueError(f"lenet: height and width must be at least 4, got in_shape {in_shape}")
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
        nn.Linear(128, num_classes, strategy=s),
    )


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


MODELS = {"lenet": lenet, "mlp": mlp}


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
