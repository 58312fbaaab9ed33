"""mint.models' torchvision networks (resnet18/34/50, vgg11_bn/vgg16_bn) against the same
networks in PyTorch, built with torchvision's classes and names (tests/torchvision_layout.py):
the torch state_dict, with random BatchNorm statistics and affine parameters, loads with no key
mapping, and outputs, gradients and updated running statistics agree in eval and train mode."""

import importlib

import numpy as np
import pytest

import mint
from helpers import requires_torch, torch
from mint import models
from mint.interop import from_torch, to_torch

layout = None if torch is None else importlib.import_module("torchvision_layout")

# The bar: float64 1e-10, float32 1e-5, relative to the largest magnitude. In train
# mode float32 gets 1e-4: the batch statistics of 2 images amplify rounding, PyTorch's own
# float32 output is 4e-5 from its float64 one on resnet50 (Mint's: 4e-5 to 1e-4).
TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
TRAIN_FLOAT32 = 1e-4


def check_close(actual, expected, tolerance, what):
    """max |actual - expected| / max |expected| <= ``tolerance`` (one pass over VGG's 100M
    weights, where assert_allclose takes seconds); returns that relative error.

    A convolution's bias before a train-mode batch norm has gradient 0 in exact arithmetic
    (the batch mean is taken out): where ``expected`` is below 1e-12 (rounding noise, 1e-16),
    the error is absolute."""
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    error = float(np.max(np.abs(actual - expected)))
    scale = float(np.max(np.abs(expected)))
    if scale > 1e-12:
        error /= scale
    assert error <= tolerance, f"{what}: relative error {error:.3g} > {tolerance}"
    return error


def randomize_batch_norms(reference, seed):
    """Running statistics and affine parameters away from PyTorch's 0/1 initialisation."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.5, generator=generator)
                module.running_var.uniform_(0.5, 2, generator=generator)
                module.num_batches_tracked.fill_(7)
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0, 0.3, generator=generator)


def twins(name, dtype, in_channels=3, num_classes=10, seed=0, **kwargs):
    """torchvision's ``name`` in PyTorch with random weights and statistics, and Mint's, which
    loaded its state_dict as it is (``kwargs``: VGG's ``dropout``)."""
    torch.manual_seed(seed)
    reference = getattr(layout, name)(num_classes=num_classes, **kwargs)
    if in_channels != 3:  # how torchvision users change the input channels
        first = "features.0" if name.startswith("vgg") else "conv1"
        parent, _, child = first.rpartition(".")
        old = reference.get_submodule(first)
        setattr(reference.get_submodule(parent) if parent else reference, child,
                torch.nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride,
                                old.padding, bias=old.bias is not None))
    randomize_batch_norms(reference, seed)
    reference.to(getattr(torch, np.dtype(dtype).name))
    model = getattr(models, name)((in_channels, 32, 32), num_classes, **kwargs).to(dtype)
    model.load_state_dict({key: value.numpy() for key, value in reference.state_dict().items()})
    return model, reference


def compare(model, reference, x, train):
    """Outputs; in train mode also the updated buffers and, in float64, the input gradient and
    every parameter's gradient. Returns the largest relative error of each kind.

    float32 gradients are not compared: through train-mode BatchNorm over a few values per
    channel (resnet18's layer4 on 64 x 64 images sees 2 x 2 x 2) they lose most digits to
    cancellation, PyTorch's too (its float32 input gradient is 1.4e-2 from its float64 one,
    Mint's 2.8e-2), while the float64 twins agree to 5e-14."""
    model.train(train)
    reference.train(train)
    x_torch = torch.tensor(x, requires_grad=True)
    expected = reference(x_torch)
    out = model(x)
    tolerance = TRAIN_FLOAT32 if train and out.dtype == np.float32 else TOLERANCE[out.dtype]
    errors = {"output": check_close(out, expected.detach().numpy(), tolerance, "output")}
    if train:
        torch_buffers = dict(reference.named_buffers())
        for name, buffer in model.named_buffers():
            check_close(buffer.data, torch_buffers[name].numpy(), tolerance, name)
    if not train or out.dtype != np.float64:
        return errors
    grad_out = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype)
    grad_x = model.backward(grad_out)
    expected.backward(torch.tensor(grad_out))
    torch_parameters = dict(reference.named_parameters())
    errors["gradients"] = max(
        check_close(grad_x, x_torch.grad.numpy(), tolerance, "input gradient"),
        *(check_close(parameter.grad, torch_parameters[name].grad.numpy(), tolerance,
                      f"gradient of {name}") for name, parameter in model.named_parameters()))
    return errors


@requires_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resnet18_loads_torchvisions_state_dict_and_computes_the_same(dtype):
    model, reference = twins("resnet18", dtype)
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(dtype)
    compare(model, reference, x, train=False)  # running statistics
    compare(model, reference, x, train=True)   # batch statistics; gradients; updates
    compare(model, reference, x, train=False)  # the updated statistics


@requires_torch
@pytest.mark.parametrize(("name", "dtype", "train_too"), [
    ("resnet34", np.float64, False), ("resnet50", np.float64, True),
    ("vgg11_bn", np.float64, False), ("vgg16_bn", np.float32, False)])
def test_torchvision_networks_load_torchvisions_state_dicts_and_compute_the_same(
        name, dtype, train_too):
    """As resnet18 (Bottleneck blocks in resnet50), fewer cases to keep the time down (VGG's
    133M parameters take seconds to draw and compare; its backward is a Sequential's, of
    layers tested alone); VGG on 32 x 32 images, the smallest it takes (its 7 x 7 average
    pooling then repeats one value)."""
    model, reference = twins(name, dtype, **({"dropout": 0.0} if name.startswith("vgg") else {}))
    size = 32 if name.startswith("vgg") else 64
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(dtype)
    compare(model, reference, x, train=False)
    if train_too:
        compare(model, reference, x, train=True)
        compare(model, reference, x, train=False)


@requires_torch
def test_resnet18_takes_other_input_channels_and_classes():
    model, reference = twins("resnet18", np.float64, in_channels=1, num_classes=5)
    x = np.random.default_rng(0).standard_normal((2, 1, 40, 36))
    assert compare(model, reference, x, train=False)["output"] < 1e-10
    assert model(x).shape == (2, 5)


def test_resnet18_has_torchvisions_keys_parameters_and_initialisation():
    mint.manual_seed(0)
    model = models.resnet18()
    state = model.state_dict()
    assert len(state) == 122 and len(list(model.parameters())) == 62
    assert sum(parameter.data.size for parameter in model.parameters()) == 11_689_512
    for key in ("conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
                "layer2.0.downsample.0.weight", "layer2.0.downsample.1.num_batches_tracked",
                "layer4.1.conv2.weight", "fc.weight", "fc.bias"):
        assert key in state, key
    assert "layer1.0.downsample.0.weight" not in state  # same shape: identity shortcut
    assert [name for name, _ in model.named_children()] == [
        "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool",
        "flatten", "fc"]
    block = model.layer2[0]
    assert [name for name, _ in block.named_children()] == [
        "conv1", "bn1", "relu", "relu2", "conv2", "bn2", "downsample"]
    assert (block.conv1.stride, block.downsample[0].stride) == ((2, 2), (2, 2))
    # torchvision's initialisation: convolutions N(0, 2 / fan_out), batch norms 1 and 0
    weight = model.layer4[1].conv2.weight.data
    assert abs(weight.std() / np.sqrt(2 / (512 * 9)) - 1) < 0.01 and abs(weight.mean()) < 1e-3
    assert np.all(model.layer3[0].bn1.weight.data == 1) and not model.layer3[0].bn1.bias.data.any()


def test_torchvision_models_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"resnet18: in_shape must be \(channels, height, "):
        models.resnet18((224, 224))
    with pytest.raises(TypeError, match="resnet50: num_classes must be an int, got 2.5"):
        models.resnet50(num_classes=2.5)
    with pytest.raises(ValueError, match="vgg11_bn: height and width must be at least 32"):
        models.vgg11_bn((3, 28, 28))
    with pytest.raises(ValueError, match=r"vgg16_bn: dropout must be a finite number \[0.0, "):
        models.vgg16_bn(dropout=1.0)
    with pytest.raises(TypeError, match="BasicBlock: downsample must be a mint.nn.Module or "
                                        "None, got str"):
        models.BasicBlock(64, 64, downsample="conv")


# ------------------------------------------------- from_torch and to_torch of torchvision models


@requires_torch
@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg11_bn"])
def test_from_torch_gives_mint_models_layout_and_to_torch_gives_it_back(name):
    """torchvision's classes (by their names and attributes) become mint.models' networks with
    the same keys and results; to_torch returns modules with the same keys and results."""
    dtype = np.float32 if name.startswith("vgg") else np.float64  # VGG: 133M weights
    # train mode (gradients, running statistics) on resnet18 only, to keep the time down
    torch.manual_seed(0)
    reference = getattr(layout, name)(num_classes=10)
    randomize_batch_norms(reference, 0)
    reference.to(getattr(torch, np.dtype(dtype).name))
    model = from_torch(reference)
    assert model.state_dict().keys() == reference.state_dict().keys()
    assert [child for child, _ in model.named_children()] == (
        ["features", "avgpool", "flatten", "classifier"] if name.startswith("vgg") else
        ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool",
         "flatten", "fc"])
    if not name.startswith("vgg"):
        assert type(model.layer2[0]) is (models.Bottleneck if name == "resnet50"
                                         else models.BasicBlock)
        assert model.layer2[0].downsample[0].stride == (2, 2)
    size = 32 if name.startswith("vgg") else 64  # batch statistics of more than 2 values
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(dtype)
    for train in ((False, True, False) if name == "resnet18" else (False,)):
        compare(model, reference, x, train)
    back = to_torch(model).eval()
    assert back.state_dict().keys() == reference.state_dict().keys()
    with torch.no_grad():
        check_close(back(torch.from_numpy(x)).numpy(), reference.eval()(torch.from_numpy(x)),
                    TOLERANCE[np.dtype(dtype)], "to_torch(from_torch(module))")


@requires_torch
def test_from_torch_converts_torchvisions_stages_and_blocks_alone():
    torch.manual_seed(0)
    reference = layout.resnet18().double().eval()
    randomize_batch_norms(reference, 1)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 64, 9, 9)))
    for part in (reference.layer1, reference.layer2[0], layout.Bottleneck(64, 16).double()):
        model = from_torch(part.eval())
        with torch.no_grad():
            check_close(model(x.numpy()), part(x).numpy(), 1e-10, type(part).__name__)


@requires_torch
def test_from_torch_names_what_a_torchvision_class_lacks():
    class BasicBlock(torch.nn.Module):  # torchvision's name, not its attributes
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(2, 2, 3, padding=1)

    with pytest.raises(ValueError, match=r"from_torch: BasicBlock '1' has no \['bn1', 'conv2', "
                                         r"'bn2', 'downsample'\]: a BasicBlock must have "
                                         r"torchvision's attributes"):
        from_torch(torch.nn.Sequential(torch.nn.ReLU(), BasicBlock()))
