"""relu, leaky_relu, sigmoid, tanh and their gradients against torch, finite differences, and
the other strategy."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import (
    DTYPES,
    STRATEGY_NAMES,
    STRATEGY_TOLERANCES,
    assert_close,
    assert_gradient_matches_finite_differences,
    random_array,
    requires_torch,
    to_torch,
    torch,
)
from mint import functional as F

# name -> (forward, backward, whether backward takes the forward's "input" or "output")
ACTIVATIONS = {
    "relu": (F.relu, F.relu_backward, "input"),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_backward, "input"),
    "sigmoid": (F.sigmoid, F.sigmoid_backward, "output"),
    "tanh": (F.tanh, F.tanh_backward, "output"),
}
NAMES = sorted(ACTIVATIONS)

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)
seeds = st.integers(0, 2**32 - 1)
slopes = st.sampled_from([0.01, 0.2, 0.0, -0.5, 1.5])


def _mint(name, x, grad_out, strategy, slope):
    """Mint's forward output and gradient of activation ``name``."""
    forward, backward, saved = ACTIVATIONS[name]
    params = {"negative_slope": slope} if name == "leaky_relu" else {}
    out = forward(x, **params, strategy=strategy)
    grad_x = backward(grad_out, x if saved == "input" else out, **params, strategy=strategy)
    return out, grad_x


def _torch(name, x, grad_out, slope):
    """PyTorch's forward output and autograd gradient of activation ``name``."""
    tx = to_torch(x, requires_grad=True)
    if name == "leaky_relu":
        out = torch.nn.functional.leaky_relu(tx, slope)
    else:
        out = getattr(torch, name)(tx)
    out.backward(to_torch(grad_out))
    return out.detach().numpy(), tx.grad.numpy()


def _input(seed, shape, dtype):
    """Random values with some exact zeros, where relu and leaky_relu have their kink."""
    rng = np.random.default_rng(seed)
    x = random_array(rng, shape, dtype) * 3
    x[rng.random(shape) < 0.2] = 0
    return x, random_array(rng, shape, dtype)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", NAMES)
@given(seed=seeds, shape=shapes, slope=slopes)
def test_activation_forward_and_backward_match_torch(name, strategy, dtype, seed, shape, slope):
    x, grad_out = _input(seed, shape, dtype)
    out, grad_x = _mint(name, x, grad_out, strategy, slope)
    expected_out, expected_grad = _torch(name, x, grad_out, slope)
    assert out.dtype == grad_x.dtype == dtype
    assert_close(out, expected_out, err_msg="output")
    assert_close(grad_x, expected_grad, err_msg="grad_x")


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
@given(seed=seeds, shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       slope=slopes)
def test_activation_gradient_matches_finite_differences(name, strategy, seed, shape, slope):
    rng = np.random.default_rng(seed)
    # Away from the kink at 0 of relu and leaky_relu, where central differences straddle it.
    x = rng.uniform(0.1, 3, shape) * rng.choice([-1, 1], shape)
    grad_out = random_array(rng, shape)
    forward = ACTIVATIONS[name][0]
    params = {"negative_slope": slope} if name == "leaky_relu" else {}
    _, grad_x = _mint(name, x, grad_out, strategy, slope)
    assert_gradient_matches_finite_differences(
        lambda v: forward(v, **params, strategy=strategy), x, grad_x, grad_out
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@given(seed=seeds, shape=st.lists(st.integers(1, 40), min_size=1, max_size=3).map(tuple),
       slope=slopes)
def test_activation_loop_and_vectorized_strategies_agree(name, dtype, seed, shape, slope):
    x, grad_out = _input(seed, shape, dtype)
    loop = _mint(name, x, grad_out, "loop", slope)
    vectorized = _mint(name, x, grad_out, "vectorized", slope)
    for what, a, b in zip(("output", "grad_x"), loop, vectorized, strict=True):
        assert a.dtype == b.dtype == dtype, what
        assert_close(a, b, STRATEGY_TOLERANCES, err_msg=what)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", NAMES)
def test_activation_gives_the_same_results_for_non_contiguous_and_fortran_inputs(name,
                                                                                strategy):
    x, grad_out = _input(5, (4, 6, 3), np.float64)
    expected = _mint(name, x, grad_out, strategy, 0.1)
    fortran = _mint(name, np.asfortranarray(x), np.asfortranarray(grad_out), strategy, 0.1)
    wide_x, wide_grad = np.repeat(x, 2, axis=1), np.repeat(grad_out, 2, axis=1)
    strided = _mint(name, wide_x[:, ::2], wide_grad[:, ::2], strategy, 0.1)
    for actual in (fortran, strided):
        for a, e in zip(actual, expected, strict=True):
            assert a.shape == e.shape
            np.testing.assert_array_equal(a, e)


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
    forward, backward, _ = ACTIVATIONS[name]
    with pytest.raises(error, match=match):
        forward(bad, strategy=strategy)
    with pytest.raises(error, match=match):
        backward(np.ones((2, 3)), bad, strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", NAMES)
def test_activation_backward_rejects_mismatched_grad_out(name, strategy):
    backward = ACTIVATIONS[name][1]
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
