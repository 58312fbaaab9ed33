"""Modules of one's own (mint.composite): a user's torchvision-style BasicBlock, the README's
DenseBlock and a block holding a block are exported to ONNX (and run in ONNX Runtime),
summarised and converted to PyTorch without Mint knowing their classes; the converted module
computes the outputs and gradients of the user's forward and backward. A forward that does
more than call sub-modules, add and concatenate is refused, naming the module and the reason."""

import numpy as np
import pytest

import mint.onnx
from helpers import assert_close, requires_torch, torch
from mint import functional as F
from mint import models, nn
from mint.composite import Step, trace
from mint.interop import to_torch
from mint.registry import UnsupportedLayerError
from mint.summarize import summary
from test_composition import readme_dense_block
from test_interop import mint_pass, torch_pass
from test_onnx import onnx, requires_onnx, run_onnxruntime


class BasicBlock(nn.Module):
    """torchvision's BasicBlock as a user writes it for Mint: its attribute names and
    ``out += identity``; one ReLU instance per call (a Mint module is one call site)."""

    def __init__(self, inplanes, planes, stride=1):
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))
        self.relu_out = nn.ReLU()

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu_out(out)

    def backward(self, grad_out):
        grad = self.relu_out.backward(grad_out)
        grad_x = self.conv1.backward(self.bn1.backward(self.relu.backward(
            self.conv2.backward(self.bn2.backward(grad)))))
        return grad_x + (grad if self.downsample is None else self.downsample.backward(grad))


DenseBlock = readme_dense_block()  # the README's, as it is there


class TwoWays(nn.Module):
    """A block holding a block: ``np.add(dense(x), cat(x, conv(x)))`` along channels."""

    def __init__(self, channels):
        self.channels = channels
        self.dense = DenseBlock(channels, 2)
        self.side = nn.Conv2d(channels, 2, 1)

    def forward(self, x):
        return np.add(self.dense(x), np.concatenate((x, self.side(x)), 1))

    def backward(self, grad_out):
        grad_side = self.side.backward(grad_out[:, self.channels:])
        return self.dense.backward(grad_out) + grad_out[:, :self.channels] + grad_side


def resnet_like():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), BasicBlock(4, 4), BasicBlock(4, 6, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))


def densenet_like():
    return nn.Sequential(nn.Conv2d(2, 4, 3), DenseBlock(4, 3), TwoWays(7), nn.Flatten(),
                         nn.Linear(9 * 5 * 5, 3))


MODELS = {"resnet_like": resnet_like, "densenet_like": densenet_like}
IN_SHAPE = (2, 7, 7)


def random_model(build, dtype, seed=0):
    """``build()`` in ``dtype`` with random BatchNorm statistics and affine parameters."""
    mint.manual_seed(seed)
    model = build().to(dtype)
    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.data[...] = rng.normal(0, 0.5, module.num_features)
            module.running_var.data[...] = rng.uniform(0.5, 2, module.num_features)
            module.weight.data[...] = rng.uniform(0.5, 1.5, module.num_features)
            module.bias.data[...] = rng.normal(0, 0.3, module.num_features)
    return model


def test_a_forward_is_traced_into_calls_sums_and_concatenations():
    block = TwoWays(3)
    program = trace(block)
    assert program.steps == (Step("call", (0,), "dense"), Step("call", (0,), "side"),
                             Step("concat", (0, 2), axis=1), Step("add", (1, 3)))
    assert program.output == 4 and program.modules == {"dense": block.dense, "side": block.side}
    user_block = BasicBlock(4, 6, 2)
    assert [step.name for step in trace(user_block).steps if step.kind == "call"] == [
        "downsample", "conv1", "bn1", "relu", "conv2", "bn2", "relu_out"]
    assert user_block.training  # traced as in eval mode, given its mode back


@requires_torch
@pytest.mark.parametrize("name", MODELS)
def test_to_torch_computes_the_users_forward_and_backward(name):
    model = random_model(MODELS[name], np.float64)
    module = to_torch(model)
    assert module.state_dict().keys() == model.state_dict().keys()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, *IN_SHAPE))
    grad_out = rng.standard_normal((3, 3))
    (output, grad_x, grads), expected = (mint_pass(model, x, grad_out),
                                         torch_pass(module, x, grad_out))
    assert_close(output, expected[0], err_msg="output")
    assert_close(grad_x, expected[1], err_msg="input gradient")
    for key, grad in grads.items():
        assert_close(grad, expected[2][key], err_msg=key)
    model.eval()  # both updated their running statistics once
    module.eval()
    with torch.no_grad():
        assert_close(model(x), module(torch.from_numpy(x)).numpy())


@requires_onnx
@pytest.mark.parametrize("name", MODELS)
def test_export_runs_in_onnxruntime_as_in_mint(name, tmp_path):
    model = random_model(MODELS[name], np.float32)
    proto = mint.onnx.export(model, tmp_path / "model.onnx", (1, *IN_SHAPE))
    operators = {node.op_type for node in proto.graph.node}
    assert ("Concat" if name == "densenet_like" else "Add") in operators
    for batch in (1, 5):
        x = np.random.default_rng(batch).standard_normal((batch, *IN_SHAPE), np.float32)
        assert_close(run_onnxruntime(tmp_path / "model.onnx", x), model.eval()(x))


def test_summary_has_a_row_per_sub_module_call():
    model = random_model(densenet_like, np.float32)
    table = summary(model, (4, *IN_SHAPE))
    assert [(row.name, row.output_shape) for row in table.layers] == [
        ("0", (4, 4, 5, 5)), ("1.conv", (4, 3, 5, 5)), ("1.relu", (4, 3, 5, 5)),
        ("2.dense.conv", (4, 2, 5, 5)), ("2.dense.relu", (4, 2, 5, 5)),
        ("2.side", (4, 2, 5, 5)), ("3", (4, 225)), ("4", (4, 3))]
    assert table.total_parameters == sum(p.data.size for p in model.parameters())
    # a 1x1 convolution: one product per input channel plus the bias, per output value
    assert table.layers[5].multiply_adds == 4 * 2 * 5 * 5 * (7 + 1)


@requires_torch
@requires_onnx
def test_models_resnet18_exports_summarises_and_converts(tmp_path):
    mint.manual_seed(0)
    model = random_model(lambda: models.resnet18((3, 32, 32), 10), np.float32)
    table = summary(model, (1, 3, 32, 32))
    assert table.total_parameters == 11_181_642  # torchvision's, with a 10-class fc
    assert table.layers[4].name == "layer1.0.conv1"
    mint.onnx.export(model, tmp_path / "resnet18.onnx", (1, 3, 32, 32))
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32), np.float32)
    expected = model.eval()(x)
    assert_close(run_onnxruntime(tmp_path / "resnet18.onnx", x), expected)
    with torch.no_grad():
        assert_close(to_torch(model)(torch.from_numpy(x)).numpy(), expected)


class Untraceable(nn.Module):
    def __init__(self, forward):
        self.conv = nn.Conv2d(2, 2, 1)
        self.other = forward

    def forward(self, x):
        return self.other(self, x)


OUTSIDER = nn.ReLU()


@pytest.mark.parametrize(("forward", "reason"), [
    (lambda self, x: 2 * self.conv(x), "unsupported operand type"),
    (lambda self, x: F.relu(self.conv(x)), r"its forward failed on a traced value \(TypeError"),
    (lambda self, x: np.maximum(self.conv(x), 0), "it calls numpy.maximum"),
    (lambda self, x: self.conv(x) + np.ones(2), "it adds something that is neither its input "
                                                "nor a sub-module's output"),
    (lambda self, x: OUTSIDER(x), "it calls a ReLU that is not one of its sub-modules"),
    (lambda self, x: self.conv(x, x), "it calls its sub-module 'conv' with 2 arguments"),
    (lambda self, x: np.zeros(3), "its forward returns a ndarray, not a value computed from"),
])
def test_a_forward_that_cannot_be_traced_is_refused_by_name(forward, reason, tmp_path):
    model = nn.Sequential(nn.ReLU(), Untraceable(forward))
    conversions = [lambda: summary(model, (1, 2, 3, 3))]
    if torch is not None:
        conversions.append(lambda: to_torch(model))
    if onnx is not None:
        conversions.append(lambda: mint.onnx.export(model, tmp_path / "m.onnx", (1, 2, 3, 3)))
    for convert in conversions:
        with pytest.raises(UnsupportedLayerError,
                           match=rf"layer '1' of type Untraceable is not supported .*{reason}"):
            convert()

