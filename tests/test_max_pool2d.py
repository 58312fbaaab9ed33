"""max_pool2d / max_pool2d_backward against torch (values, argmax indices, gradients), finite
differences, the other strategy, memory layouts and dtypes (op_check); ties, NaN, ceil_mode,
bad input and the disk cache."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, shuffled_linspace, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op

seeds = st.integers(0, 2**32 - 1)


# The window sizes drawn: each axis 1 to 4 taps, square and not, wide and tall. The loop kernel
# is compiled once per window size and dtype (its taps are compile-time constants, section 4 of
# docs/implementation.md), so drawing from these few, which the layer cases and other tests use
# too, lets the tests share compiled kernels; every other argument is drawn freely.
KERNEL_SIZES = ((1, 1), (2, 2), (3, 3), (3, 2), (1, 4))


@st.composite
def _any_pool_config(draw, max_batch=2, max_extra=6):
    """An input shape and max_pool2d keyword arguments PyTorch accepts.

    Kernel one of KERNEL_SIZES, stride 1-4 (often smaller than the kernel or not dividing the
    input), padding up to kernel // 2, dilation 1-3, ceil_mode; hyper-parameters as ints or
    (h, w) pairs, stride sometimes left to its default (the kernel size).
    """
    kernel = draw(st.sampled_from(KERNEL_SIZES))
    square = kernel[0] == kernel[1] and draw(st.booleans())
    axes = []
    for k in kernel[:1] if square else kernel:
        s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
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


MAX_POOL2D = Op(
    F.max_pool2d, F.max_pool2d_backward,
    lambda x, **kwargs: torch.nn.functional.max_pool2d(x, return_indices=True, **kwargs),
    backward_args=lambda inputs, outputs: (outputs[1], inputs[0].shape), backward_params=False,
    exact_outputs=(0,),  # a maximum is exact: no tolerance
)


def check_max_pool2d(x, kwargs, strategies=STRATEGY_NAMES, dtypes=DTYPES, seed=0,
                     finite_differences=True):
    """check_op of max_pool2d on x; finite differences through up to 512 pixels, so the small
    configurations are checked pixel by pixel."""
    check_op(MAX_POOL2D, (x,), kwargs, strategies=strategies, dtypes=dtypes, seed=seed,
             finite_differences=finite_differences, fd_elements=512)


OVERLAPPING = {"kernel_size": 3, "stride": 1, "padding": 1}
HANGING = {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 0), "ceil_mode": True}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=pool_configs(max_batch=3, max_extra=12), seed=seeds)
@example(config=((1, 1, 5, 5), OVERLAPPING), seed=0)
@example(config=((2, 3, 7, 8), HANGING), seed=1)
@example(config=((1, 2, 9, 7), {"kernel_size": 2, "stride": 3, "dilation": 2}), seed=2)
def test_max_pool2d_matches_references(strategy, dtype, config, seed):
    # Tie-free and spaced by more than the finite-difference step, so no window changes its
    # maximum when one pixel moves by eps.
    shape, kwargs = config
    check_max_pool2d(shuffled_linspace(shape, np.float64, seed), kwargs, [strategy], [dtype],
                     seed)


@pytest.mark.parametrize("dtype", DTYPES)
@given(config=pool_configs(max_batch=3, max_extra=12), seed=seeds)
def test_max_pool2d_matches_references_with_ties(dtype, config, seed):
    # No derivative where two inputs tie for a maximum: no finite differences.
    shape, kwargs = config
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)
    check_max_pool2d(x, kwargs, dtypes=[dtype], seed=seed, finite_differences=False)


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
        check_max_pool2d(x, kwargs, [strategy], finite_differences=False)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("kwargs", [OVERLAPPING, HANGING, {"kernel_size": 2}])
def test_max_pool2d_nan_wins_and_the_last_nan_of_a_window_is_its_argmax_like_torch(strategy,
                                                                                    kwargs):
    x = shuffled_linspace((2, 2, 7, 8), np.float32, 4)
    x[np.random.default_rng(4).random(x.shape) < 0.2] = np.nan
    check_max_pool2d(x, kwargs, [strategy], finite_differences=False)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("kwargs", [OVERLAPPING, HANGING])
def test_max_pool2d_window_of_only_minus_inf_points_inside_the_input_like_torch(strategy,
                                                                                kwargs):
    # Padding is -inf too; the argmax must still be a real input pixel (PyTorch: the first).
    x = np.full((1, 2, 5, 6), -np.inf)
    x[0, 1, 2, 3] = 1.0
    check_max_pool2d(x, kwargs, [strategy], finite_differences=False)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_max_pool2d_overlapping_windows_add_their_gradients_at_a_shared_maximum(strategy):
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the centre is the maximum of all four 2x2 windows
    grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out, argmax = F.max_pool2d(x, 2, stride=1, strategy=strategy)
    grad_x = F.max_pool2d_backward(grad_out, argmax, x.shape, strategy=strategy)
    np.testing.assert_array_equal(out, np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(argmax, np.full((1, 1, 2, 2), 4))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 10.0
    np.testing.assert_array_equal(grad_x, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=pool_configs(max_batch=3, max_extra=12), seed=seeds,
       special=st.sampled_from([None, np.nan, -np.inf]))
@example(config=((2, 3, 28, 28), {"kernel_size": 2}), seed=0, special=None)
@example(config=((2, 3, 27, 27), {"kernel_size": 3, "stride": 2}), seed=0, special=np.nan)
def test_max_pool2d_without_indices_gives_the_maxima_of_the_forward_with_indices(strategy, dtype,
                                                                                 config, seed,
                                                                                 special):
    # Ties, NaN (which wins) and -inf (which a padded window may hold only of) included.
    shape, kwargs = config
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(dtype)
    if special is not None:
        x[rng.random(shape) < 0.2] = special
    out = F.max_pool2d(x, **kwargs, return_indices=False, strategy=strategy)
    assert isinstance(out, np.ndarray) and out.dtype == dtype
    np.testing.assert_array_equal(out, F.max_pool2d(x, **kwargs, strategy=strategy)[0])
    if torch is not None:
        expected = torch.nn.functional.max_pool2d(torch.from_numpy(x), **kwargs).numpy()
        np.testing.assert_array_equal(out, expected)


def test_max_pool2d_return_indices_must_be_a_bool():
    with pytest.raises(TypeError, match="return_indices must be a bool"):
        F.max_pool2d(np.zeros((1, 1, 4, 4)), 2, return_indices="no")


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_max_pool2d_layer_in_eval_mode_keeps_no_argmax_and_refuses_backward(strategy):
    x = shuffled_linspace((4, 3, 9, 9), np.float32, 7)
    layer = nn.MaxPool2d(3, stride=2, padding=1, strategy=strategy)
    trained = layer(x)
    layer.eval()
    evaluated = layer(x)
    np.testing.assert_array_equal(evaluated, trained)
    assert layer._saved is None
    with pytest.raises(RuntimeError, match="eval mode, which keeps no activations"):
        layer.backward(np.ones_like(evaluated))
    layer.train()
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones_like(evaluated))


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
print(sum(max_pool2d._forward_kernel(3, 2, True).stats.cache_hits.values()))
"""


def test_max_pool2d_kernel_of_a_window_size_is_loaded_from_the_disk_cache(tmp_path):
    """The kernel compiled for one window size is cached on disk like every other kernel: a
    second process loads it instead of compiling it again."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    hits = [subprocess.run([sys.executable, "-c", _POOL_ONCE], env=env, capture_output=True,
                           text=True, check=True, timeout=300).stdout.strip() for _ in range(2)]
    assert hits == ["0", "1"]


_POOL_SIGNATURES = """
import numpy as np
from mint.kernels import max_pool2d
x = np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6)
max_pool2d.max_pool2d_forward(x, (3, 2), (1, 2), (0, 0), (1, 1), (4, 3))
for signature in max_pool2d._pool_plane.signatures:
    print(*signature[3:5], signature[8])
"""


def test_max_pool2d_plane_is_compiled_with_the_window_size_and_argmax_as_literals(tmp_path):
    """_pool_plane, which the parallel kernel calls once per plane, is compiled for the window
    size and ``with_argmax`` as constants (literal types), which lets LLVM unroll the taps
    (section 4 of ``docs/implementation.md``). A fresh disk cache, so that it is compiled."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _POOL_SIGNATURES], env=env, capture_output=True,
                         text=True, check=True, timeout=300).stdout.strip()
    assert out == "Literal[int](3) Literal[int](2) Literal[bool](True)"
