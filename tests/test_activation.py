"""relu, leaky_relu, sigmoid, tanh and their gradients against torch, finite differences, the
other strategy, memory layouts and dtypes (op_check); zeros, NaN, inf, saturation, errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, requires_torch, to_torch, torch
from mint import functional as F
from op_check import Op, check_op


def _away_from_zero(inputs):
    """relu and leaky_relu have a kink at 0, which central differences must not straddle."""
    x, = inputs
    return (np.where(x >= 0, x + 0.1, x - 0.1),)


def _output(inputs, outputs):
    """sigmoid and tanh backward take the forward's output."""
    return outputs


ACTIVATIONS = {
    "relu": Op(F.relu, F.relu_backward, lambda x: torch.relu(x), away_from_kinks=_away_from_zero),
    "leaky_relu": Op(F.leaky_relu, F.leaky_relu_backward,
                     lambda x, **kw: torch.nn.functional.leaky_relu(x, **kw),
                     away_from_kinks=_away_from_zero),
    "sigmoid": Op(F.sigmoid, F.sigmoid_backward, lambda x: torch.sigmoid(x),
                  backward_args=_output),
    "tanh": Op(F.tanh, F.tanh_backward, lambda x: torch.tanh(x), backward_args=_output),
}
NAMES = sorted(ACTIVATIONS)

# Up to 4 small dimensions, or up to 3 long ones.
shapes = st.one_of(st.lists(st.integers(1, 5), min_size=1, max_size=4),
                   st.lists(st.integers(1, 40), min_size=1, max_size=3)).map(tuple)
seeds = st.integers(0, 2**32 - 1)
slopes = st.sampled_from([0.01, 0.2, 0.0, -0.5, 1.5])


def _params(name, slope):
    return {"negative_slope": slope} if name == "leaky_relu" else {}


def _mint(name, x, grad_out, strategy, slope):
    """Mint's forward output and gradient of activation ``name``."""
    op, params = ACTIVATIONS[name], _params(name, slope)
    out = op.forward(x, **params, strategy=strategy)
    grad_x = op.backward(grad_out, *op.backward_args((x,), (out,)), **params, strategy=strategy)
    return out, grad_x


def _torch(name, x, grad_out, slope):
    """PyTorch's forward output and autograd gradient of activation ``name``."""
    tx = to_torch(x, requires_grad=True)
    out = ACTIVATIONS[name].reference(tx, **_params(name, slope))
    out.backward(to_torch(grad_out))
    return out.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", NAMES)
@given(seed=seeds, shape=shapes, slope=slopes)
def test_activation_matches_references(name, strategy, dtype, seed, shape, slope):
    # Random values with some exact zeros, where relu and leaky_relu have their kink.
    rng = np.random.default_rng(seed)
    x = random_array(rng, shape) * 3
    x[rng.random(shape) < 0.2] = 0
    check_op(ACTIVATIONS[name], (x,), _params(name, slope), strategies=[strategy],
             dtypes=[dtype], seed=seed)


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_relu_and_leaky_relu_gradients_at_zero_and_nan_match_torch(name, strategy):
    # PyTorch: relu'(0) = 0, leaky_relu'(0) = slope; NaN goes through relu and its gradient.
    x = np.array([0.0, -0.0, np.nan, -1.0, 1.0])
    grad_out = np.array([2.0, 3.0, 4.0, 5.0, 6.0])
    out, grad_x = _mint(name, x, grad_out, strategy, 0.25)
    expected_out, expected_grad = _torch(name, x, grad_out, 0.25)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(grad_x, expected_grad)


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", NAMES)
def test_activation_propagates_nan_and_infinities_as_torch(name, strategy):
    x = np.array([np.nan, np.inf, -np.inf, 1.0], dtype=np.float32)
    grad_out = np.ones_like(x)
    out, _ = _mint(name, x, grad_out, strategy, 0.01)
    expected_out, _ = _torch(name, x, grad_out, 0.01)
    np.testing.assert_array_equal(out, expected_out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_sigmoid_and_tanh_saturate_without_overflow_for_large_inputs(strategy, dtype):
    x = np.array([-1e4, -100.0, -89.0, 89.0, 100.0, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        sig, grad_sig = _mint("sigmoid", x, np.ones_like(x), strategy, None)
        tanh, grad_tanh = _mint("tanh", x, np.ones_like(x), strategy, None)
    np.testing.assert_array_equal(sig[[0, -1]], [0, 1])
    np.testing.assert_array_equal(tanh[[0, -1]], [-1, 1])
    assert np.all((sig >= 0) & (sig <= 1)) and np.all(np.isfinite(grad_sig))
    np.testing.assert_array_equal(grad_tanh[[0, -1]], [0, 0])
    # sigmoid(x) + sigmoid(-x) = 1: the two branches of the stable formula agree.
    np.testing.assert_allclose(sig + sig[::-1], 1, rtol=0, atol=np.finfo(dtype).eps)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.arange(6).reshape(2, 3), TypeError, "input must have dtype"),
        (np.ones((2, 3), dtype=np.complex128), TypeError, "input must have dtype"),
        (np.ones((2, 3), dtype=np.float16), TypeError, "input must have dtype"),
        ([[1.0, 2.0, 3.0]], TypeError, "numpy.ndarray"),
    ],
)
def test_activation_rejects_non_float_input(name, strategy, bad, error, match):
    op = ACTIVATIONS[name]
    with pytest.raises(error, match=match):
        op.forward(bad, strategy=strategy)
    with pytest.raises(error, match=match):
        op.backward(np.ones((2, 3)), bad, strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", NAMES)
def test_activation_backward_rejects_mismatched_grad_out(name, strategy):
    backward = ACTIVATIONS[name].backward
    with pytest.raises(ValueError, match="grad_out shape"):
        backward(np.ones((2, 3)), np.ones((3, 2)), strategy=strategy)
    with pytest.raises(TypeError, match="share one dtype"):
        backward(np.ones((2, 3), np.float32), np.ones((2, 3)), strategy=strategy)
    with pytest.raises(TypeError, match="grad_out must have dtype"):
        backward(np.ones((2, 3), np.int64), np.ones((2, 3)), strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("slope", ["0.1", None, True, 1j])
def test_leaky_relu_rejects_a_non_real_slope(strategy, slope):
    with pytest.raises(TypeError, match="negative_slope"):
        F.leaky_relu(np.ones(3), slope, strategy=strategy)
    with pytest.raises(TypeError, match="negative_slope"):
        F.leaky_relu_backward(np.ones(3), np.ones(3), slope, strategy=strategy)
