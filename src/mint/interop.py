"""Move models between Mint and PyTorch, weights included.

:func:`to_torch` builds the ``torch.nn`` module that computes what a Mint model computes, with
copies of its weights; :func:`from_torch` builds the Mint model of a ``torch.nn.Sequential`` (or
single layer) of supported layers, or of torchvision's ``ResNet`` (its ``BasicBlock`` and
``Bottleneck``) and ``VGG``, recognised by their class names and torchvision's attributes (so
the same classes rebuilt by hand work too): the models of :mod:`mint.models`, same keys.
Layer classes, arguments, weight layouts and state_dict keys are the same on both sides, so
``to_torch(model).state_dict()`` has ``model.state_dict()``'s keys. Each module keeps its
train/eval mode; neither direction draws from Mint's or PyTorch's random generator.

PyTorch is optional (``mint-nn[compare]``); ``import mint`` never imports it. A layer with no
entry in :data:`TO_TORCH` (or in :func:`from_torch_converters`) raises
:class:`~mint.registry.UnsupportedLayerError` naming it; a new layer type adds one entry to each.
"""

import collections
import contextlib
import functools

import numpy as np

from mint import interop_transformer, models, nn
from mint.composite import run
from mint.registry import LayerRegistry, check_model, child_name
from mint.runtime import default_generator

TO_TORCH = LayerRegistry("to_torch")
TO_TORCH.update(interop_transformer.TO_TORCH)  # LayerNorm, Embedding, the transformer's layers
_TORCH_DTYPES = ("float32", "float64")


def _import_torch():
    try:
        import torch
    except ImportError:
        raise ImportError("mint.interop needs PyTorch: python -m pip install 'mint-nn[compare]' "
                          "(or torch==2.13.0, the CPU build)") from None
    return torch


# ---------------------------------------------------------------------------------- to torch


def to_torch(model):
    """The ``torch.nn`` module equivalent to Mint ``model``, holding copies of its weights
    (same dtype, on the CPU) and in the same train/eval mode."""
    torch = _import_torch()
    check_model("to_torch", model)
    return _to_torch(torch, model, "")


def _to_torch(torch, layer, name):
    module = TO_TORCH.lookup(layer, name)(torch, layer, name)
    module.training = layer.training
    return module


def _with_weights(torch, module_class, layer, *args, **kwargs):
    """``module_class(*args, **kwargs)`` holding ``layer``'s weights, built without running
    PyTorch's initialisation (which would draw from its generator)."""
    dtype = getattr(torch, str(layer.weight.dtype))
    module = torch.nn.utils.skip_init(module_class, *args, **kwargs, dtype=dtype)
    module.load_state_dict({key: torch.from_numpy(value)
                            for key, value in layer.state_dict().items()})
    return module


@TO_TORCH.register(nn.Sequential)
def _sequential_to_torch(torch, sequential, name):
    return torch.nn.Sequential(collections.OrderedDict(
        (child, _to_torch(torch, layer, child_name(name, child)))
        for child, layer in sequential.named_children()))


@TO_TORCH.register(nn.ModuleList)
def _module_list_to_torch(torch, modules, name):
    return torch.nn.ModuleList(_to_torch(torch, layer, child_name(name, child))
                               for child, layer in modules.named_children())


@TO_TORCH.register(nn.ModuleDict)
def _module_dict_to_torch(torch, modules, name):
    return torch.nn.ModuleDict({child: _to_torch(torch, layer, child_name(name, child))
                                for child, layer in modules.named_children()})


@functools.cache
def torch_residual():
    """The ``torch.nn.Module`` class computing what :class:`mint.nn.Residual` computes,
    ``body(x) + shortcut(x)`` (the identity when ``shortcut`` is None), with the same
    state_dict keys (PyTorch has no such class); :func:`to_torch` and :func:`from_torch` map
    one to the other."""
    torch = _import_torch()

    class Residual(torch.nn.Module):
        def __init__(self, body, shortcut=None):
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x):
            return self.body(x) + (x if self.shortcut is None else self.shortcut(x))

    return Residual


@TO_TORCH.register(nn.Residual)
def _residual_to_torch(torch, block, name):
    shortcut = None if block.shortcut is None else _to_torch(torch, block.shortcut,
                                                             child_name(name, "shortcut"))
    return torch_residual()(_to_torch(torch, block.body, child_name(name, "body")), shortcut)


@functools.cache
def torch_blocks():
    """``{"BasicBlock": class, "Bottleneck": class}``: torchvision's residual blocks in PyTorch
    (its class names, attributes and forward, one ``relu`` called at every place), made of
    given modules; :func:`to_torch` makes them of :class:`mint.models.BasicBlock` and
    :class:`~mint.models.Bottleneck`, :func:`from_torch` takes them back (and torchvision's)."""
    torch = _import_torch()

    class Block(torch.nn.Module):
        def __init__(self, children):
            super().__init__()
            for child, module in children.items():
                self.add_module(child, module)

        def forward(self, x):
            out = x
            for layer in self.branch():
                out = layer(out)
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class BasicBlock(Block):
        expansion = 1

        def branch(self):
            return self.conv1, self.bn1, self.relu, self.conv2, self.bn2

    class Bottleneck(Block):
        expansion = 4

        def branch(self):
            return (self.conv1, self.bn1, self.relu, self.conv2, self.bn2, self.relu,
                    self.conv3, self.bn3)

    return {"BasicBlock": BasicBlock, "Bottleneck": Bottleneck}


# torchvision's attributes of each block, in its order (the ReLU apart: one on each side).
_BLOCK_LAYERS = {"BasicBlock": ("conv1", "bn1", "conv2", "bn2"),
                 "Bottleneck": ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3")}


@TO_TORCH.register(models.BasicBlock, models.Bottleneck)
def _block_to_torch(torch, block, name):
    kind = type(block).__name__
    children = {child: _to_torch(torch, getattr(block, child), child_name(name, child))
                for child in _BLOCK_LAYERS[kind]}
    children["relu"] = torch.nn.ReLU()
    children["downsample"] = None if block.downsample is None else _to_torch(
        torch, block.downsample, child_name(name, "downsample"))
    return torch_blocks()[kind](children)


@functools.cache
def torch_composite():
    """The ``torch.nn.Module`` class that :func:`to_torch` makes of a Mint module of one's own
    (:mod:`mint.composite`): its sub-modules, converted, under the same names, and the traced
    steps of its forward, which ``forward`` runs (``+`` as ``torch.add``, a concatenation as
    ``torch.cat``)."""
    torch = _import_torch()

    class Composite(torch.nn.Module):
        def __init__(self, children, steps, output):
            super().__init__()
            for child, module in children.items():
                self.add_module(child, module)
            self.steps = steps
            self.output = output

        def forward(self, x):
            return run(self.steps, self.output, x,
                       lambda path, value: self.get_submodule(path)(value), torch.add,
                       lambda values, axis: torch.cat(values, dim=axis))

    return Composite


@TO_TORCH.register_composite
def _composite_to_torch(program, torch, module, name):
    children = {child: _to_torch(torch, sub, child_name(name, child))
                for child, sub in module.named_children()}
    return torch_composite()(children, program.steps, program.output)


@TO_TORCH.register(nn.Linear)
def _linear_to_torch(torch, layer, name):
    return _with_weights(torch, torch.nn.Linear, layer, layer.in_features, layer.out_features,
                         bias=layer.bias is not None)


@TO_TORCH.register(nn.Conv2d)
def _conv2d_to_torch(torch, layer, name):
    return _with_weights(torch, torch.nn.Conv2d, layer, layer.in_channels, layer.out_channels,
                         layer.kernel_size, stride=layer.stride, padding=layer.padding,
                         dilation=layer.dilation, groups=layer.groups,
                         bias=layer.bias is not None)


@TO_TORCH.register(nn.ConvTranspose2d)
def _conv_transpose2d_to_torch(torch, layer, name):
    return _with_weights(torch, torch.nn.ConvTranspose2d, layer, layer.in_channels,
                         layer.out_channels, layer.kernel_size, stride=layer.stride,
                         padding=layer.padding, output_padding=layer.output_padding,
                         groups=layer.groups, bias=layer.bias is not None,
                         dilation=layer.dilation)


@TO_TORCH.register(nn.MaxPool2d)
def _max_pool2d_to_torch(torch, layer, name):
    return torch.nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                              ceil_mode=layer.ceil_mode)


@TO_TORCH.register(nn.AvgPool2d)
def _avg_pool2d_to_torch(torch, layer, name):
    return torch.nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode,
                              layer.count_include_pad, layer.divisor_override)


@TO_TORCH.register(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool2d_to_torch(torch, layer, name):
    return torch.nn.AdaptiveAvgPool2d(layer.output_size)


@TO_TORCH.register(nn.Dropout, nn.Dropout2d)
def _dropout_to_torch(torch, layer, name):
    return getattr(torch.nn, type(layer).__name__)(layer.p)


@TO_TORCH.register(nn.Flatten)
def _flatten_to_torch(torch, layer, name):
    return torch.nn.Flatten(layer.start_dim, -1)


@TO_TORCH.register(nn.LeakyReLU)
def _leaky_relu_to_torch(torch, layer, name):
    return torch.nn.LeakyReLU(layer.negative_slope)


@TO_TORCH.register(nn.Softplus)
def _softplus_to_torch(torch, layer, name):
    return torch.nn.Softplus(**layer.arguments)


@TO_TORCH.register(nn.GELU)
def _gelu_to_torch(torch, layer, name):
    return torch.nn.GELU(approximate=layer.approximate)


@TO_TORCH.register(nn.Softmax, nn.LogSoftmax)
def _softmax_to_torch(torch, layer, name):
    return getattr(torch.nn, type(layer).__name__)(dim=layer.dim)


@TO_TORCH.register(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm_to_torch(torch, layer, name):
    # PyTorch initialises a batch norm with constants (no generator draw); the state replaces them.
    state = layer.state_dict()
    dtype = next((value.dtype for value in state.values() if value.dtype.kind == "f"),
                 np.dtype(np.float32))
    module = getattr(torch.nn, type(layer).__name__)(
        layer.num_features, layer.eps, layer.momentum, layer.affine, layer.track_running_stats,
        bias=layer.bias is not None, dtype=getattr(torch, str(dtype)))
    module.load_state_dict({key: torch.from_numpy(value) for key, value in state.items()})
    return module


@TO_TORCH.register(nn.ReLU, nn.Sigmoid, nn.Tanh, nn.SiLU, nn.Identity)
def _activation_to_torch(torch, layer, name):
    return getattr(torch.nn, type(layer).__name__)()


# -------------------------------------------------------------------------------- from torch


def from_torch(module):
    """The Mint model equivalent to ``torch.nn`` ``module`` (a ``Sequential``, ``ModuleList`` or
    ``ModuleDict`` of supported layers, nested or not, or one such layer; torchvision's
    ``ResNet``, ``BasicBlock``, ``Bottleneck`` or ``VGG``), with copies of its weights
    (float32 or float64), in the same train/eval mode. Each ``Sequential`` keeps its modules'
    names, an ``OrderedDict``'s ("conv.weight") as a slice's ("2.weight")."""
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: module must be a torch.nn.Module, got "
                        f"{type(module).__name__}")
    with _mint_generator_kept():
        return _from_torch(module, "")


@contextlib.contextmanager
def _mint_generator_kept():
    """Mint's layers draw initial weights that from_torch overwrites: give the draws back."""
    bit_generator = default_generator().bit_generator
    state = bit_generator.state
    try:
        yield
    finally:
        bit_generator.state = state


def _from_torch(module, name):
    converters = from_torch_converters()
    converter = converters.get(type(module)) or _TORCHVISION.get(type(module).__name__) or \
        converters.lookup(module, name)
    layer = converter(module, name)
    layer.training = module.training
    return layer


def _children(module, name, children):
    """``module``'s sub-modules ``children`` (a torchvision class's attributes), converted."""
    missing = [child for child in children if not hasattr(module, child)]
    if missing:
        raise ValueError(f"from_torch: {type(module).__name__} {name!r} has no {missing}: a "
                         f"{type(module).__name__} must have torchvision's attributes "
                         f"{list(children)}")
    return {child: None if getattr(module, child) is None else
            _from_torch(getattr(module, child), child_name(name, child)) for child in children}


def _resnet_from_torch(module, name):
    """torchvision's ``ResNet``: the layout of :func:`mint.models.resnet18` (with ``flatten``
    for the reshape in its forward)."""
    layers = _children(module, name, ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                      "layer3", "layer4", "avgpool"))
    layers["flatten"] = nn.Flatten()
    layers.update(_children(module, name, ("fc",)))
    return nn.Sequential(layers)


def _block_from_torch(module, name):
    """torchvision's ``BasicBlock`` or ``Bottleneck``: :class:`mint.models.BasicBlock` or
    ``Bottleneck`` holding the converted layers (and Mint's own ReLUs, one per call)."""
    kind = type(module).__name__
    layers = _children(module, name, (*_BLOCK_LAYERS[kind], "downsample"))
    block = getattr(models, kind)(layers["conv1"].in_channels, layers["conv1"].out_channels)
    for child, layer in layers.items():  # replaces the freshly drawn layers, in their places
        setattr(block, child, layer)
    return block


def _vgg_from_torch(module, name):
    """torchvision's ``VGG``: the layout of :func:`mint.models.vgg11_bn` (with ``flatten``)."""
    layers = _children(module, name, ("features", "avgpool"))
    layers["flatten"] = nn.Flatten()
    layers.update(_children(module, name, ("classifier",)))
    return nn.Sequential(layers)


# torchvision's model classes, by name: torchvision need not be installed (nor importable).
_TORCHVISION = {"ResNet": _resnet_from_torch, "BasicBlock": _block_from_torch,
                "Bottleneck": _block_from_torch, "VGG": _vgg_from_torch}


@functools.cache
def from_torch_converters():
    """``{torch.nn class: converter(module, name) -> Mint layer}`` (built on first use, as it
    needs torch)."""
    torch = _import_torch()
    registry = LayerRegistry("from_torch")
    registry.update({
        torch.nn.Sequential: _sequential_from_torch,
        torch.nn.ModuleList: _module_list_from_torch,
        torch.nn.ModuleDict: _module_dict_from_torch,
        torch_residual(): _residual_from_torch,
        torch.nn.Linear: _linear_from_torch,
        torch.nn.Conv2d: _conv2d_from_torch,
        torch.nn.ConvTranspose2d: _conv_transpose2d_from_torch,
        torch.nn.MaxPool2d: _max_pool2d_from_torch,
        torch.nn.Flatten: _flatten_from_torch,
        torch.nn.AvgPool2d: lambda module, name: nn.AvgPool2d(
            module.kernel_size, module.stride, module.padding, module.ceil_mode,
            module.count_include_pad, module.divisor_override),
        torch.nn.AdaptiveAvgPool2d: lambda module, name: nn.AdaptiveAvgPool2d(module.output_size),
        # inplace only saves PyTorch memory: Mint's dropout computes the same without it.
        torch.nn.Dropout: lambda module, name: nn.Dropout(module.p),
        torch.nn.Dropout2d: lambda module, name: nn.Dropout2d(module.p),
        torch.nn.ReLU: lambda module, name: nn.ReLU(),
        torch.nn.LeakyReLU: lambda module, name: nn.LeakyReLU(module.negative_slope),
        torch.nn.Sigmoid: lambda module, name: nn.Sigmoid(),
        torch.nn.Tanh: lambda module, name: nn.Tanh(),
        torch.nn.Softplus: lambda module, name: nn.Softplus(module.beta, module.threshold),
        torch.nn.GELU: lambda module, name: nn.GELU(module.approximate),
        torch.nn.SiLU: lambda module, name: nn.SiLU(),
        torch.nn.Identity: lambda module, name: nn.Identity(),
        torch.nn.Softmax: _softmax_from_torch,
        torch.nn.LogSoftmax: _softmax_from_torch,
        torch.nn.BatchNorm1d: _batch_norm_from_torch,
        torch.nn.BatchNorm2d: _batch_norm_from_torch,
        **interop_transformer.from_torch_entries(torch),
    })
    return registry


def _softmax_from_torch(module, name):
    if module.dim is None:
        raise _unsupported(module, name, "dim=None (PyTorch's deprecated implicit dim)")
    return getattr(nn, type(module).__name__)(module.dim)


def _unsupported(module, name, what):
    return ValueError(f"from_torch: {type(module).__name__} {name!r} has {what}, which Mint's "
                      f"{type(module).__name__} does not support")


def _weights_of(module, name):
    """``module``'s state_dict as NumPy arrays, and their dtype (float32 or float64: that of its
    first floating-point array, float32 when it has none)."""
    state = {key: value.detach().cpu().numpy() for key, value in module.state_dict().items()}
    dtype = next((str(value.dtype) for value in state.values() if value.dtype.kind == "f"),
                 "float32")
    if dtype not in _TORCH_DTYPES:
        raise TypeError(f"from_torch: {type(module).__name__} {name!r} has dtype {dtype}; Mint "
                        f"computes in float32 or float64 (convert with module.float())")
    return state, np.dtype(dtype)


def _with_state(layer, state):
    layer.load_state_dict(state)
    return layer


def _sequential_from_torch(sequential, name):
    return nn.Sequential({child: _from_torch(module, child_name(name, child))
                          for child, module in sequential.named_children()})


def _module_list_from_torch(modules, name):
    return nn.ModuleList(_from_torch(module, child_name(name, child))
                         for child, module in modules.named_children())


def _module_dict_from_torch(modules, name):
    return nn.ModuleDict({child: _from_torch(module, child_name(name, child))
                          for child, module in modules.named_children()})


def _residual_from_torch(module, name):
    shortcut = None if module.shortcut is None else _from_torch(module.shortcut,
                                                                child_name(name, "shortcut"))
    return nn.Residual(_from_torch(module.body, child_name(name, "body")), shortcut)


def _linear_from_torch(module, name):
    state, dtype = _weights_of(module, name)
    return _with_state(nn.Linear(module.in_features, module.out_features,
                                 bias=module.bias is not None, dtype=dtype), state)


def _conv2d_from_torch(module, name):
    if module.padding_mode != "zeros":
        raise _unsupported(module, name, f"padding_mode={module.padding_mode!r}")
    state, dtype = _weights_of(module, name)
    return _with_state(nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                                 module.stride, module.padding, module.dilation, module.groups,
                                 bias=module.bias is not None, dtype=dtype), state)


def _batch_norm_from_torch(module, name):
    state, dtype = _weights_of(module, name)
    return _with_state(getattr(nn, type(module).__name__)(
        module.num_features, module.eps, module.momentum, module.affine,
        module.track_running_stats, bias=module.bias is not None, dtype=dtype), state)


def _conv_transpose2d_from_torch(module, name):
    state, dtype = _weights_of(module, name)
    return _with_state(nn.ConvTranspose2d(module.in_channels, module.out_channels,
                                          module.kernel_size, module.stride, module.padding,
                                          module.output_padding, module.groups,
                                          bias=module.bias is not None,
                                          dilation=module.dilation, dtype=dtype), state)


def _max_pool2d_from_torch(module, name):
    if module.return_indices:
        raise _unsupported(module, name, "return_indices=True")
    return nn.MaxPool2d(module.kernel_size, module.stride, module.padding, module.dilation,
                        module.ceil_mode)


def _flatten_from_torch(module, name):
    if module.start_dim < 0 or module.end_dim != -1:
        raise _unsupported(module, name, f"start_dim={module.start_dim}, "
                                         f"end_dim={module.end_dim} (Mint flattens from a "
                                         f"start_dim >= 0 to the last dimension)")
    return nn.Flatten(module.start_dim)
