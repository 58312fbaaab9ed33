"""softmax / log_softmax along any axis, their layers, and nn.Identity: check_op against torch,
finite differences, the other strategy, layouts and dtypes; stability; bad dims."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op


def _output(inputs, outputs):
    return outputs[:1]


SOFTMAX = Op(F.softmax, F.softmax_backward,
             lambda x, dim: torch.softmax(x, dim), backward_args=_output)
LOG_SOFTMAX = Op(F.log_softmax, F.log_softmax_backward,
                 lambda x, dim: torch.log_softmax(x, dim), backward_args=_output)
OPS = {"softmax": SOFTMAX, "log_softmax": LOG_SOFTMAX}


@st.composite
def shapes_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", sorted(OPS))
@given(seed=st.integers(0, 2**32 - 1), shape_and_dim=shapes_and_dims())
def test_softmax_and_log_softmax_match_references_along_any_dim(name, strategy, dtype, seed,
                                                                shape_and_dim):
    shape, dim = shape_and_dim
    x = 3 * random_array(np.random.default_rng(seed), shape)
    check_op(OPS[name], (x,), {"dim": dim}, strategies=[strategy], dtypes=[dtype], seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_softmax_and_log_softmax_stay_finite_for_logits_of_1e4(strategy, dtype):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        probs = F.softmax(x, 1, strategy=strategy)
        log_probs = F.log_softmax(x, -1, strategy=strategy)
    np.testing.assert_allclose(probs, [[1, 0, 0], [1 / 3] * 3, [0.5, 0.5, 0]], rtol=1e-6)
    np.testing.assert_allclose(log_probs, [[0, -1e4, -2e4], [-np.log(3)] * 3,
                                           [-np.log(2), -np.log(2), -2e4 - np.log(2)]],
                               rtol=1e-6)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_softmax_of_a_0d_array_is_one_and_empty_arrays_stay_empty(strategy):
    assert F.softmax(np.array(3.0), 0, strategy=strategy) == 1.0
    assert F.log_softmax(np.array(3.0), -1, strategy=strategy) == 0.0
    assert F.softmax(np.zeros((0, 4)), 1, strategy=strategy).shape == (0, 4)
    assert F.log_softmax(np.zeros((3, 0)), 1, strategy=strategy).shape == (3, 0)


@pytest.mark.parametrize("function", [F.softmax, F.log_softmax])
def test_softmax_rejects_dims_outside_the_input(function):
    with pytest.raises(ValueError, match=r"dim must be in \[-2, 1\] for an input with 2 "
                                         r"dimensions, got 2"):
        function(np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="got -3"):
        function(np.ones((2, 3)), -3)
    with pytest.raises(TypeError, match="dim must be an int"):
        function(np.ones((2, 3)), 1.0)


def test_softmax_backward_rejects_a_grad_out_of_another_shape():
    with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 3\)"):
        F.softmax_backward(np.ones((3, 2)), np.ones((2, 3)), 1)


@pytest.mark.parametrize("cls", [nn.Softmax, nn.LogSoftmax])
def test_softmax_layers_need_an_int_dim_and_check_it_against_the_input(cls):
    with pytest.raises(TypeError, match=f"{cls.__name__}: dim must be an int"):
        cls(None)
    with pytest.raises(ValueError, match="dim must be in"):
        cls(3)(np.ones((2, 3)))


@pytest.mark.parametrize("cls, function, backward", [
    (nn.Softmax, F.softmax, F.softmax_backward),
    (nn.LogSoftmax, F.log_softmax, F.log_softmax_backward),
])
def test_softmax_layers_keep_their_output_and_call_their_functional_pair(cls, function,
                                                                         backward):
    layer = cls(dim=-2)
    assert repr(layer) == f"{cls.__name__}(dim=-2)" and layer.dim == -2
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    out = layer(x)
    np.testing.assert_array_equal(out, function(x, -2))
    grad_out = np.cos(x)
    np.testing.assert_array_equal(layer.backward(grad_out), backward(grad_out, out, -2))


def test_identity_passes_input_and_gradient_through_and_ignores_its_arguments():
    layer = nn.Identity(54, unused_argument=0.1)
    assert repr(layer) == "Identity()"
    x = np.arange(6.0).reshape(2, 3)
    assert layer(x) is x
    grad_out = np.ones((2, 3))
    assert layer.backward(grad_out) is grad_out
    with pytest.raises(ValueError, match="grad_out has shape"):
        layer.backward(np.ones(3))
