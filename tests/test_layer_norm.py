"""layer_norm / layer_norm_backward and nn.LayerNorm: forward and every gradient against torch
and finite differences, the layer against PyTorch's with a copied state dict, and bad input
refused before any kernel runs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, assert_close, random_array, requires_torch, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op

seeds = st.integers(0, 2**32 - 1)


def _torch_layer_norm(x, weight, bias, normalized_shape, eps=1e-5):
    """PyTorch's output, and the mean and invstd (rstd) it normalised with."""
    out, mean, rstd = torch.native_layer_norm(x, list(normalized_shape), weight, bias, eps)
    rows = x.shape[:x.dim() - len(normalized_shape)]
    return out, mean.detach().reshape(rows), rstd.detach().reshape(rows)


def _ones_and_zeros(inputs):
    x, weight, bias = inputs
    shape = x.shape[-1:] if weight is None and bias is None else (weight if weight is not None
                                                                  else bias).shape
    return (x, np.ones(shape, x.dtype) if weight is None else weight,
            np.zeros(shape, x.dtype) if bias is None else bias)


LAYER_NORM = Op(lambda x, weight, bias, normalized_shape, eps=1e-5, strategy=None:
                F.layer_norm(x, normalized_shape, weight, bias, eps, strategy=strategy),
                lambda grad_out, x, weight, mean, invstd, normalized_shape, eps=1e-5, strategy=None:
                F.layer_norm_backward(grad_out, x, normalized_shape, mean, invstd, weight,
                                      strategy=strategy),
                _torch_layer_norm,
                backward_args=lambda inputs, outputs: (inputs[0], inputs[1], outputs[1],
                                                       outputs[2]),
                grads=(0, 1, 2), fill_absent=_ones_and_zeros)


@st.composite
def _cases(draw):
    """(input shape, normalized_shape): one or two normalised dimensions after 0 to 2 others.
    At least 2 values per row: with one, xhat is 0 and the input gradient is exactly 0 (PyTorch
    leaves float32 rounding there)."""
    normalized = (*draw(st.lists(st.integers(1, 6), max_size=1)), draw(st.integers(2, 6)))
    leading = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    return leading + normalized, normalized


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, case=_cases(), affine=st.sampled_from(["both", "weight", "none"]),
       eps=st.sampled_from([1e-5, 0.1]))
def test_layer_norm_matches_references(strategy, dtype, seed, case, affine, eps):
    shape, normalized_shape = case
    rng = np.random.default_rng(seed)
    # An offset per row, so that the mean matters.
    x = random_array(rng, shape) + 3 * random_array(rng, shape[:len(shape) - len(normalized_shape)]
                                                    + (1,) * len(normalized_shape))
    weight = random_array(rng, normalized_shape) if affine != "none" else None
    bias = random_array(rng, normalized_shape) if affine == "both" else None
    if weight is None and bias is None:
        weight = np.ones(normalized_shape)  # the reference needs the normalised shape
    check_op(LAYER_NORM, (x, weight, bias), {"normalized_shape": normalized_shape, "eps": eps},
             strategies=[strategy], dtypes=[dtype], seed=seed)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("options", [{}, {"bias": False}, {"elementwise_affine": False},
                                     {"eps": 0.01}])
def test_layer_matches_pytorch_with_its_state_dict(strategy, dtype, options):
    rng = np.random.default_rng(3)
    torch_layer = torch.nn.LayerNorm((3, 5), **options).to(
        {np.float32: torch.float32, np.float64: torch.float64}[dtype])
    with torch.no_grad():
        for tensor in torch_layer.parameters():
            tensor.copy_(torch.rand(tensor.shape) + 0.5)
    mint_layer = nn.LayerNorm((3, 5), **options, dtype=dtype, strategy=strategy)
    mint_layer.load_state_dict({k: v.numpy() for k, v in torch_layer.state_dict().items()})
    assert list(mint_layer.state_dict()) == list(torch_layer.state_dict())
    x = random_array(rng, (2, 4, 3, 5)).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_layer(tx)
    assert_close(mint_layer(x), expected.detach().numpy())
    grad_out = random_array(rng, x.shape).astype(dtype)
    expected.backward(torch.tensor(grad_out))
    assert_close(mint_layer.backward(grad_out), tx.grad.numpy())
    for name, parameter in mint_layer.named_parameters():
        assert_close(parameter.grad, getattr(torch_layer, name).grad.numpy(), err_msg=name)
    assert repr(mint_layer).replace(", strategy='loop'", "").replace(
        ", strategy='vectorized'", "") == repr(torch_layer)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.layer_norm(np.zeros((2, 3)), 4), ValueError, r"shape \(\*, 4\)"),
    (lambda: F.layer_norm(np.zeros((2, 3)), (3,), np.ones(4)), ValueError, "weight must have"),
    (lambda: F.layer_norm(np.zeros((2, 3)), 3, np.ones(3, np.float32)), TypeError, "one dtype"),
    (lambda: F.layer_norm(np.zeros((2, 3)), 3, eps=-1), ValueError, "eps"),
    (lambda: F.layer_norm(np.zeros(3, int), 3), TypeError, "input"),
    (lambda: F.layer_norm_backward(np.zeros((2, 3)), np.zeros((2, 3)), 3, np.zeros(3),
                                   np.zeros(2)), ValueError, "mean must be"),
    (lambda: nn.LayerNorm(0), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm(()), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm(4)(np.zeros((2, 3), np.float32)), ValueError, r"\(\*, 4\)"),
])
def test_bad_arguments_are_refused_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()
