"""batch_norm / batch_norm_backward and nn.BatchNorm1d / nn.BatchNorm2d: forward and every
gradient against torch and finite differences (train and eval statistics), the layers' running
statistics, counters and state dicts against PyTorch's modules, and bad input refused before any
kernel runs."""

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mint
from helpers import DTYPES, STRATEGY_NAMES, assert_close, random_array, requires_torch, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op

seeds = st.integers(0, 2**32 - 1)
LAYERS = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}


def _torch_batch_norm(x, running_mean, running_var, weight, bias, training=False, momentum=0.1,
                      eps=1e-5):
    """PyTorch's output, and the statistics it normalised with (its saved mean and invstd in
    training, the running ones in eval)."""
    out = torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias, training,
                                         momentum, eps)
    if training:
        _, mean, invstd = torch.native_batch_norm(x.detach(), None, None, None, None, True,
                                                  momentum, eps)
    else:
        mean, invstd = running_mean, torch.rsqrt(running_var + eps)
    return out, mean, invstd


def _affine_ones_and_zeros(inputs):
    x, running_mean, running_var, weight, bias = inputs
    channels = x.shape[1]
    return (x, running_mean, running_var,
            np.ones(channels, x.dtype) if weight is None else weight,
            np.zeros(channels, x.dtype) if bias is None else bias)


def _batch_norm_op(training):
    """The Op of check_op: inputs (x, running_mean, running_var, weight, bias); the backward
    takes x, the forward's mean and invstd, and the weight."""
    return Op(F.batch_norm, functools.partial(F.batch_norm_backward, training=training),
              _torch_batch_norm,
              backward_args=lambda inputs, outputs: (inputs[0], outputs[1], outputs[2],
                                                     inputs[3]),
              backward_params=False, grads=(0, 3, 4), fill_absent=_affine_ones_and_zeros)


@st.composite
def _input_shapes(draw, min_batch):
    """(N, C), (N, C, L) or (N, C, H, W), odd sizes included."""
    trailing = draw(st.lists(st.integers(1, 5), min_size=0, max_size=2))
    return (draw(st.integers(min_batch, 5)), draw(st.integers(1, 4)), *trailing)


def _inputs(rng, shape, affine, running):
    channels = shape[1]
    # An offset per channel, so that the mean matters.
    x = random_array(rng, shape) + 3 * random_array(rng, (1, channels) + (1,) * (len(shape) - 2))
    weight, bias = (random_array(rng, channels), random_array(rng, channels)) if affine else (
        None, None)
    if not running:
        return x, None, None, weight, bias
    return x, random_array(rng, channels), rng.uniform(0.25, 4, channels), weight, bias


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, shape=_input_shapes(min_batch=2), affine=st.booleans(),
       eps=st.sampled_from([1e-5, 0.1]))
def test_batch_norm_training_matches_references(strategy, dtype, seed, shape, affine, eps):
    inputs = _inputs(np.random.default_rng(seed), shape, affine, running=False)
    check_op(_batch_norm_op(training=True), inputs, {"training": True, "eps": eps},
             strategies=[strategy], dtypes=[dtype], seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, shape=_input_shapes(min_batch=1), affine=st.booleans())
def test_batch_norm_eval_matches_references(strategy, dtype, seed, shape, affine):
    # Eval mode normalises with the running statistics, so N = 1 is fine.
    inputs = _inputs(np.random.default_rng(seed), shape, affine, running=True)
    check_op(_batch_norm_op(training=False), inputs, {"training": False},
             strategies=[strategy], dtypes=[dtype], seed=seed)


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("momentum", [0.1, 0.7])
@pytest.mark.parametrize("shape", [(7, 3), (2, 3, 1), (3, 2, 5, 3)])
def test_running_statistics_update_in_place_as_pytorch(strategy, momentum, shape):
    rng = np.random.default_rng(sum(shape))
    x = random_array(rng, shape)
    running_mean, running_var = random_array(rng, shape[1]), rng.uniform(0.5, 2, shape[1])
    expected_mean, expected_var = torch.tensor(running_mean), torch.tensor(running_var)
    F.batch_norm(x, running_mean, running_var, training=True, momentum=momentum,
                 strategy=strategy)
    torch.nn.functional.batch_norm(torch.tensor(x), expected_mean, expected_var, training=True,
                                   momentum=momentum)
    assert_close(running_mean, expected_mean.numpy())
    assert_close(running_var, expected_var.numpy())


# ---------------------------------------------------------------------------- layers vs torch


def _layer_pair(dimensions, channels, dtype, **kwargs):
    """A Mint layer and PyTorch's, with the same random weight, bias and running statistics."""
    mint_layer = LAYERS[dimensions](channels, dtype=dtype, **kwargs)
    torch_layer = getattr(torch.nn, f"BatchNorm{dimensions}d")(channels, **kwargs).to(
        {np.float32: torch.float32, np.float64: torch.float64}[dtype])
    with torch.no_grad():
        for tensor in torch_layer.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape) + 0.5)
    mint_layer.load_state_dict({k: v.numpy() for k, v in torch_layer.state_dict().items()})
    return mint_layer, torch_layer


def _batch_shape(dimensions, rng, channels):
    if dimensions == 2:
        return (int(rng.integers(1, 4)), channels, int(rng.integers(1, 6)),
                int(rng.integers(1, 6)))
    trailing = () if rng.random() < 0.5 else (int(rng.integers(1, 6)),)
    return (int(rng.integers(2, 6)), channels, *trailing)


def _compare_step(mint_layer, torch_layer, x, rng, tolerances=None):
    """One forward (and in train mode, backward) through both layers: outputs, input and
    parameter gradients, then every buffer."""
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_layer(tx)
    assert_close(mint_layer(x), expected.detach().numpy(), tolerances)
    if mint_layer.training:
        grad_out = random_array(rng, x.shape).astype(x.dtype)
        expected.backward(torch.tensor(grad_out))
        assert_close(mint_layer.backward(grad_out), tx.grad.numpy(), tolerances)
        for name, parameter in mint_layer.named_parameters():
            assert_close(parameter.grad, getattr(torch_layer, name).grad.numpy(), tolerances,
                         err_msg=name)
    torch_state = torch_layer.state_dict()
    for name, value in mint_layer.state_dict().items():
        if value.dtype.kind == "f":
            assert_close(value, torch_state[name].numpy(), tolerances, err_msg=name)
        else:
            assert value == torch_state[name].item(), name


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("dimensions", [1, 2])
@given(seed=seeds, channels=st.integers(1, 4), momentum=st.sampled_from([0.1, None, 1.0]),
       affine=st.booleans(), bias=st.booleans(), track_running_stats=st.booleans())
def test_layer_trains_and_evaluates_as_pytorch(strategy, dtype, dimensions, seed, channels,
                                               momentum, affine, bias, track_running_stats):
    """Three training steps (outputs, all gradients, running statistics, num_batches_tracked),
    with or without weight, bias (PyTorch 2.13's keyword) and running statistics; then eval mode
    (running statistics, or batch ones without track_running_stats), then training again, all
    from a PyTorch state dict."""
    rng = np.random.default_rng(seed)
    mint_layer, torch_layer = _layer_pair(dimensions, channels, dtype, momentum=momentum,
                                          affine=affine, bias=bias,
                                          track_running_stats=track_running_stats)
    mint_layer.strategy = strategy
    for mode in ("train", "train", "train", "eval", "eval", "train"):
        mint_layer.train(mode == "train")
        torch_layer.train(mode == "train")
        torch_layer.zero_grad()
        mint_layer.zero_grad()
        x = random_array(rng, _batch_shape(dimensions, rng, channels)).astype(dtype)
        batch_statistics = mode == "train" or not track_running_stats
        if batch_statistics and x.shape[0] * np.prod(x.shape[2:]) == 1:
            x = np.concatenate([x, x + 1])  # too few for batch statistics (tested below)
        _compare_step(mint_layer, torch_layer, x, rng)


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_pytorch_weights_give_pytorch_gradients_in_eval_mode_too(strategy):
    """A loaded layer in eval mode: its functional backward with training=False (statistics
    held constant) gives PyTorch's gradients."""
    rng = np.random.default_rng(5)
    mint_layer, torch_layer = _layer_pair(2, 3, np.float64)
    mint_layer.eval()
    torch_layer.eval()
    x = random_array(rng, (2, 3, 4, 5))
    tx = torch.tensor(x, requires_grad=True)
    grad_out = random_array(rng, x.shape)
    torch_layer(tx).backward(torch.tensor(grad_out))
    out, mean, invstd = F.batch_norm(x, mint_layer.running_mean.data, mint_layer.running_var.data,
                                     mint_layer.weight.data, mint_layer.bias.data,
                                     strategy=strategy)
    grads = F.batch_norm_backward(grad_out, x, mean, invstd, mint_layer.weight.data,
                                  training=False, strategy=strategy)
    for grad, expected in zip(grads, (tx.grad, torch_layer.weight.grad, torch_layer.bias.grad),
                              strict=True):
        assert_close(grad, expected.numpy())


def test_momentum_none_keeps_the_cumulative_average_of_the_batch_statistics():
    layer = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    rng = np.random.default_rng(3)
    batches = [random_array(rng, (4, 2)) + offset for offset in (0.0, 5.0, -2.0)]
    for x in batches:
        layer(x)
    np.testing.assert_allclose(layer.running_mean.data,
                               np.mean([x.mean(axis=0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.data,
                               np.mean([x.var(axis=0, ddof=1) for x in batches], axis=0),
                               rtol=1e-12)
    assert int(layer.num_batches_tracked.data) == 3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_a_channel_far_from_zero_keeps_its_precision(strategy, dtype):
    # Mean 1e4, spread 1: one-pass E[x^2] - E[x]^2 in float32 would lose every digit.
    x = (1e4 + random_array(np.random.default_rng(0), (64, 2, 9))).astype(dtype)
    out, _, _ = F.batch_norm(x, training=True, strategy=strategy)
    exact = x.astype(np.float64)
    exact = (exact - exact.mean(axis=(0, 2), keepdims=True)) / np.sqrt(
        exact.var(axis=(0, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, exact, atol=2e-3 if dtype == np.float32 else 1e-10)


def test_sequential_of_conv_batch_norm_relu_from_pytorch_weights():
    if torch is None:
        pytest.skip("PyTorch is not installed")
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3),
                                    torch.nn.ReLU()).double()
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU()).to(
        np.float64)
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    x = random_array(np.random.default_rng(1), (4, 2, 5, 6))
    tx = torch.tensor(x, requires_grad=True)
    expected = reference(tx)
    assert_close(model(x), expected.detach().numpy())
    grad_out = random_array(np.random.default_rng(2), expected.shape)
    expected.backward(torch.tensor(grad_out))
    assert_close(model.backward(grad_out), tx.grad.numpy())
    for name, parameter in model.named_parameters():
        torch_grad = dict(reference.named_parameters())[name].grad
        assert_close(parameter.grad, torch_grad.numpy(), err_msg=name)


# ------------------------------------------------------------------------------ the layers


def test_layer_initialisation_state_dict_keys_and_conversion():
    layer = nn.BatchNorm2d(3)
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                        "num_batches_tracked"]
    np.testing.assert_array_equal(layer.weight.data, np.ones(3, np.float32))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3, np.float32))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(3, np.float32))
    counter = layer.num_batches_tracked
    assert counter.shape == () and counter.dtype == np.int64 and int(counter.data) == 0
    assert len(list(layer.parameters())) == 2  # optimizers never see the buffers
    layer.to(np.float64)
    assert layer.running_mean.dtype == np.float64 and layer.num_batches_tracked.dtype == np.int64
    assert list(nn.BatchNorm1d(3, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.BatchNorm1d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert list(nn.BatchNorm1d(3, bias=False).state_dict())[:2] == ["weight", "running_mean"]


@requires_torch
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None, "affine": False},
                                    {"eps": 0.001, "track_running_stats": False},
                                    {"bias": False}])
def test_layer_repr_is_pytorch_s(kwargs):
    for dimensions, layer in LAYERS.items():
        reference = getattr(torch.nn, f"BatchNorm{dimensions}d")(5, **kwargs)
        assert repr(layer(5, **kwargs)) == repr(reference)
        assert list(layer(5, **kwargs).state_dict()) == list(reference.state_dict())


@pytest.mark.parametrize("layer, shape", [(nn.BatchNorm1d, (1, 3)), (nn.BatchNorm1d, (1, 3, 1)),
                                          (nn.BatchNorm2d, (1, 3, 1, 1)),
                                          (nn.BatchNorm1d, (0, 3)), (nn.BatchNorm2d, (2, 3, 0, 4))])
def test_one_value_per_channel_cannot_train_and_leaves_the_state_alone(layer, shape):
    module = layer(3)
    before = module.state_dict()
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        module(np.ones(shape, np.float32))
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    if shape[0] == 1:
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            F.batch_norm_backward(np.ones(shape), np.ones(shape), np.zeros(3), np.ones(3))
    # Eval mode normalises with the running statistics: any batch will do; without them it
    # needs batch statistics, as in training.
    assert module.eval()(np.ones(shape, np.float32)).shape == shape
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(3, track_running_stats=False).eval()(np.ones(shape, np.float32))


@requires_torch
@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_pytorch_refuses_the_same_batches(shape):
    layer = torch.nn.BatchNorm2d(3) if len(shape) == 4 else torch.nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        layer(torch.ones(shape))


def test_a_single_image_with_several_pixels_trains():
    layer = nn.BatchNorm2d(2, dtype=np.float64)
    x = random_array(np.random.default_rng(0), (1, 2, 3, 3))
    out = layer(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    assert layer.backward(np.ones_like(out)).shape == x.shape


def test_backward_needs_train_mode_and_a_forward():
    layer = nn.BatchNorm1d(2)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((3, 2), np.float32))
    layer(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="grad_out has shape"):
        layer.backward(np.ones((4, 2), np.float32))
    layer.eval()(np.ones((3, 2), np.float32))
    with pytest.raises(RuntimeError, match="eval mode"):
        layer.backward(np.ones((3, 2), np.float32))


# ------------------------------------------------------------------------------- bad input


@pytest.fixture
def no_kernel_runs(monkeypatch):
    """Make every batch_norm kernel of both strategies fail the test if it is called."""
    for package in mint.STRATEGIES.values():
        for name in dir(package.batch_norm):
            if name.startswith("batch_norm_"):
                monkeypatch.setattr(package.batch_norm, name,
                                    lambda *a, name=name: pytest.fail(f"{name} ran"))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_features": 0}, ValueError, "num_features must be >= 1"),
    ({"num_features": 2.0}, TypeError, "num_features must be an int"),
    ({"eps": -1e-5}, ValueError, "eps must be a finite number >= 0"),
    ({"momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\]"),
    ({"momentum": "0.1"}, TypeError, "momentum must be a real number"),
    ({"affine": 1}, TypeError, "affine must be a bool"),
    ({"track_running_stats": None}, TypeError, "track_running_stats must be a bool"),
    ({"bias": "no"}, TypeError, "bias must be a bool"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
    ({"strategy": "fast"}, ValueError, "strategy must be None or one of"),
])
def test_layers_name_a_bad_argument(kwargs, error, match):
    for name, layer in (("BatchNorm1d", nn.BatchNorm1d), ("BatchNorm2d", nn.BatchNorm2d)):
        arguments = {"num_features": 3, **kwargs}
        with pytest.raises(error, match=f"{name}: {match}"):
            layer(**arguments)


@pytest.mark.parametrize("layer, x, error, match", [
    (nn.BatchNorm1d(3), np.ones((2, 3, 4, 5), np.float32), ValueError,
     r"BatchNorm1d: input must be \(N, C\) or \(N, C, L\), got shape \(2, 3, 4, 5\)"),
    (nn.BatchNorm2d(3), np.ones((2, 3, 4), np.float32), ValueError,
     r"BatchNorm2d: input must be \(N, C, H, W\), got shape \(2, 3, 4\)"),
    (nn.BatchNorm2d(3), np.ones((2, 4, 2, 2), np.float32), ValueError,
     r"BatchNorm2d: expected input with 3 channels \(num_features\), got shape \(2, 4, 2, 2\)"),
    (nn.BatchNorm1d(3), [[1.0, 2.0, 3.0]] * 2, TypeError,
     "BatchNorm1d: input must be a numpy.ndarray"),
    (nn.BatchNorm1d(3), np.ones((2, 3), np.int64), TypeError,
     "BatchNorm1d: input must have dtype float32 or float64"),
    (nn.BatchNorm1d(3), np.ones((2, 3), np.float64), TypeError,
     "batch_norm: arrays must share one dtype, got input float64, running_mean float32"),
])
def test_layers_refuse_bad_input_before_any_kernel_runs(no_kernel_runs, layer, x, error, match):
    before = layer.state_dict()
    with pytest.raises(error, match=match):
        layer(x)
    assert int(layer.num_batches_tracked.data) == 0
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


X = np.ones((4, 3, 2))
C3 = np.ones(3)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.batch_norm(np.ones(3), training=True), ValueError,
     r"batch_norm: input must have at least 2 dimensions \(N, C, ...\), got shape \(3,\)"),
    (lambda: F.batch_norm(X, C3), ValueError,
     "batch_norm: give running_mean and running_var together"),
    (lambda: F.batch_norm(X), ValueError,
     "batch_norm: training=False normalises with running_mean and running_var"),
    (lambda: F.batch_norm(X, weight=np.ones(4), training=True), ValueError,
     r"batch_norm: weight must have shape \(3,\), one value per channel of the input "
     r"\(4, 3, 2\), got \(4,\)"),
    (lambda: F.batch_norm(X, C3, np.ones(3, np.float32)), TypeError,
     "batch_norm: arrays must share one dtype"),
    (lambda: F.batch_norm(X, training=1), TypeError, "batch_norm: training must be a bool"),
    (lambda: F.batch_norm(X, training=True, momentum=-0.1), ValueError,
     "batch_norm: momentum must be a finite number >= 0"),
    (lambda: F.batch_norm(X, training=True, eps=float("nan")), ValueError,
     "batch_norm: eps must be a finite number"),
    (lambda: F.batch_norm(X, training=True, strategy="fast"), ValueError,
     "strategy must be one of"),
    (lambda: F.batch_norm_backward(np.ones((4, 3, 3)), X, C3, C3), ValueError,
     r"batch_norm_backward: grad_out must have shape \(4, 3, 2\)"),
    (lambda: F.batch_norm_backward(X, X, None, C3), TypeError,
     "batch_norm_backward: mean must be the"),
    (lambda: F.batch_norm_backward(X, X, C3, np.ones(2)), ValueError,
     r"batch_norm_backward: invstd must have shape \(3,\)"),
    (lambda: F.batch_norm_backward(X, X, C3, C3, np.ones(3, np.float32)), TypeError,
     "batch_norm_backward: arrays must share one dtype"),
])
def test_functional_names_the_bad_argument_before_any_kernel_runs(no_kernel_runs, call, error,
                                                                   match):
    with pytest.raises(error, match=match):
        call()


def test_training_refuses_a_read_only_running_statistic_and_changes_nothing(no_kernel_runs):
    running_mean, running_var = np.zeros(3), np.ones(3)
    running_var.flags.writeable = False
    with pytest.raises(ValueError, match="batch_norm: running_var must be writeable"):
        F.batch_norm(X, running_mean, running_var, training=True)
    np.testing.assert_array_equal(running_mean, 0)


def test_running_statistics_of_any_layout_are_updated_where_they_live():
    running = np.zeros((3, 2))
    x = random_array(np.random.default_rng(0), (5, 3))
    F.batch_norm(x, running[:, 0], running[:, 1], training=True, momentum=1.0)
    np.testing.assert_allclose(running[:, 0], x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(running[:, 1], x.var(axis=0, ddof=1), rtol=1e-12)


# ------------------------------------------------------------------- conversions and exports


@requires_torch
@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False, "momentum": None},
                                    {"track_running_stats": False, "eps": 0.01}])
def test_pytorch_conversions_keep_every_configuration(kwargs):
    from mint.interop import from_torch, to_torch

    rng = np.random.default_rng(4)
    reference = torch.nn.BatchNorm2d(3, **kwargs).double()
    reference(torch.from_numpy(random_array(rng, (5, 3, 2, 2))))  # running statistics move
    layer = from_torch(reference)
    back = to_torch(layer)
    for converted in (layer, back):
        assert repr(converted) == repr(reference)
        state = converted.state_dict()
        assert list(state) == list(reference.state_dict())
        for key, value in reference.state_dict().items():
            np.testing.assert_array_equal(np.asarray(state[key]), value.numpy(), err_msg=key)
    _compare_step(layer, reference, random_array(rng, (4, 3, 3, 2)), rng)
