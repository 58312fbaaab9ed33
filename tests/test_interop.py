"""PyTorch round trip: to_torch(from_torch(m)) and from_torch(to_torch(m)) keep outputs and
gradients, for every layer type and every model of mint.models; and each side equals the other
within the float64 tolerance."""

import sys
from collections import OrderedDict

import numpy as np
import pytest

import mint
from helpers import TOLERANCES, assert_close, requires_torch, torch
from layer_cases import CASE_IDS, CASES, example_batch
from mint import models, nn
from mint.interop import from_torch, to_torch
from mint.registry import UnsupportedLayerError


def mint_pass(model, x, grad_out):
    """Output, input gradient and parameter gradients of one forward and backward in Mint."""
    model.train()
    model.zero_grad()
    output = model(x)
    grad_x = model.backward(grad_out)
    return output, grad_x, {name: p.grad.copy() for name, p in model.named_parameters()}


def torch_pass(module, x, grad_out):
    """The same in PyTorch."""
    module.train()
    module.zero_grad()
    x = torch.tensor(x, requires_grad=True)
    output = module(x)
    output.backward(torch.from_numpy(grad_out))
    return (output.detach().numpy(), x.grad.numpy(),
            {name: p.grad.numpy().copy() for name, p in module.named_parameters()})


def assert_passes_equal(actual, expected, tolerances=None):
    """Outputs, input gradients and parameter gradients: equal, or close to ``tolerances``."""
    (out, grad_x, grads), (expected_out, expected_grad_x, expected_grads) = actual, expected
    compare = np.testing.assert_array_equal if tolerances is None else \
        (lambda a, b, err_msg="": assert_close(a, b, tolerances, err_msg))
    compare(out, expected_out, err_msg="output")
    compare(grad_x, expected_grad_x, err_msg="input gradient")
    assert grads.keys() == expected_grads.keys()
    for name in grads:
        compare(grads[name], expected_grads[name], err_msg=name)


def torch_native(build, dtype):
    """The torch module of a case with PyTorch's own initial weights."""
    module = to_torch(build(dtype))
    torch.manual_seed(0)
    for layer in module.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    return module


def random_pass_inputs(model_output_shape, shape, seed=0):
    x = example_batch(shape, 3, np.float64, seed)
    grad_out = np.random.default_rng(seed + 1).standard_normal(model_output_shape)
    return x, grad_out


def output_shape(model, x):
    model.eval()
    return model(x).shape


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_mint_to_torch_and_back_keeps_outputs_and_gradients(case):
    _, build, shape = case
    mint.manual_seed(0)
    model = build(np.float64)
    x, grad_out = random_pass_inputs(output_shape(model, example_batch(shape, 3, np.float64)),
                                     shape)
    module = to_torch(model)
    back = from_torch(module)
    assert_passes_equal(mint_pass(back, x, grad_out), mint_pass(model, x, grad_out))
    assert_passes_equal(torch_pass(module, x, grad_out), mint_pass(model, x, grad_out),
                        TOLERANCES)


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_torch_to_mint_and_back_keeps_outputs_and_gradients(case):
    _, build, shape = case
    module = torch_native(build, np.float64)
    with torch.no_grad():
        out_shape = tuple(module.eval()(torch.from_numpy(example_batch(shape, 3,
                                                                       np.float64))).shape)
    x, grad_out = random_pass_inputs(out_shape, shape, seed=2)
    model = from_torch(module)
    back = to_torch(model)
    assert_passes_equal(torch_pass(back, x, grad_out), torch_pass(module, x, grad_out))
    assert_passes_equal(mint_pass(model, x, grad_out), torch_pass(module, x, grad_out),
                        TOLERANCES)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dicts_keep_keys_values_and_dtype_both_ways(dtype):
    mint.manual_seed(0)
    model = models.lenet().to(dtype)
    module = to_torch(model)
    torch_state = {key: value.numpy() for key, value in module.state_dict().items()}
    assert list(torch_state) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch_state[key].dtype == dtype
        np.testing.assert_array_equal(torch_state[key], value)
    back = from_torch(module).state_dict()
    for key, value in model.state_dict().items():
        assert back[key].dtype == dtype
        np.testing.assert_array_equal(back[key], value)


@requires_torch
def test_each_module_keeps_its_mode_both_ways():
    model = models.lenet()
    model.train()
    model[7].eval()
    module = to_torch(model)
    assert [m.training for m in module.modules()] == [m.training for m in model.modules()]
    module[2].eval()
    assert [m.training for m in from_torch(module).modules()] == \
        [m.training for m in module.modules()]


@requires_torch
def test_conversions_draw_nothing_from_mint_or_torch_generators():
    mint.manual_seed(3)
    expected_mint = mint.runtime.default_generator().bit_generator.state
    torch.manual_seed(3)
    expected_torch = torch.get_rng_state()
    module = to_torch(models.lenet())
    from_torch(module)
    mint.manual_seed(3)
    model = models.mlp()
    mint.manual_seed(3)
    to_torch(model)
    from_torch(to_torch(model))
    assert mint.runtime.default_generator().bit_generator.state == expected_mint
    assert torch.equal(torch.get_rng_state(), expected_torch)


@requires_torch
def test_a_sequential_keeps_its_names_both_ways():
    module = torch.nn.Sequential(OrderedDict(conv=torch.nn.Conv2d(1, 2, 3), act=torch.nn.ReLU(),
                                             flat=torch.nn.Flatten(), fc=torch.nn.Linear(8, 3)))
    model = from_torch(module)
    assert list(model.state_dict()) == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    np.testing.assert_array_equal(model.fc.weight.data, module.fc.weight.detach().numpy())
    assert list(to_torch(model).state_dict()) == list(module.state_dict())
    tail = models.mlp()[2:]  # a slice keeps its keys ("3.weight"), so its twin must too
    assert list(to_torch(tail).state_dict()) == list(tail.state_dict())


@requires_torch
def test_module_lists_and_dicts_keep_their_keys_and_layers_both_ways():
    """A tree of ModuleList and ModuleDict (containers without a forward of their own) converts
    layer by layer: same keys, same weights, each layer computing the same."""
    module = torch.nn.ModuleDict({
        "stem": torch.nn.Conv2d(1, 2, 3, dtype=torch.float64),
        "heads": torch.nn.ModuleList([torch.nn.Linear(4, 3, dtype=torch.float64),
                                      torch.nn.Sequential(torch.nn.ReLU(),
                                                          torch.nn.Linear(4, 2,
                                                                          dtype=torch.float64))]),
    })
    model = from_torch(module)
    assert isinstance(model, nn.ModuleDict) and isinstance(model["heads"], nn.ModuleList)
    assert list(model.state_dict()) == list(module.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 4))
    for mint_head, torch_head in zip(model["heads"], module["heads"], strict=True):
        assert_close(mint_head(x), torch_head(torch.from_numpy(x)).detach().numpy())
    back = to_torch(model)
    assert isinstance(back, torch.nn.ModuleDict) and isinstance(back["heads"], torch.nn.ModuleList)
    for key, value in module.state_dict().items():
        assert torch.equal(back.state_dict()[key], value)


@requires_torch
def test_padding_same_and_valid_stay_strings_both_ways():
    # An even kernel: "same" pads one more row and column after the input than before it.
    same = torch.nn.Conv2d(2, 4, (4, 3), padding="same", dilation=(1, 2), groups=2,
                           dtype=torch.float64)
    model = from_torch(same)
    assert model.padding == "same" and model.groups == 2
    assert to_torch(model).padding == "same"
    assert from_torch(torch.nn.Conv2d(2, 3, 3, padding="valid")).padding == "valid"
    x = example_batch((2, 9, 8), 2, np.float64)
    with torch.no_grad():
        expected = same(torch.from_numpy(x)).numpy()
    assert_close(model.eval()(x), expected)


class Doubling(nn.Module):
    """A user's own layer: no PyTorch equivalent."""

    def forward(self, x):
        return 2 * x


@requires_torch
def test_a_layer_without_conversion_is_named():
    with pytest.raises(UnsupportedLayerError, match=r"layer '1' of type InstanceNorm2d"):
        from_torch(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.InstanceNorm2d(2)))
    with pytest.raises(UnsupportedLayerError, match=r"layer '2\.0' of type Doubling"):
        to_torch(nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sequential(Doubling())))


@requires_torch
def test_dropout_keeps_its_probability_and_kind_both_ways():
    module = to_torch(nn.Sequential(nn.Dropout(0.3), nn.Dropout2d(0.7)))
    assert [(type(m).__name__, m.p) for m in module] == [("Dropout", 0.3), ("Dropout2d", 0.7)]
    back = from_torch(torch.nn.Sequential(torch.nn.Dropout(0.2, inplace=True),
                                          torch.nn.Dropout2d(0.6)))
    assert [(type(m).__name__, m.p) for m in back] == [("Dropout", 0.2), ("Dropout2d", 0.6)]


@requires_torch
@pytest.mark.parametrize("module, error, message", [
    (lambda: torch.nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect"), ValueError,
     "padding_mode='reflect'"),
    (lambda: torch.nn.MaxPool2d(2, return_indices=True), ValueError, "return_indices=True"),
    (lambda: torch.nn.Flatten(0, 2), ValueError, "end_dim=2"),
    (lambda: torch.nn.Flatten(-3), ValueError, "start_dim=-3"),
    (lambda: torch.nn.Linear(3, 2, dtype=torch.float16), TypeError, "dtype float16"),
    (lambda: "a layer", TypeError, "must be a torch.nn.Module"),
])
def test_what_mint_cannot_compute_is_refused_with_a_message(module, error, message):
    with pytest.raises(error, match=message):
        from_torch(module())


def test_without_torch_the_conversions_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ImportError, match=r"mint-nn\[compare\]"):
        to_torch(models.mlp())
