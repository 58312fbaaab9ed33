"""Whole networks: a training step and an inference pass of the models of ``mint.models``
(lenet, resnet, resnet18) in Mint and in PyTorch, as :class:`ModelSpec` cases over
:data:`NETWORKS`."""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np

import mint
from mint import models
from mint.bench.specs.common import Case, _either, torch_tensor


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


# The whole-network specs, in the order mint bench runs them.
SPECS = (
    # forward, then backward's two products as large (input and weight gradients)
    ModelSpec("train_step", "step", (("lenet", 64), ("resnet", 64), ("resnet18", 8)),
              make_mint_train_step, make_torch_train_step, passes=3),
    # eval mode, forward only; resnet on 256 images, not 1,000: one of its images costs 4.8x
    # lenet's FLOPs, so 256 are about as much work as lenet's 1,000 (and the vectorized twin
    # takes ~1.2 s a call, not ~5)
    ModelSpec("inference", "forward", (("lenet", 1000), ("resnet", 256), ("resnet18", 8)),
              make_mint_inference, make_torch_inference, passes=1),
)
