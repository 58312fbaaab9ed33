"""avg_pool2d / adaptive_avg_pool2d and their layers: check_op against torch.nn.functional,
finite differences and the other strategy on hypothesis-drawn shapes and hyper-parameters
(padding, ceil_mode windows past the padding, count_include_pad, divisor_override; adaptive bins
that overlap, grow or shrink), then bad input."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op


def _input_shape(inputs, outputs):
    return (inputs[0].shape,)


AVG_POOL2D = Op(F.avg_pool2d, F.avg_pool2d_backward,
                lambda x, **params: torch.nn.functional.avg_pool2d(x, **params),
                backward_args=_input_shape)
ADAPTIVE_AVG_POOL2D = Op(F.adaptive_avg_pool2d, F.adaptive_avg_pool2d_backward,
                         lambda x, **params: torch.nn.functional.adaptive_avg_pool2d(x, **params),
                         backward_args=_input_shape)


@st.composite
def avg_pool_configs(draw):
    """An input shape and avg_pool2d keyword arguments PyTorch accepts: kernel 1-4, stride 1-4
    (often not dividing the input) or left out, padding up to kernel // 2, ceil_mode,
    count_include_pad, divisor_override; ints or (h, w) pairs."""
    square = draw(st.booleans())
    axes = []
    for _ in range(1 if square else 2):
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        p = draw(st.integers(0, k // 2))
        axes.append((k, s, p, draw(st.integers(max(1, k - 2 * p), k + 7))))
    (kh, sh, ph, h), (kw, sw, pw, w) = axes * 2 if square else axes
    params = {"ceil_mode": draw(st.booleans()), "count_include_pad": draw(st.booleans()),
              "divisor_override": draw(st.sampled_from([None, None, 1, 3, -2]))}
    for name, pair in (("kernel_size", (kh, kw)), ("stride", (sh, sw)), ("padding", (ph, pw))):
        params[name] = pair[0] if square else pair
    if draw(st.booleans()):
        del params["stride"]  # the default: the kernel size
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), params


# A ceil_mode window running past the padding: its divisor counts the padded input only.
PAST_THE_PADDING = ((1, 2, 5, 6), {"kernel_size": 3, "stride": 2, "padding": 1,
                                   "ceil_mode": True})
# The same without count_include_pad, and a window that holds a single row.
ONE_ROW = ((2, 1, 5, 7), {"kernel_size": (2, 3), "stride": 2, "ceil_mode": True,
                          "count_include_pad": False})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=avg_pool_configs(), seed=st.integers(0, 2**32 - 1))
@example(config=PAST_THE_PADDING, seed=0)
@example(config=ONE_ROW, seed=1)
def test_avg_pool2d_matches_references(strategy, dtype, config, seed):
    shape, params = config
    x = random_array(np.random.default_rng(seed), shape)
    check_op(AVG_POOL2D, (x,), params, strategies=[strategy], dtypes=[dtype], seed=seed)


def _output_sizes(size):
    """An int or an (h, w) pair, entries from 1 to twice the input, or None (keep the input)."""
    entry = st.integers(1, 2 * size + 1)
    return st.one_of(entry, st.tuples(entry | st.none(), entry | st.none()))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_adaptive_avg_pool2d_matches_references(strategy, dtype, data, seed):
    shape = data.draw(st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 9),
                                st.integers(1, 9)))
    output_size = data.draw(_output_sizes(max(shape[2:])))
    x = random_array(np.random.default_rng(seed), shape)
    check_op(ADAPTIVE_AVG_POOL2D, (x,), {"output_size": output_size}, strategies=[strategy],
             dtypes=[dtype], seed=seed)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("shape, output_size", [
    ((2, 3, 7, 5), 1),  # global average pooling
    ((1, 2, 5, 5), 3),  # bins [0, 2), [1, 4), [3, 5): overlapping, of lengths 2, 3, 2
    ((1, 1, 3, 4), (7, None)),  # more bins than rows: rows repeat
    ((2, 2, 10, 6), (4, 4)),  # lengths 3 and 4 (rows), 2 and 3 (columns)
])
def test_adaptive_avg_pool2d_awkward_bins_match_references(strategy, shape, output_size):
    x = random_array(np.random.default_rng(7), shape)
    check_op(ADAPTIVE_AVG_POOL2D, (x,), {"output_size": output_size}, strategies=[strategy])


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_global_average_pooling_is_the_mean_of_each_plane(strategy):
    x = random_array(np.random.default_rng(8), (3, 4, 7, 5))
    out = F.adaptive_avg_pool2d(x, 1, strategy=strategy)
    np.testing.assert_allclose(out, x.mean(axis=(2, 3), keepdims=True), rtol=1e-12)
    grad = F.adaptive_avg_pool2d_backward(np.ones_like(out), x.shape, 1, strategy=strategy)
    np.testing.assert_allclose(grad, np.full(x.shape, 1 / 35), rtol=1e-12)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_avg_pool2d_keeps_infinities_inside_their_windows(strategy):
    # An inf must not leak into the other windows (as a 0 * inf of a masked product would).
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = np.inf
    out = F.avg_pool2d(x, 2, strategy=strategy)
    np.testing.assert_array_equal(out, [[[[np.inf, 0], [0, 0]]]])
    out = F.adaptive_avg_pool2d(x, 3, strategy=strategy)
    assert np.isinf(out[0, 0, 0, 0]) and np.isfinite(out[0, 0].ravel()[1:]).all()


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_avg_pool2d_layers_match_functional_and_copy_pytorch_reprs(strategy):
    x = random_array(np.random.default_rng(9), (2, 3, 7, 6))
    layer = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False, divisor_override=4,
                         strategy=strategy)
    out = layer(x)
    arguments = (3, 2, 1, True, False, 4)
    np.testing.assert_array_equal(out, F.avg_pool2d(x, *arguments, strategy=strategy))
    grad_out = np.ones_like(out)
    np.testing.assert_array_equal(layer.backward(grad_out), F.avg_pool2d_backward(
        grad_out, x.shape, *arguments, strategy=strategy))
    adaptive = nn.AdaptiveAvgPool2d((None, 2), strategy=strategy)
    out = adaptive(x)
    assert out.shape == (2, 3, 7, 2)
    np.testing.assert_array_equal(adaptive.backward(np.ones_like(out)),
                                  F.adaptive_avg_pool2d_backward(np.ones_like(out), x.shape,
                                                                 (None, 2), strategy=strategy))
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
    assert repr(nn.AdaptiveAvgPool2d([None, 3])) == "AdaptiveAvgPool2d(output_size=(None, 3))"


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("shape, params, error, match", [
    ((1, 5, 5), {"kernel_size": 2}, ValueError, "input must have 4 dimensions"),
    ((1, 1, 5, 5), {"kernel_size": 3, "padding": 2}, ValueError, "padding must be at most half"),
    ((1, 1, 3, 3), {"kernel_size": 5}, ValueError, "kernel height 5 .* more than the padded input"),
    ((1, 1, 5, 5), {"kernel_size": 0}, ValueError, "kernel_size must be >= 1"),
    ((1, 1, 5, 5), {"kernel_size": 2, "stride": 0}, ValueError, "stride must be >= 1"),
    ((1, 1, 5, 5), {"kernel_size": 2.0}, TypeError, "kernel_size must be an int"),
    ((1, 1, 5, 5), {"kernel_size": 2, "ceil_mode": 1}, TypeError, "ceil_mode must be a bool"),
    ((1, 1, 5, 5), {"kernel_size": 2, "count_include_pad": None}, TypeError,
     "count_include_pad must be a bool"),
    ((1, 1, 5, 5), {"kernel_size": 2, "divisor_override": 0}, ValueError,
     "divisor_override must be non-zero"),
    ((1, 1, 5, 5), {"kernel_size": 2, "divisor_override": 2.5}, TypeError,
     "divisor_override must be an int"),
])
def test_avg_pool2d_rejects_bad_input_naming_the_argument(strategy, shape, params, error, match):
    with pytest.raises(error, match=f"avg_pool2d: {match}"):
        F.avg_pool2d(np.zeros(shape), **params, strategy=strategy)
    if len(shape) == 4 and "padded input" not in match:
        with pytest.raises(error, match=f"AvgPool2d: {match}"):
            nn.AvgPool2d(**params)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("output_size, error, match", [
    (0, ValueError, "output_size must be >= 1"),
    ((2, 0), ValueError, "output_size must be >= 1"),
    ((2, 2, 2), ValueError, "output_size must be an int or a pair"),
    (1.5, TypeError, "output_size must be an int"),
    ("1", TypeError, "output_size must be an int"),
])
def test_adaptive_avg_pool2d_rejects_bad_output_size(strategy, output_size, error, match):
    with pytest.raises(error, match=f"adaptive_avg_pool2d: {match}"):
        F.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), output_size, strategy=strategy)
    with pytest.raises(error, match=f"AdaptiveAvgPool2d: {match}"):
        nn.AdaptiveAvgPool2d(output_size)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_average_pooling_backward_rejects_shapes_that_do_not_fit(strategy):
    grad_out = np.ones((2, 3, 2, 2))
    with pytest.raises(ValueError, match="avg_pool2d_backward: input_shape must be"):
        F.avg_pool2d_backward(grad_out, (2, 4, 4, 4), 2, strategy=strategy)
    with pytest.raises(ValueError, match=r"avg_pool2d_backward: grad_out must have shape "
                                         r"\(2, 3, 3, 3\)"):
        F.avg_pool2d_backward(grad_out, (2, 3, 6, 6), 2, strategy=strategy)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d_backward: grad_out must have"):
        F.adaptive_avg_pool2d_backward(grad_out, (2, 3, 6, 6), 3, strategy=strategy)
    with pytest.raises(TypeError, match="adaptive_avg_pool2d_backward: grad_out must have dtype"):
        F.adaptive_avg_pool2d_backward(grad_out.astype(int), (2, 3, 6, 6), 2, strategy=strategy)


def test_guide_p3_example_divisors_of_a_ceil_mode_window_past_the_padding():
    # docs/backprop.md, (P3): H_in = 6, F = 3, S = 2, P = 1, ceil_mode; rows of each window and
    # its divisor with / without count_include_pad.
    windows = [({0, 1}, 3, 2), ({1, 2, 3}, 3, 3), ({3, 4, 5}, 3, 3), ({5}, 2, 1)]
    for count_include_pad, column in ((True, 1), (False, 2)):
        for h, window in enumerate(windows):
            grad_out = np.zeros((1, 1, 4, 1))
            grad_out[0, 0, h, 0] = 1.0
            grad = F.avg_pool2d_backward(grad_out, (1, 1, 6, 1), (3, 1), (2, 1), (1, 0), True,
                                         count_include_pad)
            expected = [1 / window[column] if u in window[0] else 0 for u in range(6)]
            np.testing.assert_allclose(grad.ravel(), expected, rtol=1e-15)
