"""max_pool2d / max_pool2d_backward against torch (values, argmax indices, gradients), finite
differences, and the other strategy; ties, NaN, ceil_mode and bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given
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

seeds = st.integers(0, 2**32 - 1)


@st.composite
def _any_pool_config(draw, max_batch=2, max_extra=6):
    """An input shape and max_pool2d keyword arguments PyTorch accepts.

    Kernel 1-4, stride 1-4 (often smaller than the kernel or not dividing the input), padding up
    to kernel // 2, dilation 1-3, ceil_mode; hyper-parameters as ints or (h, w) pairs, stride
    sometimes left to its default (the kernel size).
    """
    square = draw(st.booleans())
    axes = []
    for _ in range(1 if square else 2):
        k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2))
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        axes.append((k, s, p, d, draw(st.integers(smallest, smallest + max_extra))))
    if square:
        axes.append(axes[0])
    (kh, sh, ph, dh, h), (kw, sw, pw, dw, w) = axes
    kwargs = {"ceil_mode": draw(st.booleans())}
    for name, pair in (("kernel_size", (kh, kw)), ("stride", (sh, sw)), ("padding", (ph, pw)),
                       ("dilation", (dh, dw))):
        kwargs[name] = pair[0] if square else pair
    if draw(st.booleans()):
        del kwargs["stride"]  # PyTorch's and Mint's default: stride = kernel_size
    shape = (draw(st.integers(1, max_batch)), draw(st.integers(1, 3)), h, w)
    return shape, kwargs


def _every_window_holds_an_input_pixel(config):
    """False for the rare dilated configurations with a window of padding only, which
    max_pool2d rejects (PyTorch answers -inf there, with an index outside the input)."""
    shape, kwargs = config
    try:
        F.max_pool2d(np.zeros(shape), **kwargs, strategy="vectorized")
    except ValueError:
        return False
    return True


def pool_configs(**bounds):
    """Configurations of :func:`_any_pool_config` that max_pool2d accepts."""
    return _any_pool_config(**bounds).filter(_every_window_holds_an_input_pixel)


def shuffled_linspace(shape, dtype, seed):
    """Distinct values in random order, so that every window has a single maximum."""
    values = np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float64)
    return np.random.default_rng(seed).permutation(values).reshape(shape).astype(dtype)


def _torch_pool(x, grad_out, kwargs):
    """PyTorch's output, indices and input gradient for grad_out."""
    tx = to_torch(x, requires_grad=True)
    out, indices = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    out.backward(to_torch(grad_out))
    return out.detach().numpy(), indices.numpy(), tx.grad.numpy()


def _mint_pool(x, grad_out, kwargs, strategy):
    out, argmax = F.max_pool2d(x, **kwargs, strategy=strategy)
    grad_out = np.ones_like(out) if grad_out is None else grad_out
    return out, argmax, F.max_pool2d_backward(grad_out, argmax, x.shape, strategy=strategy)


def _check_against_torch(x, kwargs, strategy, seed=0):
    out, argmax = F.max_pool2d(x, **kwargs, strategy=strategy)
    grad_out = random_array(np.random.default_rng(seed), out.shape, x.dtype)
    expected_out, expected_argmax, expected_grad = _torch_pool(x, grad_out, kwargs)
    assert out.dtype == x.dtype and argmax.dtype == np.int64
    np.testing.assert_array_equal(out, expected_out)  # a max is exact: no tolerance
    np.testing.assert_array_equal(argmax, expected_argmax)
    grad_x = F.max_pool2d_backward(grad_out, argmax, x.shape, strategy=strategy)
    assert grad_x.dtype == x.dtype
    assert_close(grad_x, expected_grad, err_msg="grad_x")


OVERLAPPING = {"kernel_size": 3, "stride": 1, "padding": 1}
HANGING = {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 0), "ceil_mode": True}


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=pool_configs(), seed=seeds)
@example(config=((1, 1, 5, 5), OVERLAPPING), seed=0)
@example(config=((2, 3, 7, 8), HANGING), seed=1)
@example(config=((1, 2, 9, 7), {"kernel_size": 2, "stride": 3, "dilation": 2}), seed=2)
def test_max_pool2d_values_indices_and_gradient_match_torch(strategy, dtype, config, seed):
    shape, kwargs = config
    _check_against_torch(shuffled_linspace(shape, dtype, seed), kwargs, strategy, seed)


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize(
    "kwargs",
    [{"kernel_size": 2}, OVERLAPPING, HANGING,
     {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}],
)
def test_max_pool2d_ties_go_to_the_first_maximum_in_window_order_like_torch(strategy, kwargs):
    constant = np.full((1, 2, 7, 8), 0.5)
    repeated = np.random.default_rng(3).integers(0, 3, (2, 2, 7, 8)).astype(np.float32)
    for x in (constant, repeated):
        _check_against_torch(x, kwargs, strategy)


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("kwargs", [OVERLAPPING, HANGING, {"kernel_size": 2}])
def test_max_pool2d_nan_wins_and_the_last_nan_of_a_window_is_its_argmax_like_torch(strategy,
                                                                                    kwargs):
    x = shuffled_linspace((2, 2, 7, 8), np.float32, 4)
    x[np.random.default_rng(4).random(x.shape) < 0.2] = np.nan
    _check_against_torch(x, kwargs, strategy)


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("kwargs", [OVERLAPPING, HANGING])
def test_max_pool2d_window_of_only_minus_inf_points_inside_the_input_like_torch(strategy,
                                                                                kwargs):
    # Padding is -inf too; the argmax must still be a real input pixel (PyTorch: the first).
    x = np.full((1, 2, 5, 6), -np.inf)
    x[0, 1, 2, 3] = 1.0
    _check_against_torch(x, kwargs, strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_max_pool2d_overlapping_windows_add_their_gradients_at_a_shared_maximum(strategy):
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the centre is the maximum of all four 2x2 windows
    grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out, argmax, grad_x = _mint_pool(x, grad_out, {"kernel_size": 2, "stride": 1}, strategy)
    np.testing.assert_array_equal(out, np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(argmax, np.full((1, 1, 2, 2), 4))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 10.0
    np.testing.assert_array_equal(grad_x, expected)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=pool_configs(max_batch=1, max_extra=3), seed=seeds)
def test_max_pool2d_gradient_matches_finite_differences(strategy, config, seed):
    shape, kwargs = config
    # Tie-free and spaced by more than the finite-difference step, so no window changes its
    # maximum when one pixel moves by eps.
    x = shuffled_linspace(shape, np.float64, seed)
    out, argmax = F.max_pool2d(x, **kwargs, strategy=strategy)
    grad_out = random_array(np.random.default_rng(seed), out.shape)
    grad_x = F.max_pool2d_backward(grad_out, argmax, x.shape, strategy=strategy)
    assert_gradient_matches_finite_differences(
        lambda v: F.max_pool2d(v, **kwargs, strategy=strategy)[0], x, grad_x, grad_out
    )


@pytest.mark.parametrize("dtype", DTYPES)
@given(config=pool_configs(max_batch=3, max_extra=12), seed=seeds,
       ties=st.booleans())
def test_max_pool2d_loop_and_vectorized_strategies_agree(dtype, config, seed, ties):
    shape, kwargs = config
    if ties:
        x = np.random.default_rng(seed).integers(0, 3, shape).astype(dtype)
    else:
        x = shuffled_linspace(shape, dtype, seed)
    loop = _mint_pool(x, None, kwargs, "loop")
    vectorized = _mint_pool(x, None, kwargs, "vectorized")
    np.testing.assert_array_equal(loop[0], vectorized[0])
    np.testing.assert_array_equal(loop[1], vectorized[1])
    assert loop[2].dtype == vectorized[2].dtype == dtype
    assert_close(loop[2], vectorized[2], STRATEGY_TOLERANCES, err_msg="grad_x")


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_max_pool2d_gives_the_same_results_for_non_contiguous_and_fortran_inputs(strategy):
    x = shuffled_linspace((2, 3, 8, 7), np.float64, 5)
    expected = _mint_pool(x, None, OVERLAPPING, strategy)
    strided = np.repeat(x, 2, axis=3)[..., ::2]
    for variant in (np.asfortranarray(x), strided):
        out, argmax = F.max_pool2d(variant, **OVERLAPPING, strategy=strategy)
        grad_x = F.max_pool2d_backward(np.asfortranarray(np.ones_like(out)),
                                       np.asfortranarray(argmax), variant.shape,
                                       strategy=strategy)
        for actual, wanted in zip((out, argmax, grad_x), expected, strict=True):
            np.testing.assert_array_equal(actual, wanted)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize(
    "shape, dtype, kwargs, error, match",
    [
        ((1, 5, 5), np.float64, {"kernel_size": 2}, ValueError, "input must have 4 dimensions"),
        ((1, 1, 1, 5, 5), np.float64, {"kernel_size": 2}, ValueError, "4 dimensions"),
        ((1, 1, 5, 5), np.int64, {"kernel_size": 2}, TypeError, "input must have dtype"),
        ((1, 1, 5, 5), np.complex128, {"kernel_size": 2}, TypeError, "input must have dtype"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": 3, "padding": 2}, ValueError,
         "padding must be at most half"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": (2, 4), "padding": (1, 3)}, ValueError,
         "padding must be at most half"),
        ((1, 1, 3, 3), np.float64, {"kernel_size": 5}, ValueError, "more than the padded input"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": 3, "dilation": 3}, ValueError,
         "more than the padded input"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": 2, "stride": 0}, ValueError,
         "stride must be >= 1"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": 0}, ValueError, "kernel_size must be >= 1"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": (2, 2, 2)}, ValueError, "pair"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": 2.0}, TypeError, "must be an int"),
        ((1, 1, 5, 5), np.float64, {"kernel_size": 2, "ceil_mode": 1}, TypeError,
         "ceil_mode must be a bool"),
    ],
)
def test_max_pool2d_rejects_bad_input(strategy, shape, dtype, kwargs, error, match):
    x = np.zeros(shape, dtype=dtype)
    with pytest.raises(error, match=match):
        F.max_pool2d(x, **kwargs, strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((1, 1, 1, 4), {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 2}),
        ((1, 1, 4, 2), {"kernel_size": (2, 2), "padding": (0, 1), "dilation": (1, 3)}),
    ],
)
def test_max_pool2d_rejects_a_dilated_window_that_holds_only_padding(strategy, shape, kwargs):
    # Window 0 along one axis has its taps at -1 and 1 (or 2), both outside the input.
    with pytest.raises(ValueError, match="holds only padding"):
        F.max_pool2d(np.zeros(shape), **kwargs, strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_max_pool2d_backward_rejects_a_bad_argmax_or_input_shape(strategy):
    x = shuffled_linspace((2, 3, 6, 6), np.float64, 6)
    out, argmax = F.max_pool2d(x, 2, strategy=strategy)
    grad_out = np.ones_like(out)
    for wrong_dtype in (argmax.astype(np.int32), argmax.astype(np.float64), argmax.tolist()):
        with pytest.raises(TypeError, match="argmax must be an int64"):
            F.max_pool2d_backward(grad_out, wrong_dtype, x.shape, strategy=strategy)
    with pytest.raises(ValueError, match="argmax shape"):
        F.max_pool2d_backward(grad_out, argmax[:, :, :2], x.shape, strategy=strategy)
    with pytest.raises(ValueError, match="outside an input plane"):
        F.max_pool2d_backward(grad_out, argmax + 36, x.shape, strategy=strategy)
    with pytest.raises(ValueError, match="outside an input plane"):
        F.max_pool2d_backward(grad_out, argmax - 100, x.shape, strategy=strategy)
    with pytest.raises(ValueError, match="input_shape must be"):
        F.max_pool2d_backward(grad_out, argmax, (2, 4, 6, 6), strategy=strategy)
    with pytest.raises(ValueError, match="input_shape must be"):
        F.max_pool2d_backward(grad_out, argmax, (6, 6), strategy=strategy)
    with pytest.raises(TypeError, match="grad_out must have dtype"):
        F.max_pool2d_backward(grad_out.astype(np.int64), argmax, x.shape, strategy=strategy)


_POOL_ONCE = """
import numpy as np
from mint.kernels import max_pool2d
x = np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6)
max_pool2d.max_pool2d_forward(x, (3, 2), (1, 2), (0, 0), (1, 1), (4, 3))
print(sum(max_pool2d._forward_kernel(3, 2).stats.cache_hits.values()))
"""


def test_max_pool2d_kernel_of_a_window_size_is_loaded_from_the_disk_cache(tmp_path):
    """The kernel compiled for one window size is cached on disk like every other kernel: a
    second process loads it instead of compiling it again."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    hits = [subprocess.run([sys.executable, "-c", _POOL_ONCE], env=env, capture_output=True,
                           text=True, check=True, timeout=300).stdout.strip() for _ in range(2)]
    assert hits == ["0", "1"]
