"""softplus / softplus_backward and nn.Softplus: the worked example of adding an op
(docs/adding-an-op.md): one Op description, then check_op does the rest."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op

SOFTPLUS = Op(F.softplus, F.softplus_backward,
              lambda x, **params: torch.nn.functional.softplus(x, **params))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=st.integers(0, 2**32 - 1),
       shape=st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple),
       beta=st.sampled_from([1.0, 0.5, 3.0, -2.0]), threshold=st.sampled_from([20.0, 2.0, 0.0]))
def test_softplus_matches_references(strategy, dtype, seed, shape, beta, threshold):
    # Values of a few units, so that beta * x crosses the threshold of the linear region;
    # finite differences stay away from the threshold itself, where softplus is not smooth.
    x = 3 * random_array(np.random.default_rng(seed), shape)

    def away_from_threshold(inputs):
        (x64,) = inputs
        z = beta * x64
        return (np.where(np.abs(z - threshold) < 1e-3, x64 + 0.01 / beta, x64),)

    op = Op(SOFTPLUS.forward, SOFTPLUS.backward, SOFTPLUS.reference,
            away_from_kinks=away_from_threshold)
    check_op(op, (x,), {"beta": beta, "threshold": threshold}, strategies=[strategy],
             dtypes=[dtype], seed=seed)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_softplus_does_not_overflow_where_pytorch_would(strategy):
    # With a large threshold the linear region never starts: log(1 + exp(z)) must not overflow.
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        out = F.softplus(x, threshold=1e30, strategy=strategy)
        grad = F.softplus_backward(np.ones_like(x), x, threshold=1e30, strategy=strategy)
    np.testing.assert_allclose(out, [0, 0, np.log(2), 100, 1e4], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(grad, [0, 0, 0.5, 1, 1], rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("bad, error, match", [
    ({"beta": 0}, ValueError, "beta must be non-zero"),
    ({"beta": "1"}, TypeError, "beta must be a real number"),
    ({"threshold": float("nan")}, ValueError, "threshold must be a finite number"),
    ({"threshold": None}, TypeError, "threshold must be a real number"),
])
def test_softplus_rejects_bad_hyper_parameters_in_functional_and_layer(bad, error, match):
    with pytest.raises(error, match=f"softplus: {match}"):
        F.softplus(np.ones(3), **bad)
    with pytest.raises(error, match=f"softplus_backward: {match}"):
        F.softplus_backward(np.ones(3), np.ones(3), **bad)
    with pytest.raises(error, match=f"Softplus: {match}"):
        nn.Softplus(**bad)


def test_softplus_layer_repr_and_backward():
    layer = nn.Softplus(beta=2, threshold=5)
    assert repr(layer) == "Softplus(beta=2.0, threshold=5.0)"
    x = np.linspace(-4, 4, 12).reshape(3, 4)
    out = layer(x)
    np.testing.assert_array_equal(out, F.softplus(x, 2, 5))
    np.testing.assert_array_equal(layer.backward(np.ones_like(out)),
                                  F.softplus_backward(np.ones_like(x), x, 2, 5))
