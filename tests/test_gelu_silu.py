"""gelu (exact and tanh), silu and their layers, through check_op: forward and gradient against
torch, finite differences, the other strategy, layouts and dtypes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op

GELU = Op(F.gelu, F.gelu_backward,
          lambda x, **params: torch.nn.functional.gelu(x, **params))
SILU = Op(F.silu, F.silu_backward, lambda x: torch.nn.functional.silu(x))

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple)
seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, shape=shapes, approximate=st.sampled_from(["none", "tanh"]))
def test_gelu_matches_references(strategy, dtype, seed, shape, approximate):
    x = 3 * random_array(np.random.default_rng(seed), shape)
    check_op(GELU, (x,), {"approximate": approximate}, strategies=[strategy], dtypes=[dtype],
             seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, shape=shapes)
def test_silu_matches_references(strategy, dtype, seed, shape):
    x = 3 * random_array(np.random.default_rng(seed), shape)
    check_op(SILU, (x,), strategies=[strategy], dtypes=[dtype], seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_gelu_and_silu_stay_finite_and_match_torch_in_the_tails(strategy, dtype):
    # exp(-|z|) never overflows: the tails are 0 (left) and x (right), and so are PyTorch's.
    x = np.array([-1e4, -60.0, -10.0, -1.0, 0.0, 1.0, 10.0, 60.0, 1e4], dtype=dtype)
    ones = np.ones_like(x)
    with np.errstate(over="raise", invalid="raise"):
        results = {
            "gelu": (F.gelu(x, strategy=strategy), F.gelu_backward(ones, x, strategy=strategy)),
            "tanh": (F.gelu(x, "tanh", strategy=strategy),
                     F.gelu_backward(ones, x, "tanh", strategy=strategy)),
            "silu": (F.silu(x, strategy=strategy), F.silu_backward(ones, x, strategy=strategy)),
        }
    for out, grad in results.values():
        np.testing.assert_array_equal(out[[0, -1]], [0, 1e4])
        np.testing.assert_array_equal(grad[[0, -1]], [0, 1])
    if torch is not None:
        tx = torch.tensor(x)
        references = {"gelu": torch.nn.functional.gelu(tx),
                      "tanh": torch.nn.functional.gelu(tx, approximate="tanh"),
                      "silu": torch.nn.functional.silu(tx)}
        for name, (out, _) in results.items():
            np.testing.assert_allclose(out, references[name].numpy(),
                                       rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-30)


def test_gelu_rejects_an_unknown_approximation_in_functional_and_layer():
    with pytest.raises(ValueError, match=r"gelu: approximate must be one of \('none', 'tanh'\)"):
        F.gelu(np.ones(3), approximate="erf")
    with pytest.raises(ValueError, match="gelu_backward: approximate must be one of"):
        F.gelu_backward(np.ones(3), np.ones(3), approximate=None)
    with pytest.raises(ValueError, match="GELU: approximate must be one of"):
        nn.GELU("Tanh")


@pytest.mark.parametrize("layer, function, backward", [
    (nn.GELU(), F.gelu, F.gelu_backward),
    (nn.GELU(approximate="tanh"), lambda x: F.gelu(x, "tanh"),
     lambda g, x: F.gelu_backward(g, x, "tanh")),
    (nn.SiLU(), F.silu, F.silu_backward),
])
def test_gelu_and_silu_layers_call_their_functional_pair(layer, function, backward):
    x = np.linspace(-4, 4, 12).reshape(3, 4)
    grad_out = np.cos(x)
    np.testing.assert_array_equal(layer(x), function(x))
    np.testing.assert_array_equal(layer.backward(grad_out), backward(grad_out, x))


def test_gelu_and_silu_reprs_follow_pytorch():
    assert repr(nn.GELU()) == "GELU()"
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.SiLU()) == "SiLU()"
    assert nn.GELU("tanh").approximate == "tanh"
