"""conv2d: forward and gradients against torch and finite differences, both strategies, memory
layouts and dtypes (op_check), errors, kept arrays and threads."""

import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from mint.strategy import STRATEGIES
from op_check import Op, check_op, zero_bias

# PyTorch warns that its "same" padding of an even kernel copies the input; so does Mint's.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

CONV2D = Op(
    F.conv2d, F.conv2d_backward, lambda *args, **kw: torch.nn.functional.conv2d(*args, **kw),
    backward_args=lambda inputs, outputs: inputs[:2], grads=(0, 1, 2),
    # grad_bias is the sum of grad_out over (N, H_out, W_out) whether or not there is a bias.
    fill_absent=zero_bias,
)


def _as_pair(value):
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def check_conv2d(strategy, dtype, x_shape, weight_shape, stride=1, padding=0, dilation=1,
                 bias=True, seed=0, fd_elements=64, groups=1):
    """check_op on seeded x, weight and bias (or None) for one strategy and dtype."""
    rng = np.random.default_rng(seed)
    inputs = (random_array(rng, x_shape), random_array(rng, weight_shape),
              random_array(rng, (weight_shape[0],)) if bias else None)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    check_op(CONV2D, inputs, params, strategies=[strategy], dtypes=[dtype], seed=seed,
             fd_elements=fd_elements)


@st.composite
def conv_configs(draw, max_batch=4):
    """Random shapes and hyper-parameters (ints or (h, w) pairs) whose window fits."""
    def int_or_pair(low, high):
        values = st.integers(low, high)
        return draw(st.one_of(values, st.tuples(values, values)))

    stride, padding, dilation = int_or_pair(1, 3), int_or_pair(0, 2), int_or_pair(1, 2)
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    spatial = []
    for k, p, d in zip(kernel, _as_pair(padding), _as_pair(dilation), strict=True):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        spatial.append(draw(st.integers(smallest, smallest + 6)))
    # C_in up to 10 so that both loop forward paths (short and long C_in * KH * KW) are drawn.
    c_in, c_out = draw(st.integers(1, 10)), draw(st.integers(1, 5))
    return {
        "x_shape": (draw(st.integers(1, max_batch)), c_in, *spatial),
        "weight_shape": (c_out, c_in, *kernel),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@st.composite
def grouped_conv_configs(draw):
    """Grouped and depthwise convolutions, padding as a number, a pair, "valid" or "same"."""
    groups = draw(st.integers(1, 4))
    depthwise = draw(st.booleans())
    c_group = 1 if depthwise else draw(st.integers(1, 5))
    c_out = groups * draw(st.integers(1, 3))
    # Kernels up to 3 x 3: the depthwise forward compiles once per kernel size.
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["same", "valid", 0, 1, (2, 1)]))
    stride = 1 if padding == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    pads = (0, 0) if isinstance(padding, str) else _as_pair(padding)
    spatial = [draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 7))
               for k, p, d in zip(kernel, pads, dilation, strict=True)]
    return {
        "x_shape": (draw(st.integers(1, 3)), groups * c_group, *spatial),
        "weight_shape": (c_out, c_group, *kernel),
        "stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
        "bias": draw(st.booleans()), "seed": draw(st.integers(0, 2**16)),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=grouped_conv_configs())
def test_grouped_conv2d_matches_references_on_random_configs(strategy, dtype, config):
    check_conv2d(strategy, dtype, **config)


# Hand-picked configurations that have broken convolution code before.
AWKWARD_CASES = {
    "stride_not_dividing": dict(x_shape=(2, 3, 8, 9), weight_shape=(4, 3, 3, 3), stride=3),
    "stride_not_dividing_with_padding": dict(
        x_shape=(2, 2, 7, 10), weight_shape=(3, 2, 2, 3), stride=(2, 4), padding=(1, 0)
    ),
    "padding_is_kernel_minus_one": dict(x_shape=(2, 2, 5, 4), weight_shape=(3, 2, 3, 4),
                                        padding=(2, 3)),
    "one_by_one_kernel": dict(x_shape=(2, 5, 6, 7), weight_shape=(3, 5, 1, 1)),
    "one_by_one_kernel_strided_and_padded": dict(
        x_shape=(2, 3, 6, 7), weight_shape=(4, 3, 1, 1), stride=2, padding=1
    ),
    "kernel_equals_input": dict(x_shape=(3, 2, 4, 5), weight_shape=(3, 2, 4, 5)),
    "kernel_equals_padded_input": dict(x_shape=(2, 2, 3, 2), weight_shape=(3, 2, 5, 6),
                                       padding=(1, 2)),
    "dilated_kernel_equals_padded_input": dict(
        x_shape=(2, 1, 5, 4), weight_shape=(2, 1, 3, 2), padding=(0, 1), dilation=(2, 5)
    ),
    "batch_of_one": dict(x_shape=(1, 3, 9, 6), weight_shape=(5, 3, 3, 2), stride=(1, 2),
                         padding=1, dilation=(2, 1)),
    "no_bias": dict(x_shape=(2, 3, 6, 6), weight_shape=(2, 3, 3, 3), padding=1, bias=False),
    "more_channels_than_a_block": dict(x_shape=(2, 9, 5, 6), weight_shape=(11, 9, 3, 3),
                                       padding=1),
    "long_receptive_field_strided_dilated_padded": dict(
        x_shape=(2, 8, 9, 10), weight_shape=(5, 8, 3, 3), stride=(2, 1), padding=(1, 2),
        dilation=(1, 2)
    ),
    "long_receptive_field_stride_not_dividing": dict(
        x_shape=(1, 7, 8, 11), weight_shape=(6, 7, 3, 4), stride=(3, 2)
    ),
    # The loop input gradient splits pixels into stride phases (one correlation per phase):
    # phases that no tap reaches, and dilations sharing a factor with the stride.
    "long_receptive_field_stride_exceeds_window": dict(
        x_shape=(2, 5, 10, 11), weight_shape=(3, 5, 2, 1), stride=(3, 4), padding=(1, 0)
    ),
    "long_receptive_field_dilation_shares_a_factor_with_stride": dict(
        x_shape=(2, 6, 11, 13), weight_shape=(4, 6, 3, 2), stride=(2, 4), padding=(2, 1),
        dilation=(2, 6)
    ),
    # Many output channels on small maps, few images: the loop weight gradient cuts its output
    # channels into runs, and its columns (297 rows of 392 pixels) into panels, the last one
    # short of a multiple of 4 (section 10 of docs/implementation.md).
    "many_channels_small_maps": dict(x_shape=(2, 33, 14, 14), weight_shape=(128, 33, 3, 3),
                                     padding=1, stride=(1, 1)),
    "empty_batch": dict(x_shape=(0, 3, 6, 5), weight_shape=(4, 3, 3, 3), stride=2, padding=1),
    # Groups: each path of the loop kernels (short and long receptive fields, scatter and
    # gather input gradients), depthwise with a channel multiplier, and "same" padding whose odd
    # total puts one more row or column after the input than before it.
    "groups_long_receptive_field": dict(x_shape=(2, 16, 7, 6), weight_shape=(6, 8, 3, 3),
                                        padding=1, groups=2),
    "groups_strided_gather": dict(x_shape=(2, 12, 9, 8), weight_shape=(9, 4, 3, 2),
                                  stride=(2, 3), padding=(1, 0), groups=3),
    "depthwise": dict(x_shape=(2, 5, 7, 8), weight_shape=(5, 1, 3, 3), padding=1, groups=5),
    "depthwise_multiplier_same_even_kernel": dict(x_shape=(2, 3, 6, 7),
                                                  weight_shape=(6, 1, 2, 3), padding="same",
                                                  groups=3),
    "depthwise_multiplier_strided_dilated": dict(
        x_shape=(2, 3, 9, 10), weight_shape=(6, 1, 3, 2), stride=2, dilation=(1, 2), groups=3
    ),
    "same_even_kernel": dict(x_shape=(2, 3, 6, 5), weight_shape=(4, 3, 2, 4), padding="same"),
    "same_dilated_grouped": dict(x_shape=(2, 4, 7, 6), weight_shape=(4, 2, 3, 2),
                                 padding="same", dilation=(2, 3), groups=2),
    "valid": dict(x_shape=(2, 3, 6, 5), weight_shape=(2, 3, 3, 2), padding="valid"),
    # Small enough for finite differences through every element.
    "fd_plain": dict(x_shape=(2, 2, 5, 4), weight_shape=(3, 2, 3, 2)),
    "fd_stride_not_dividing": dict(x_shape=(1, 2, 6, 5), weight_shape=(2, 2, 2, 2),
                                   stride=(3, 2)),
    "fd_padding": dict(x_shape=(2, 1, 4, 4), weight_shape=(2, 1, 3, 3), padding=(1, 2)),
    "fd_dilation": dict(x_shape=(1, 2, 6, 5), weight_shape=(2, 2, 2, 3), dilation=(2, 1)),
    "fd_all_three": dict(x_shape=(2, 2, 5, 6), weight_shape=(3, 2, 2, 2), stride=2, padding=1,
                         dilation=2),
}

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=conv_configs())
def test_conv2d_matches_references_on_random_configs(strategy, dtype, config):
    check_conv2d(strategy, dtype, **config)


@pytest.mark.parametrize("case", sorted(AWKWARD_CASES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv2d_matches_references_on_awkward_cases(strategy, dtype, case):
    # Finite differences through every element of the fd_ cases (up to 120).
    check_conv2d(strategy, dtype, **AWKWARD_CASES[case], fd_elements=128)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv2d_matches_references_on_a_lenet_sized_layer(strategy, dtype):
    # Finite differences through 16 elements of each input and one random direction.
    check_conv2d(strategy, dtype, (8, 6, 14, 14), (16, 6, 5, 5), padding=2, fd_elements=16)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv2d_empty_batch_gives_empty_outputs_and_zero_parameter_gradients(strategy):
    rng = np.random.default_rng(1)
    x, weight = random_array(rng, (0, 2, 5, 5)), random_array(rng, (3, 2, 3, 3))
    params = {"stride": 2, "padding": 1}
    out = F.conv2d(x, weight, random_array(rng, (3,)), **params, strategy=strategy)
    grad_x, grad_weight, grad_bias = F.conv2d_backward(np.zeros(out.shape), x, weight, **params,
                                                       strategy=strategy)
    assert out.shape == (0, 3, 3, 3)
    assert grad_x.shape == (0, 2, 5, 5)
    np.testing.assert_array_equal(grad_weight, np.zeros_like(weight))
    np.testing.assert_array_equal(grad_bias, np.zeros(3))


# ---------------------------------------------------------------------------------- bad inputs

X_SHAPE, W_SHAPE = (2, 3, 6, 6), (4, 3, 3, 3)


def _good_args():
    rng = np.random.default_rng(4)
    return {
        "x": random_array(rng, X_SHAPE), "weight": random_array(rng, W_SHAPE),
        "bias": random_array(rng, (4,)), "stride": 1, "padding": 0, "dilation": 1,
    }


BAD_FORWARD = {
    "input_3d": ({"x": np.zeros((3, 6, 6))}, ValueError, "input must have 4 dimensions"),
    "weight_5d": ({"weight": np.zeros((4, 3, 3, 3, 1))}, ValueError,
                  "weight must have 4 dimensions"),
    "input_not_array": ({"x": [[[[1.0]]]]}, TypeError, "numpy.ndarray"),
    "channel_mismatch": ({"x": np.zeros((2, 5, 6, 6))}, ValueError,
                         re.escape("3 channels (weight is (4, 3, 3, 3)), got shape (2, 5, 6, 6)")),
    "kernel_larger_than_padded_input": ({"x": np.zeros((2, 3, 2, 6)), "padding": (0, 1)},
                                        ValueError, r"kernel height 3 .* padded input height"),
    "dilated_kernel_larger_than_input": ({"dilation": (1, 3)}, ValueError,
                                         r"kernel width 3 with dilation 3 spans 7"),
    "stride_zero": ({"stride": 0}, ValueError, "stride must be >= 1"),
    "stride_pair_zero": ({"stride": (1, 0)}, ValueError, "stride must be >= 1"),
    "stride_triple": ({"stride": (1, 1, 1)}, ValueError, "stride must be an int or a pair"),
    "stride_float": ({"stride": 1.5}, TypeError, "stride must be an int"),
    "dilation_zero": ({"dilation": 0}, ValueError, "dilation must be >= 1"),
    "negative_padding": ({"padding": -1}, ValueError, "padding must be >= 0"),
    "integer_input": ({"x": np.zeros(X_SHAPE, dtype=np.int64)}, TypeError,
                      "input must have dtype float32 or float64"),
    "complex_weight": ({"weight": np.zeros(W_SHAPE, dtype=np.complex128)}, TypeError,
                       "weight must have dtype float32 or float64"),
    "mismatched_dtypes": ({"weight": np.zeros(W_SHAPE, dtype=np.float32)}, TypeError,
                          "arrays must share one dtype"),
    "bias_wrong_shape": ({"bias": np.zeros(3)}, ValueError,
                         re.escape("bias must have shape (4,)")),
    "bias_2d": ({"bias": np.zeros((4, 1))}, ValueError, "bias must have 1 dimensions"),
    "empty_weight": ({"weight": np.zeros((0, 3, 3, 3))}, ValueError, "no empty dimension"),
    "groups_not_dividing_out_channels": ({"groups": 3, "weight": np.zeros((4, 1, 3, 3))},
                                         ValueError, re.escape("groups=3 must divide the first "
                                                               "dimension of weight (4, 1, 3, 3)")),
    "groups_channel_mismatch": ({"groups": 2}, ValueError,
                                re.escape("expected input with 6 channels (weight is (4, 3, 3, "
                                          "3) times groups=2)")),
    "groups_zero": ({"groups": 0}, ValueError, "groups must be >= 1"),
    "groups_float": ({"groups": 1.0}, TypeError, "groups must be an int"),
    "same_padding_with_stride": ({"padding": "same", "stride": 2}, ValueError,
                                 re.escape("padding='same' needs stride 1")),
    "unknown_padding_string": ({"padding": "full"}, ValueError,
                               re.escape("padding must be one of ('valid', 'same'), got 'full'")),
}


@pytest.mark.parametrize("case", sorted(BAD_FORWARD))
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv2d_rejects_bad_input_with_a_clear_error(strategy, case):
    changes, error, message = BAD_FORWARD[case]
    args = {**_good_args(), **changes}
    with pytest.raises(error, match=message):
        F.conv2d(args.pop("x"), args.pop("weight"), **args, strategy=strategy)


BAD_BACKWARD = {
    **{k: v for k, v in BAD_FORWARD.items() if not k.startswith("bias")},
    "grad_out_wrong_shape": ({"grad_out": np.zeros((2, 4, 4, 3))}, ValueError,
                             re.escape("grad_out must have shape (2, 4, 4, 4)")),
    "grad_out_3d": ({"grad_out": np.zeros((4, 4, 4))}, ValueError,
                    "grad_out must have 4 dimensions"),
    "grad_out_other_dtype": ({"grad_out": np.zeros((2, 4, 4, 4), dtype=np.float32)}, TypeError,
                             "arrays must share one dtype"),
    "grad_out_integer": ({"grad_out": np.zeros((2, 4, 4, 4), dtype=np.int32)}, TypeError,
                         "grad_out must have dtype float32 or float64"),
}


@pytest.mark.parametrize("function", [F.conv2d_backward, F.conv2d_backward_parameters])
@pytest.mark.parametrize("case", sorted(BAD_BACKWARD))
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv2d_backward_rejects_bad_input_with_a_clear_error(strategy, case, function):
    changes, error, message = BAD_BACKWARD[case]
    args = {**_good_args(), "grad_out": np.zeros((2, 4, 4, 4)), **changes}
    del args["bias"]
    with pytest.raises(error, match=message):
        function(args.pop("grad_out"), args.pop("x"), args.pop("weight"), **args,
                 strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv2d_backward_parameters_equals_the_parameter_part_of_conv2d_backward(strategy):
    rng = np.random.default_rng(11)
    x, weight = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    grad_out = rng.standard_normal((2, 4, 4, 6))
    params = {"stride": (2, 1), "padding": 1, "dilation": (1, 2)}
    _, *expected = F.conv2d_backward(grad_out, x, weight, **params, strategy=strategy)
    actual = F.conv2d_backward_parameters(grad_out, x, weight, **params, strategy=strategy)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("backward, arguments", [
    (F.conv2d_backward, {"stride": 2, "padding": 1}),
    (F.conv2d_backward_parameters, {"stride": 2, "padding": 1}),
    (F.conv_transpose2d_backward, {"stride": 2, "padding": 1, "output_padding": 1}),
    (F.conv_transpose2d_backward_parameters, {"stride": 2, "padding": 1, "output_padding": 1}),
])
def test_backward_without_bias_skips_its_gradient_and_keeps_the_others(strategy, backward,
                                                                     arguments, monkeypatch):
    """bias=False (a layer without bias): grad_bias is None and its sum is never computed; the
    other gradients are those of bias=True. A bias that is not a bool is refused."""
    rng = np.random.default_rng(5)
    x, weight = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 4, 3, 3))
    transposed = backward.__name__.startswith("conv_transpose2d")
    forward = F.conv_transpose2d if transposed else F.conv2d
    grad_out = rng.standard_normal(forward(x, weight, None, **arguments).shape)
    with_bias = backward(grad_out, x, weight, **arguments, strategy=strategy)
    kernels = STRATEGIES[strategy].conv2d
    monkeypatch.setattr(kernels, "conv2d_backward_bias", lambda grad: pytest.fail("bias sum"))
    without = backward(grad_out, x, weight, **arguments, strategy=strategy, bias=False)
    assert without[-1] is None
    for got, expected in zip(without[:-1], with_bias[:-1], strict=True):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(TypeError, match="bias must be a bool"):
        backward(grad_out, x, weight, **arguments, strategy=strategy, bias="no")


def _loop_conv2d_results(x, weight, grad_out, params):
    return (F.conv2d(x, weight, None, **params, strategy="loop"),
            *F.conv2d_backward(grad_out, x, weight, **params, strategy="loop"))


def test_conv2d_loop_results_do_not_depend_on_earlier_calls(monkeypatch):
    """The loop kernels copy their inputs into arrays kept from call to call: what an earlier
    call left there must never reach a later result."""
    from mint.kernels import layouts

    rng = np.random.default_rng(12)
    params = {"stride": 1, "padding": (1, 2), "dilation": 1}
    weight = rng.standard_normal((6, 5, 3, 3))
    first, second = (rng.standard_normal((3, 5, 9, 8)) for _ in range(2))
    grad_out = rng.standard_normal(F.conv2d_output_shape(first.shape, weight.shape, (1, 1),
                                                         (1, 2), (1, 1)))
    # Earlier calls: large values in the same shapes, and other paddings of the same input.
    _loop_conv2d_results(1e6 * first, weight, 1e6 * grad_out, params)
    F.conv2d(first, weight, None, padding=0, strategy="loop")
    F.conv2d(first, weight, None, padding=(2, 1), strategy="loop")
    after_other_calls = _loop_conv2d_results(second, weight, grad_out, params)
    monkeypatch.setattr(layouts, "_kept", threading.local())
    from_fresh_arrays = _loop_conv2d_results(second, weight, grad_out, params)
    for a, e in zip(after_other_calls, from_fresh_arrays, strict=True):
        np.testing.assert_array_equal(a, e)


def test_conv2d_loop_gives_each_python_thread_its_own_results():
    """Python threads running the loop kernels at once each get their own kept arrays."""
    import numba

    rng = np.random.default_rng(13)
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    params = {"stride": 1, "padding": 1, "dilation": 1}
    inputs = [rng.standard_normal((4, 3, 12, 12)).astype(np.float32) for _ in range(4)]
    grads = [rng.standard_normal((4, 4, 12, 12)).astype(np.float32) for _ in range(4)]
    expected = [_loop_conv2d_results(x, weight, g, params)
                for x, g in zip(inputs, grads, strict=True)]
    if numba.threading_layer() == "workqueue":
        pytest.skip("Numba's workqueue threading layer cannot run kernels from two threads")

    def run(i):
        return [_loop_conv2d_results(inputs[i], weight, grads[i], params) for _ in range(20)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    for i, repeats in enumerate(results):
        for result in repeats:
            for a, e in zip(result, expected[i], strict=True):
                np.testing.assert_array_equal(a, e)


def test_winograd_stays_finite_up_to_the_input_range_the_api_page_states():
    """F(4x4, 3x3)'s input transform B^T d B multiplies by up to 14 x 14 = 196 (its rows' sums of
    absolute values): in float32 the direct algorithm is finite further out (docs/api.md)."""
    api = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    bound = float(re.search(r"stays finite for inputs\s+up\s+to (1e\d+) in magnitude",
                            api).group(1))
    rng = np.random.default_rng(0)
    x = (bound * rng.choice([-1.0, 1.0], (2, 8, 12, 12))).astype(np.float32)
    weight = (1e-3 * rng.standard_normal((8, 8, 3, 3))).astype(np.float32)
    direct = F.conv2d(x, weight, padding=1, strategy="loop", algorithm="direct")
    winograd = F.conv2d(x, weight, padding=1, strategy="loop", algorithm="winograd")
    assert np.isfinite(winograd).all()
    np.testing.assert_allclose(winograd / bound, direct / bound, rtol=0, atol=1e-4)
    assert not np.isfinite(F.conv2d(100 * x, weight, padding=1, strategy="loop",
                                    algorithm="winograd")).all()  # and no further


@pytest.mark.parametrize("channels", [1, 3, 8, 17])  # both loop orders of copy_channels_last
def test_the_channels_last_copy_puts_each_value_at_its_place(channels):
    from mint.kernels.layouts import channels_last

    x = np.random.default_rng(channels).standard_normal((2, channels, 5, 6)).astype(np.float32)
    out = channels_last(x, (1, 2), (8, 9))
    expected = np.zeros((2, 8, 9, channels), np.float32)
    expected[:, 1:6, 2:8] = x.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(out, expected)


_GATHER_SIGNATURES = """
import numpy as np
from mint.kernels import conv2d, layouts
x = np.ones((2, 1, 3, 6, 6), dtype=np.float32)
conv2d._forward_band(x[0, 0], np.ones((4, 27), np.float32), np.zeros(4, np.float32), (3, 3),
                     (1, 1), (1, 1), 0, 4, np.empty((4, 4, 4), np.float32))
conv2d._accumulate_chunk(np.ones((2, 1, 4, 4, 4), np.float32), x, 0, 1, 0, 0, (3, 3), (1, 1),
                         (1, 1), 2, np.zeros((4, 27), np.float32))
print(len(layouts.gather_columns.signatures))
"""


def test_gather_columns_is_compiled_once_for_the_forward_and_the_weight_gradient(tmp_path):
    """Its two callers pass run-time ints where they mean 0: a literal 0 would be a second
    signature (Literal[int](0)), compiled again. A fresh disk cache, so that it is compiled."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _GATHER_SIGNATURES], env=env, capture_output=True,
                         text=True, check=True, timeout=300).stdout.strip()
    assert out == "1"
