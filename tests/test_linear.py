"""linear / linear_backward against torch, finite differences, the other strategy, memory
layouts and dtypes (op_check); NaN and inf, errors."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, assert_close, random_array, torch
from mint import functional as F
from op_check import Op, check_op, zero_bias

seeds = st.integers(0, 2**32 - 1)

LINEAR = Op(
    F.linear, F.linear_backward, lambda *args: torch.nn.functional.linear(*args),
    backward_args=lambda inputs, outputs: inputs[:2], grads=(0, 1, 2),
    # grad_bias is the sum of grad_out over N whether or not there is a bias.
    fill_absent=zero_bias,
)


def _problem(seed, N, C_in, C_out, dtype):
    """Seeded x (N, C_in), weight (C_out, C_in), bias (C_out,) and grad_out (N, C_out)."""
    rng = np.random.default_rng(seed)
    return (random_array(rng, (N, C_in), dtype), random_array(rng, (C_out, C_in), dtype),
            random_array(rng, (C_out,), dtype), random_array(rng, (N, C_out), dtype))


def check_linear(strategy, dtype, seed, N, C_in, C_out, with_bias=True, fd_elements=64):
    """check_op on seeded x, weight and bias (or None) for one strategy and dtype."""
    x, weight, bias, _ = _problem(seed, N, C_in, C_out, np.float64)
    check_op(LINEAR, (x, weight, bias if with_bias else None), strategies=[strategy],
             dtypes=[dtype], seed=seed, fd_elements=fd_elements)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, N=st.integers(1, 40), C_in=st.integers(1, 200), C_out=st.integers(1, 40),
       with_bias=st.booleans())
@example(seed=0, N=1, C_in=1, C_out=1, with_bias=True)
@example(seed=1, N=1, C_in=7, C_out=3, with_bias=False)
@example(seed=2, N=4, C_in=4, C_out=3, with_bias=True)  # every element by finite differences
def test_linear_matches_references(strategy, dtype, seed, N, C_in, C_out, with_bias):
    check_linear(strategy, dtype, seed, N, C_in, C_out, with_bias)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("shape", [(64, 784, 128), (1, 300, 10), (33, 129, 65)])
def test_linear_matches_references_on_layer_sized_shapes(strategy, dtype, shape):
    # Long rows exercise the vectorised (reordered) dot products of the loop kernels.
    check_linear(strategy, dtype, 7, *shape, fd_elements=16)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("leading", [(), (5,), (2, 3), (2, 1, 3)])
def test_linear_takes_any_leading_shape_as_pytorch(strategy, dtype, leading):
    """(*, C_in) -> (*, C_out): a single sample, a batch, a batch of token sequences."""
    rng = np.random.default_rng(len(leading))
    x = random_array(rng, (*leading, 6))
    weight, bias = random_array(rng, (4, 6)), random_array(rng, (4,))
    check_op(LINEAR, (x, weight, bias), strategies=[strategy], dtypes=[dtype], fd_elements=16)


def _naive_linear(x, weight, grad_out):
    """Float64 elementwise products summed: (out without bias, grad_x, grad_weight)."""
    x, weight, grad_out = (a.astype(np.float64) for a in (x, weight, grad_out))
    return ((x[:, None, :] * weight[None, :, :]).sum(-1),
            (grad_out[:, :, None] * weight[None, :, :]).sum(1),
            (grad_out[:, :, None] * x[:, None, :]).sum(0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_linear_propagates_nan_and_inf_from_the_last_sample_and_feature(strategy, dtype):
    # 5 samples and 6 features leave partial register blocks in the loop kernels: a NaN in the
    # last sample and an inf in the last feature's weights must reach exactly the elements they
    # reach in exact IEEE arithmetic, no more (a clamped index counted twice) and no fewer.
    x, weight, _, grad_out = _problem(4, 5, 7, 6, dtype)
    x[4, 3] = np.nan
    weight[5, 2] = np.inf
    actual = [F.linear(x, weight, None, strategy=strategy),
              *F.linear_backward(grad_out, x, weight, strategy=strategy)[:2]]
    for name, a, e in zip(("out", "grad_x", "grad_weight"), actual,
                          _naive_linear(x, weight, grad_out), strict=True):
        for special in (np.isnan, np.isposinf, np.isneginf):
            np.testing.assert_array_equal(special(a), special(e), err_msg=name)
        finite = np.isfinite(e)
        assert finite.sum() > 0, name
        assert_close(a[finite], e[finite].astype(dtype), err_msg=name)


def _good_args():
    return _problem(0, 3, 4, 2, np.float64)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda x, w, b: (np.array(x[0, 0]), w, b), ValueError, "at least 1 dimension"),
        (lambda x, w, b: (x[None, :, :3], w, b), ValueError, "expected input with 4 features"),
        (lambda x, w, b: (x, w[0], b), ValueError, "weight must have 2 dimensions"),
        (lambda x, w, b: (x[:, :3], w, b), ValueError, "expected input with 4 features"),
        (lambda x, w, b: (x, w, b[:1]), ValueError, "bias must have shape"),
        (lambda x, w, b: (x.astype(np.int64), w, b), TypeError, "input must have dtype"),
        (lambda x, w, b: (x.astype(np.complex128), w, b), TypeError, "input must have dtype"),
        (lambda x, w, b: (x, w.astype(np.int32), b), TypeError, "weight must have dtype"),
        (lambda x, w, b: (x.astype(np.float32), w, b), TypeError, "share one dtype"),
        (lambda x, w, b: (x.tolist(), w, b), TypeError, "numpy.ndarray"),
    ],
)
def test_linear_rejects_bad_input(strategy, mutate, error, match):
    x, weight, bias, grad_out = _good_args()
    x, weight, bias = mutate(x, weight, bias)
    with pytest.raises(error, match=match):
        F.linear(x, weight, bias, strategy=strategy)


@pytest.mark.parametrize("backward", [F.linear_backward, F.linear_backward_parameters])
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_linear_backward_rejects_grad_out_of_the_wrong_shape_or_dtype(strategy, backward):
    x, weight, _, grad_out = _good_args()
    with pytest.raises(ValueError, match="grad_out must have shape"):
        backward(grad_out[:, :1], x, weight, strategy=strategy)
    with pytest.raises(ValueError, match="grad_out must have shape"):
        backward(grad_out[0], x, weight, strategy=strategy)
    with pytest.raises(TypeError, match="share one dtype"):
        backward(grad_out.astype(np.float32), x, weight, strategy=strategy)
    with pytest.raises(TypeError, match="grad_out must have dtype"):
        backward(grad_out.astype(np.complex64), x, weight, strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_linear_backward_parameters_equals_the_parameter_part_of_linear_backward(strategy):
    x, weight, _, grad_out = _good_args()
    _, *expected = F.linear_backward(grad_out, x, weight, strategy=strategy)
    actual = F.linear_backward_parameters(grad_out, x, weight, strategy=strategy)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(a, e)
