"""mint.summary and ``mint summary``: parameters, multiply-adds and the activations kept for
backward, checked against a hand count for lenet, against counts taken from the equivalent
PyTorch modules (and torchinfo when installed), and against the arrays Mint really keeps."""

import math

import numpy as np
import pytest

import mint
from helpers import STRATEGY_NAMES, requires_torch, torch
from layer_cases import CASE_IDS, CASES, example_batch
from mint import models, nn
from mint.checkpoint import save_checkpoint
from mint.interop import to_torch
from mint.registry import UnsupportedLayerError
from test_cli import run as mint_command

try:
    import torchinfo
except ImportError:  # optional: one more reference for the counts
    torchinfo = None

FLOAT32, INT64 = 4, 8  # bytes


def test_lenet_counts_by_hand():
    """lenet on 1x28x28, batch 1: 3x3 convolutions with 1 -> 32 and 32 -> 64 channels, 2x2
    pooling twice, then 64*7*7 -> 128 -> 10."""
    result = mint.summary(models.lenet(), (1, 1, 28, 28))
    assert [layer.parameters for layer in result.layers] == [
        32 * 1 * 9 + 32, 0, 0, 64 * 32 * 9 + 64, 0, 0, 0, 128 * 3136 + 128, 0, 10 * 128 + 10]
    assert result.total_parameters == 421_642
    assert [layer.multiply_adds for layer in result.layers] == [
        32 * 28 * 28 * (1 * 9 + 1), 0, 0, 64 * 14 * 14 * (32 * 9 + 1), 0, 0, 0,
        128 * (3136 + 1), 0, 10 * (128 + 1)]
    assert result.total_multiply_adds == 4_278_922
    # The rows follow Sequential.execution_order: each ReLU runs after the pool that follows it.
    assert [layer.name for layer in result.layers] == [
        "0", "2", "1", "3", "5", "4", "6", "7", "8", "9"]
    assert [layer.output_shape for layer in result.layers] == [
        (1, 32, 28, 28), (1, 32, 14, 14), (1, 32, 14, 14), (1, 64, 14, 14), (1, 64, 7, 7),
        (1, 64, 7, 7), (1, 3136), (1, 128), (1, 128), (1, 10)]
    # Kept for backward: the image (conv 0), argmax 2, pooled 2 (ReLU 1), ReLU 1's output
    # (conv 3), argmax 5, pooled 5 (ReLU 4), linear 7's input (ReLU 4's output, flattened),
    # linear 7's output (ReLU 8), ReLU 8's output (linear 9).
    assert result.activation_bytes == 154_688 == (
        FLOAT32 * (28 * 28 + 2 * 32 * 14 * 14 + 2 * 64 * 7 * 7 + 128 + 128)
        + INT64 * (32 * 14 * 14 + 64 * 7 * 7))
    assert result.parameter_bytes == 421_642 * FLOAT32


def test_counts_that_depend_on_the_batch_grow_linearly_with_it():
    one, five = (mint.summary(models.lenet(), (batch, 1, 28, 28)) for batch in (1, 5))
    assert five.total_parameters == one.total_parameters
    assert five.total_multiply_adds == 5 * one.total_multiply_adds
    assert five.activation_bytes == 5 * one.activation_bytes


def output_shape(model, shape):
    model.eval()
    return model(example_batch(shape, 3)).shape


def in_mint_execution_order(module):
    """The PyTorch twin of a Mint model with each Sequential's modules in the order Mint runs
    them (``Sequential.execution_order``: a ReLU before a MaxPool2d runs after it), as
    mint.summary lists them."""
    for child in module.modules():
        if isinstance(child, torch.nn.Sequential):
            items = list(child._modules.items())
            for index in range(len(items) - 1):
                if (type(items[index][1]) is torch.nn.ReLU
                        and type(items[index + 1][1]) is torch.nn.MaxPool2d):
                    items[index], items[index + 1] = items[index + 1], items[index]
            child._modules.clear()
            child._modules.update(items)
    return module


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_counts_equal_those_taken_from_the_pytorch_modules(case):
    """Per layer, in the order the layers run: output shape and parameters as PyTorch has them,
    and multiply-adds as PyTorch's FLOP counter gives them (2 per multiply-add, biases left
    out) plus one per output value of a layer with a bias."""
    from torch.utils.flop_counter import FlopCounterMode

    _, build, shape = case
    model = build(np.float32)
    module = in_mint_execution_order(to_torch(model)).eval()
    leaves = [m for m in module.modules() if not list(m.children())]
    seen = []  # (leaf, input, output) per call, in the order they run

    def keep(leaf, inputs, output):  # returns None: the output stays as it is
        seen.append((leaf, inputs[0], output))

    hooks = [leaf.register_forward_hook(keep) for leaf in leaves]
    with torch.no_grad():
        module(torch.from_numpy(example_batch(shape, 3)))
    for hook in hooks:
        hook.remove()
    expected = []
    for leaf, x, output in seen:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            leaf(x)
        bias = getattr(leaf, "bias", None) is not None
        expected.append((tuple(output.shape), sum(p.numel() for p in leaf.parameters()),
                         counter.get_total_flops() // 2 + (output.numel() if bias else 0)))
    result = mint.summary(model, (3, *shape))
    assert [(layer.output_shape, layer.parameters, layer.multiply_adds)
            for layer in result.layers] == expected


@pytest.mark.skipif(torchinfo is None or torch is None,
                    reason="torchinfo or PyTorch is not installed (pip install torchinfo)")
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_parameters_and_multiply_adds_equal_torchinfo(case):
    _, build, shape = case
    model = build(np.float32)
    if any(isinstance(layer, nn.ConvTranspose2d) for layer in model.modules()):
        pytest.skip("torchinfo counts a ConvTranspose2d's weights once per output pixel, as a "
                    "Conv2d's, about stride**2 times too many; PyTorch's FLOP counter is checked")
    reference = torchinfo.summary(in_mint_execution_order(to_torch(model)), input_size=(2, *shape),
                                  verbose=0)
    result = mint.summary(model, (2, *shape))
    leaves = [layer for layer in reference.summary_list if layer.is_leaf_layer]
    # torchinfo counts a batch norm as the batch size times its parameters; Mint counts its
    # scale and shift, one multiply-add per output value.
    expected = [math.prod(layer.output_size) if layer.class_name.startswith("BatchNorm")
                else layer.macs for layer in leaves]
    assert expected == [layer.multiply_adds for layer in result.layers]
    assert [tuple(layer.output_size) for layer in leaves] == \
        [layer.output_shape for layer in result.layers]
    assert reference.total_params == result.total_parameters
    assert reference.total_mult_adds - sum(layer.macs for layer in leaves) + sum(expected) == \
        result.total_multiply_adds


def bytes_kept_by_mint(model, x):
    """The bytes of the distinct arrays Mint's layers keep after a training forward."""
    model.train()
    model(x)
    storage = {}
    for module in model.modules():
        for value in module._saved or ():
            if isinstance(value, np.ndarray):
                while isinstance(value.base, np.ndarray):  # a view: count what it views
                    value = value.base
                storage[value.__array_interface__["data"][0]] = value.nbytes
    return sum(storage.values())


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_activation_memory_is_what_a_training_forward_keeps(case, strategy):
    _, build, shape = case
    model = build(np.float32)
    with mint.use_strategy(strategy):
        kept = bytes_kept_by_mint(model, example_batch(shape, 3))
    assert mint.summary(model, (3, *shape)).activation_bytes == kept


def test_sigmoid_output_kept_by_the_next_linear_counts_once():
    model = nn.Sequential(nn.Linear(4, 6), nn.Sigmoid(), nn.Linear(6, 2))
    result = mint.summary(model, (5, 4))
    assert [layer.kept_bytes for layer in result.layers] == [5 * 4 * 4, 5 * 6 * 4, 0]
    assert result.activation_bytes == bytes_kept_by_mint(model, example_batch((4,), 5))


def test_float64_models_count_eight_bytes_a_value():
    result = mint.summary(models.mlp((1, 8, 8), hidden=(8,)).to(np.float64), (2, 1, 8, 8))
    assert result.dtype == np.float64
    assert result.parameter_bytes == 8 * (64 * 8 + 8 + 8 * 10 + 10)
    assert result.activation_bytes == 8 * 2 * (64 + 8 + 8)


def test_the_table_has_a_row_per_layer_and_the_totals():
    text = str(mint.summary(models.lenet(), (1, 1, 28, 28)))
    lines = text.splitlines()
    assert lines[0].split() == ["Layer", "(type)", "Output", "shape", "Parameters",
                                "Multiply-adds", "Kept", "for", "backward"]
    assert lines[2].startswith("0 (Conv2d)") and "(1, 32, 28, 28)" in lines[2]
    assert lines[11].startswith("9 (Linear)")
    assert lines[13].split()[:3] == ["Total", "421,642", "4,278,922"]
    assert "Activations kept for backward in one training step (batch of 1): 154.7 kB " \
           "(154,688 bytes)" in text
    assert repr(mint.summary(models.lenet(), (1, 1, 28, 28))) == text


def test_summary_gives_each_module_its_mode_back():
    model = models.mlp()
    model[1].eval()
    mint.summary(model, (1, 1, 28, 28))
    assert [m.training for m in model.modules()] == [True, True, False, True, True, True, True]


class Doubling(nn.Module):
    def forward(self, x):
        return 2 * x


def test_a_layer_it_cannot_count_is_named():
    with pytest.raises(UnsupportedLayerError, match=r"summary: layer '1' of type Doubling"):
        mint.summary(nn.Sequential(nn.ReLU(), Doubling()), (1, 4))


@pytest.mark.parametrize("input_shape, message", [
    ((28,), "input_shape must be"), ((1, -1, 28, 28), "input_shape must be"),
    ((1, 2, 28, 28), "expected input with 1 channels"),
])
def test_bad_input_shapes_are_refused_with_a_message(input_shape, message):
    with pytest.raises(ValueError, match=message):
        mint.summary(models.lenet(), input_shape)


# ----------------------------------------------------------------------------- mint summary


def test_mint_summary_of_a_model_by_name(capsys):
    status, out, err = mint_command(capsys, "summary", "--model", "lenet", "--input", "1,28,28")
    assert status == 0, err
    assert out.startswith("lenet, input batch (1, 1, 28, 28)")
    assert "421,642" in out and "4,278,922" in out and "154,688 bytes" in out


def test_mint_summary_of_a_checkpoint_with_a_batch(tmp_path, capsys):
    architecture = models.architecture("lenet", in_shape=(3, 12, 16), num_classes=10)
    model = models.build(architecture)
    save_checkpoint(tmp_path / "model.npz", model, architecture)
    status, out, err = mint_command(capsys, "summary", tmp_path / "model.npz", "--batch", 4)
    assert status == 0, err
    expected = mint.summary(model, (4, 3, 12, 16))
    assert f"{expected.total_parameters:,}" in out
    assert f"{expected.total_multiply_adds:,}" in out


@pytest.mark.parametrize("argv, message", [
    (["summary"], "give either a checkpoint FILE or --model NAME"),
    (["summary", "model.npz", "--model", "mlp"], "give either a checkpoint FILE or --model"),
    (["summary", "model.npz", "--input", "1,28,28"], "--input applies to --model"),
    (["summary", "--model", "lenet", "--input", "1,28"], "expected channels,height,width"),
    (["summary", "--model", "lenet", "--input", "1,2,28"], "height and width must be at "
                                                           "least 4"),
    (["summary", "--model", "lenet", "--batch", "0"], "--batch"),
])
def test_mint_summary_usage_errors_are_one_line(capsys, argv, message):
    status, _, err = mint_command(capsys, *argv)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
