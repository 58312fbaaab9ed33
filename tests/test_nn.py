"""mint.nn: layers against torch.nn, parameters and state dicts, modes, init, validation."""

import re

import numpy as np
import pytest

import mint
from helpers import (
    DTYPES,
    STRATEGY_NAMES,
    assert_close,
    requires_torch,
    shuffled_linspace,
    to_torch,
    torch,
)
from mint import nn

TORCH_DTYPES = {np.float32: "float32", np.float64: "float64"}


def _torch_dtype(dtype):
    return getattr(torch, TORCH_DTYPES[dtype])


# name: (mint layer factory, torch layer factory, input shape)
LAYER_CASES = {
    "linear": (lambda **kw: nn.Linear(5, 3, **kw), lambda: torch.nn.Linear(5, 3), (4, 5)),
    "linear_without_bias": (
        lambda **kw: nn.Linear(6, 2, bias=False, **kw),
        lambda: torch.nn.Linear(6, 2, bias=False), (3, 6),
    ),
    "conv2d_stride2_padding1": (
        lambda **kw: nn.Conv2d(3, 4, 3, stride=2, padding=1, **kw),
        lambda: torch.nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7),
    ),
    "conv2d_rectangular_dilated_without_bias": (
        lambda **kw: nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(0, 1), dilation=2,
                               bias=False, **kw),
        lambda: torch.nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(0, 1), dilation=2,
                                bias=False), (2, 2, 8, 9),
    ),
    "conv2d_groups": (lambda **kw: nn.Conv2d(6, 4, 3, padding=1, groups=2, **kw),
                      lambda: torch.nn.Conv2d(6, 4, 3, padding=1, groups=2), (2, 6, 5, 6)),
    "conv2d_depthwise_strided_without_bias": (
        lambda **kw: nn.Conv2d(4, 8, 3, stride=2, groups=4, bias=False, **kw),
        lambda: torch.nn.Conv2d(4, 8, 3, stride=2, groups=4, bias=False), (2, 4, 7, 6),
    ),
    "conv2d_same_even_kernel_dilated": (
        lambda **kw: nn.Conv2d(3, 5, (2, 4), padding="same", dilation=(3, 1), **kw),
        lambda: torch.nn.Conv2d(3, 5, (2, 4), padding="same", dilation=(3, 1)), (2, 3, 7, 6),
    ),
    "conv_transpose2d_upsample": (
        lambda **kw: nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1, **kw),
        lambda: torch.nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1), (2, 3, 4, 5),
    ),
    "conv_transpose2d_output_padding_groups_dilation": (
        lambda **kw: nn.ConvTranspose2d(4, 6, 3, (2, 3), (1, 0), (1, 2), 2, dilation=(1, 2),
                                        **kw),
        lambda: torch.nn.ConvTranspose2d(4, 6, 3, (2, 3), (1, 0), (1, 2), 2, dilation=(1, 2)),
        (2, 4, 3, 4),
    ),
    "max_pool2d": (lambda **kw: nn.MaxPool2d(2, **kw), lambda: torch.nn.MaxPool2d(2),
                   (2, 3, 6, 6)),
    "max_pool2d_overlapping_padded_ceil": (
        lambda **kw: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True, **kw),
        lambda: torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 2, 7, 8),
    ),
    "flatten": (lambda **kw: nn.Flatten(**kw), lambda: torch.nn.Flatten(), (2, 3, 4, 5)),
    "relu": (lambda **kw: nn.ReLU(**kw), lambda: torch.nn.ReLU(), (3, 4, 5)),
    "leaky_relu": (lambda **kw: nn.LeakyReLU(0.2, **kw), lambda: torch.nn.LeakyReLU(0.2),
                   (3, 4, 5)),
    "sigmoid": (lambda **kw: nn.Sigmoid(**kw), lambda: torch.nn.Sigmoid(), (3, 4, 5)),
    "tanh": (lambda **kw: nn.Tanh(**kw), lambda: torch.nn.Tanh(), (3, 4, 5)),
}


def lenet(**kw):
    """A LeNet-like Sequential (input (N, 1, 28, 28)), in mint."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, **kw), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, **kw), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120, **kw), nn.ReLU(), nn.Linear(120, 84, **kw), nn.ReLU(),
        nn.Linear(84, 10, **kw),
    )


def torch_lenet():
    T = torch.nn
    return T.Sequential(
        T.Conv2d(1, 6, 5, padding=2), T.ReLU(), T.MaxPool2d(2), T.Conv2d(6, 16, 5), T.ReLU(),
        T.MaxPool2d(2), T.Flatten(), T.Linear(400, 120), T.ReLU(), T.Linear(120, 84), T.ReLU(),
        T.Linear(84, 10),
    )


def cached_arrays(module):
    """Every ndarray a module tree holds outside its parameters (its cached activations)."""
    found = []
    for sub in module.modules():
        for value in vars(sub).values():
            items = value if isinstance(value, tuple) else (value,)
            found += [item for item in items if isinstance(item, np.ndarray)]
    return found


# ------------------------------------------------------------------------- layers against torch


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_forward_and_backward_match_torch_module_with_copied_weights(case, strategy,
                                                                           dtype):
    make_mint, make_torch, shape = LAYER_CASES[case]
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    reference = make_torch().to(_torch_dtype(dtype))
    layer = make_mint(strategy=strategy).to(dtype)
    layer.load_state_dict(reference.state_dict())

    x = shuffled_linspace(shape, dtype, seed=0)
    tx = to_torch(x, requires_grad=True)
    expected = reference(tx)
    out = layer(x)
    assert out.dtype == dtype
    assert_close(out, expected.detach().numpy(), err_msg="forward")

    grad_out = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(to_torch(grad_out))
    grad_x = layer.backward(grad_out)
    assert grad_x.dtype == dtype
    assert_close(grad_x, tx.grad.numpy(), err_msg="grad_input")
    torch_parameters = dict(reference.named_parameters())
    assert [name for name, _ in layer.named_parameters()] == list(torch_parameters)
    for name, parameter in layer.named_parameters():
        assert parameter.grad.dtype == dtype
        assert_close(parameter.grad, torch_parameters[name].grad.numpy(), err_msg=name)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_loss_and_gradient_match_torch(reduction, strategy, dtype):
    rng = np.random.default_rng(1)
    logits = (3 * rng.standard_normal((6, 5))).astype(dtype)
    target = rng.integers(0, 5, size=6)
    tlogits = to_torch(logits, requires_grad=True)
    expected = torch.nn.CrossEntropyLoss(reduction=reduction)(tlogits, torch.from_numpy(target))
    expected.backward()

    fn = nn.CrossEntropyLoss(reduction, strategy=strategy)
    loss = fn(logits, target)
    assert type(loss) is float
    np.testing.assert_allclose(loss, expected.item(), rtol=1e-6 if dtype == np.float32 else 1e-12)
    grad = fn.backward()
    assert grad.dtype == dtype
    assert_close(grad, tlogits.grad.numpy())


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_sequential_lenet_forward_and_backward_match_torch(strategy):
    torch.manual_seed(0)
    reference = torch_lenet().double()
    model = lenet(strategy=strategy, dtype=np.float64)
    model.load_state_dict(reference.state_dict())
    x = np.random.default_rng(2).standard_normal((3, 1, 28, 28))
    tx = to_torch(x, requires_grad=True)
    expected = reference(tx)
    assert_close(model(x), expected.detach().numpy())
    grad_out = np.random.default_rng(3).standard_normal((3, 10))
    expected.backward(to_torch(grad_out))
    assert_close(model.backward(grad_out), tx.grad.numpy())
    for (name, parameter), (_, tparam) in zip(model.named_parameters(),
                                              reference.named_parameters(), strict=True):
        assert_close(parameter.grad, tparam.grad.numpy(), err_msg=name)


# --------------------------------------------------------------------------- gradients and modes


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("make_layer, shape", [
    (lambda s: nn.Linear(4, 3, dtype=np.float64, strategy=s), (5, 4)),
    (lambda s: nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64, strategy=s), (2, 2, 5, 5)),
])
def test_parameter_grads_accumulate_across_backward_calls(make_layer, shape, strategy):
    rng = np.random.default_rng(4)
    layer = make_layer(strategy)
    x1, x2 = rng.standard_normal(shape), rng.standard_normal(shape)
    out = layer(x1)
    grad_out = rng.standard_normal(out.shape)

    layer.backward(grad_out)
    single = [p.grad.copy() for p in layer.parameters()]
    assert all(np.any(g != 0) for g in single)
    layer(x1)
    layer.backward(grad_out)  # the same forward and backward again: the gradients add up
    for parameter, grad in zip(layer.parameters(), single, strict=True):
        np.testing.assert_array_equal(parameter.grad, 2 * grad)

    layer.zero_grad()
    assert all(not np.any(p.grad) for p in layer.parameters())
    layer(x2)
    layer.backward(grad_out)
    second = [p.grad.copy() for p in layer.parameters()]
    layer(x1)
    layer.backward(grad_out)  # a second forward/backward adds to the first
    for parameter, first, other in zip(layer.parameters(), single, second, strict=True):
        np.testing.assert_allclose(parameter.grad, first + other, rtol=1e-12)


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_backward_before_forward_raises_runtime_error(case):
    layer = LAYER_CASES[case][0]()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1,), dtype=np.float32))


def test_loss_backward_before_forward_raises_runtime_error():
    with pytest.raises(RuntimeError, match="CrossEntropyLoss.backward called before forward"):
        nn.CrossEntropyLoss().backward()


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_eval_mode_keeps_no_activations_and_backward_raises(case):
    make_layer, _, shape = LAYER_CASES[case]
    layer = make_layer()
    x = shuffled_linspace(shape, np.float32, seed=5)
    out = layer(x)
    if case != "flatten":  # Flatten keeps only the input shape
        assert cached_arrays(layer), "train mode must keep what backward needs"

    assert layer.eval() is layer and not layer.training
    assert not cached_arrays(layer), "eval() must drop the activations kept so far"
    np.testing.assert_array_equal(layer(x), out)
    assert not cached_arrays(layer), "forward in eval mode must keep nothing"
    with pytest.raises(RuntimeError, match="eval mode"):
        layer.backward(np.ones_like(out))

    layer.train()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones_like(out))
    layer(x)
    assert layer.backward(np.ones_like(out)).shape == shape


def test_train_and_eval_reach_every_submodule_of_a_sequential():
    model = lenet()
    model.eval()
    assert not any(module.training for module in model.modules())
    model.train()
    assert all(module.training for module in model.modules())
    x = np.random.default_rng(6).standard_normal((2, 1, 28, 28)).astype(np.float32)
    model.eval()
    model(x)
    assert not cached_arrays(model)


def test_sequential_backward_in_eval_mode_raises_runtime_error():
    model = lenet()
    x = np.zeros((2, 1, 28, 28), dtype=np.float32)
    out = model(x)
    model.eval()
    with pytest.raises(RuntimeError, match="Sequential.backward: the module is in eval mode"):
        model.backward(np.ones_like(out))


@pytest.mark.parametrize("make_layer, shape", [
    (lambda: nn.Linear(4, 3), (2, 4)),
    (lambda: nn.Conv2d(1, 2, 3), (1, 1, 5, 5)),
    (lambda: nn.MaxPool2d(2), (1, 1, 4, 4)),
    (lambda: nn.ReLU(), (2, 3)),
    (lambda: nn.Sequential(nn.Linear(4, 3), nn.Tanh()), (2, 4)),
])
def test_backward_rejects_grad_out_of_another_shape_naming_both(make_layer, shape):
    layer = make_layer()
    out = layer(np.ones(shape, dtype=np.float32))
    wrong = np.ones((*out.shape[:-1], out.shape[-1] + 1), dtype=np.float32)
    message = re.escape(f"grad_out has shape {wrong.shape}, but the last forward output has "
                        f"shape {out.shape}")
    with pytest.raises(ValueError, match=message):
        layer.backward(wrong)


def test_failed_forward_leaves_no_stale_activations_for_backward():
    layer = nn.Linear(4, 3)
    layer(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="expected input with 4 features"):
        layer(np.ones((2, 5), dtype=np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3), dtype=np.float32))


def test_layer_with_strategy_none_follows_the_default_at_call_time(monkeypatch):
    calls = []
    original = mint.STRATEGIES["vectorized"].activation.relu_forward

    def spy(x):
        calls.append(x.size)
        return original(x)

    monkeypatch.setattr(mint.STRATEGIES["vectorized"].activation, "relu_forward", spy)
    default_layer, loop_layer = nn.ReLU(), nn.ReLU(strategy="loop")
    x = np.ones((2, 3), dtype=np.float32)
    with mint.use_strategy("loop"):
        default_layer(x)
    assert calls == []
    with mint.use_strategy("vectorized"):
        default_layer(x)
        loop_layer(x)
    assert calls == [6]


# ------------------------------------------------------------------- parameters and state dicts


@requires_torch
def test_named_parameters_of_lenet_have_torch_names_shapes_and_order():
    model, reference = lenet(), torch_lenet()
    names = [(name, p.shape) for name, p in model.named_parameters()]
    assert names == [(name, tuple(p.shape)) for name, p in reference.named_parameters()]
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
    assert list(model.state_dict()) == list(reference.state_dict())


class _Net(nn.Module):
    """A custom module: attribute names become the dotted prefixes."""

    def __init__(self):
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(self.flatten(self.features(x)))


@requires_torch
def test_named_parameters_of_a_custom_module_use_attribute_names_like_torch():
    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
            self.flatten = torch.nn.Flatten()
            self.fc = torch.nn.Linear(2 * 4 * 4, 3)

    expected = list(TorchNet().state_dict())
    assert expected == ["features.0.weight", "features.0.bias", "fc.weight", "fc.bias"]
    assert list(_Net().state_dict()) == expected
    assert "(features): Sequential(\n    (0): Conv2d(1, 2" in repr(_Net())


def test_shared_parameter_is_listed_once():
    first = nn.Linear(3, 3)
    second = nn.Linear(3, 3)
    second.weight = first.weight
    model = nn.Sequential(first, second)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_state_dict_round_trip_reproduces_the_model_outputs():
    mint.manual_seed(0)
    source = lenet()
    mint.manual_seed(1)
    target = lenet()
    x = np.random.default_rng(7).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert not np.allclose(source(x), target(x))
    state = source.state_dict()
    assert all(type(v) is np.ndarray for v in state.values())
    target.load_state_dict(state)
    np.testing.assert_array_equal(target(x), source(x))
    state["0.weight"] += 1  # state_dict is a snapshot: editing it leaves the model alone
    np.testing.assert_array_equal(target(x), source(x))


@requires_torch
def test_torch_state_dict_loads_into_mint_and_mint_state_dict_into_torch():
    torch.manual_seed(0)
    reference = torch_lenet()
    model = lenet()
    model.load_state_dict(reference.state_dict())  # torch tensors, converted by NumPy
    x = np.random.default_rng(8).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert_close(model(x), reference(to_torch(x)).detach().numpy())

    mint.manual_seed(3)
    other = lenet()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in other.state_dict().items()})
    assert_close(other(x), reference(to_torch(x)).detach().numpy())


def test_load_state_dict_copies_into_the_existing_arrays_keeping_their_dtype():
    layer = nn.Linear(3, 2)
    weight_array = layer.weight.data
    state = {k: v.astype(np.float64) + 0.5 for k, v in layer.state_dict().items()}
    layer.load_state_dict(state)
    assert layer.weight.data is weight_array and weight_array.dtype == np.float32
    np.testing.assert_allclose(layer.weight.data, state["weight"], rtol=1e-7)


def test_load_state_dict_rejects_missing_and_unexpected_keys_naming_them():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    state = model.state_dict()
    del state["2.bias"]
    state["2.running_mean"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys \['2.bias'\], unexpected keys "
                                         r"\['2.running_mean'\]"):
        model.load_state_dict(state)


def test_load_state_dict_rejects_a_shape_mismatch_and_changes_nothing():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    before = model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state["1.weight"] = np.zeros((2, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=re.escape("'1.weight' has shape (2, 1), but the "
                                                   "parameter has shape (1, 2)")):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_to_converts_parameters_and_grads_and_rejects_other_dtypes():
    model = lenet()
    assert model.to(np.float64) is model
    assert all(p.data.dtype == np.float64 and p.grad.dtype == np.float64
               for p in model.parameters())
    out = model(np.zeros((1, 1, 28, 28)))
    assert out.dtype == np.float64
    model.to("float32")
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        model.to(np.int64)


# ------------------------------------------------------------------------------- initialisation


def test_manual_seed_makes_initial_weights_reproducible():
    mint.manual_seed(42)
    first = lenet().state_dict()
    mint.manual_seed(42)
    second = lenet().state_dict()
    mint.manual_seed(43)
    third = lenet().state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert not any(np.array_equal(first[key], third[key]) for key in first)


@pytest.mark.parametrize("make_layer, fan_in", [
    (lambda dtype: nn.Linear(400, 300, dtype=dtype), 400),
    (lambda dtype: nn.Conv2d(6, 64, 5, dtype=dtype), 150),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_initial_weights_and_biases_are_uniform_within_one_over_sqrt_fan_in(make_layer, fan_in,
                                                                            dtype):
    mint.manual_seed(0)
    layer = make_layer(dtype)
    bound = 1 / np.sqrt(fan_in)
    for parameter in (layer.weight, layer.bias):
        values = parameter.data
        assert values.dtype == dtype and parameter.grad.dtype == dtype
        assert not np.any(parameter.grad)
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound  # the whole interval is used
        assert abs(values.mean()) < 0.1 * bound
    weights = layer.weight.data
    np.testing.assert_allclose(weights.std(), bound / np.sqrt(3), rtol=0.02)  # U(-b, b)


# ----------------------------------------------------------------------------------- Sequential


def test_sequential_indexing_slicing_len_and_iteration():
    layers = [nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    assert len(model) == 4
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[-1]
    tail = model[1:3]
    assert isinstance(tail, nn.Sequential) and list(tail) == layers[1:3]
    # The slice keeps PyTorch's keys: the Linear at position 2 stays "2".
    assert [name for name, _ in tail.named_parameters()] == ["2.weight", "2.bias"]
    with pytest.raises(IndexError):
        model[4]


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_sequential_backward_runs_the_modules_in_reverse(strategy):
    first, second = nn.Linear(4, 3, strategy=strategy), nn.Tanh(strategy=strategy)
    model = nn.Sequential(first, second)
    x = np.random.default_rng(9).standard_normal((2, 4)).astype(np.float32)
    grad_out = np.ones((2, 3), dtype=np.float32)
    model(x)
    grad_x = model.backward(grad_out)
    second(first(x))
    expected = first.backward(second.backward(grad_out))
    np.testing.assert_array_equal(grad_x, expected)


def _count_calls(monkeypatch, module, name):
    """Wrap ``module.name`` so that calls are counted; returns the list of call records."""
    calls, original = [], getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)
    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_backward_parameters_gives_backwards_parameter_grads_without_the_input_gradient(
        strategy, monkeypatch):
    model = lenet(strategy=strategy)
    x = np.random.default_rng(5).standard_normal((3, 1, 28, 28)).astype(np.float32)
    grad_out = np.random.default_rng(6).standard_normal((3, 10)).astype(np.float32)
    model(x)
    assert model.backward(grad_out).shape == x.shape
    expected = [p.grad.copy() for p in model.parameters()]

    calls = _count_calls(monkeypatch, mint.STRATEGIES[strategy].conv2d, "conv2d_backward_input")
    model.zero_grad()
    model(x)
    assert model.backward_parameters(grad_out) is None
    assert calls == ["conv2d_backward_input"]  # the second convolution's, not the first's
    for (name, parameter), grad in zip(model.named_parameters(), expected, strict=True):
        np.testing.assert_array_equal(parameter.grad, grad, err_msg=name)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_backward_parameters_skips_the_modules_before_the_first_with_parameters(
        strategy, monkeypatch):
    model = nn.Sequential(nn.Flatten(strategy=strategy), nn.Linear(12, 5, strategy=strategy),
                          nn.Tanh(strategy=strategy), nn.Linear(5, 3, strategy=strategy))
    x = np.random.default_rng(7).standard_normal((4, 3, 2, 2)).astype(np.float32)
    grad_out = np.ones((4, 3), dtype=np.float32)
    model(x)
    model.backward(grad_out)
    expected = [p.grad.copy() for p in model.parameters()]

    flatten_calls = _count_calls(monkeypatch, model[0], "backward")
    input_calls = _count_calls(monkeypatch, mint.STRATEGIES[strategy].linear,
                               "linear_backward_input")
    model.zero_grad()
    model(x)
    model.backward_parameters(grad_out)
    assert flatten_calls == [] and input_calls == ["linear_backward_input"]
    for parameter, grad in zip(model.parameters(), expected, strict=True):
        np.testing.assert_array_equal(parameter.grad, grad)


def test_backward_parameters_of_a_module_without_parameters_does_nothing():
    layer = nn.ReLU()
    layer(np.ones((2, 3), dtype=np.float32))
    assert layer.backward_parameters(np.ones((2, 3), dtype=np.float32)) is None


def test_repr_reads_like_pytorch():
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2, bias=False), nn.LeakyReLU(0.1),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 3, strategy="loop"))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2), bias=False)\n"
        "  (1): LeakyReLU(negative_slope=0.1)\n"
        "  (2): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), "
        "ceil_mode=False)\n"
        "  (3): Flatten(start_dim=1)\n"
        "  (4): Linear(in_features=4, out_features=3, bias=True, strategy='loop')\n"
        ")"
    )
    assert repr(nn.CrossEntropyLoss("sum")) == "CrossEntropyLoss(reduction='sum')"
    assert repr(mint.Parameter(np.zeros((2, 3)))) == "Parameter(shape=(2, 3), dtype=float64)"


# ------------------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize("build, error, message", [
    (lambda: nn.Linear(0, 3), ValueError, "Linear: in_features must be >= 1, got 0"),
    (lambda: nn.Linear(3, 2.5), TypeError, "Linear: out_features must be an int, got 2.5"),
    (lambda: nn.Linear(3, 2, bias=1), TypeError, "Linear: bias must be a bool, got 1"),
    (lambda: nn.Linear(3, 2, dtype=np.int32), TypeError, "Linear: dtype must be float32 or "
                                                         "float64, got int32"),
    (lambda: nn.Linear(3, 2, strategy="fast"), ValueError, "Linear: strategy must be None or "
                                                           "one of"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), ValueError, "Conv2d: kernel_size must be an int or a "
                                                     "pair"),
    (lambda: nn.Conv2d(3, 4, 3, stride=0), ValueError, "Conv2d: stride must be >= 1, got 0"),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), ValueError, "Conv2d: padding must be >= 0"),
    (lambda: nn.Conv2d(3, 4, 3, dilation=(1, 0)), ValueError, "Conv2d: dilation must be >= 1"),
    (lambda: nn.Conv2d(True, 4, 3), TypeError, "Conv2d: in_channels must be an int, got True"),
    (lambda: nn.MaxPool2d(0), ValueError, "MaxPool2d: kernel_size must be >= 1"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "MaxPool2d: padding must be at most half "
                                                     "the kernel size"),
    (lambda: nn.MaxPool2d(2, ceil_mode="yes"), TypeError, "MaxPool2d: ceil_mode must be a bool"),
    (lambda: nn.Flatten(-1), ValueError, "Flatten: start_dim must be >= 0, got -1"),
    (lambda: nn.LeakyReLU("0.1"), TypeError, "LeakyReLU: negative_slope must be a real number"),
    (lambda: nn.CrossEntropyLoss("max"), ValueError, "CrossEntropyLoss: reduction must be "
                                                     "one of ('mean', 'sum', 'none'), got 'max'"),
    (lambda: nn.Sequential(nn.ReLU(), np.tanh), TypeError, "Sequential: argument 1 must be a "
                                                           "Module"),
    (lambda: mint.Parameter([1.0, 2.0]), TypeError, "Parameter: data must be a numpy.ndarray"),
    (lambda: mint.Parameter(np.zeros(2, dtype=np.int64)), TypeError, "float32 or float64"),
])
def test_bad_constructor_arguments_raise_with_a_clear_message(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()
