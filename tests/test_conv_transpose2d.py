"""conv_transpose2d: forward and gradients against torch and finite differences, both
strategies, memory layouts and dtypes (op_check), and errors before any kernel runs."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from op_check import Op, check_op

CONV_TRANSPOSE2D = Op(
    F.conv_transpose2d, F.conv_transpose2d_backward,
    lambda *args, **kw: torch.nn.functional.conv_transpose2d(*args, **kw),
    backward_args=lambda inputs, outputs: inputs[:2], grads=(0, 1, 2),
)


def check_conv_transpose2d(strategy, dtype, x_shape, weight_shape, stride=1, padding=0,
                           output_padding=0, groups=1, dilation=1, seed=0, fd_elements=128):
    """check_op on seeded x, weight and bias for one strategy and dtype."""
    rng = np.random.default_rng(seed)
    inputs = (random_array(rng, x_shape), random_array(rng, weight_shape),
              random_array(rng, (weight_shape[1] * groups,)))
    params = {"stride": stride, "padding": padding, "output_padding": output_padding,
              "groups": groups, "dilation": dilation}
    check_op(CONV_TRANSPOSE2D, inputs, params, strategies=[strategy], dtypes=[dtype], seed=seed,
             fd_elements=fd_elements)


@st.composite
def conv_transpose_configs(draw):
    """Random shapes and hyper-parameters, output_padding below stride or dilation."""
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 4)), groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation, strict=True))
    spatial, padding = [], []
    for k, s, d, o in zip(kernel, stride, dilation, output_padding, strict=True):
        size = draw(st.integers(1, 6))
        # the output (T2) must keep at least one row: 2 * P <= (size - 1) * S + D * (K - 1) + O
        padding.append(draw(st.integers(0, min(2, ((size - 1) * s + d * (k - 1) + o) // 2))))
        spatial.append(size)
    return {
        "x_shape": (draw(st.integers(1, 3)), c_in, *spatial),
        "weight_shape": (c_in, c_out // groups, *kernel),
        "stride": stride, "padding": tuple(padding), "output_padding": output_padding,
        "groups": groups, "dilation": dilation, "seed": draw(st.integers(0, 2**16)),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=conv_transpose_configs())
def test_conv_transpose2d_matches_references_on_random_configs(strategy, dtype, config):
    check_conv_transpose2d(strategy, dtype, **config)


# The shared kernels' paths (few or many channels per group: scatter or gather, short or long
# receptive field in the backward's forward) and the sizes that are easy to get wrong.
AWKWARD_CASES = {
    "upsample_by_two": dict(x_shape=(2, 3, 4, 5), weight_shape=(3, 2, 4, 4), stride=2,
                            padding=1),
    "output_padding": dict(x_shape=(2, 4, 3, 4), weight_shape=(4, 3, 3, 3), stride=(2, 3),
                           padding=1, output_padding=(1, 2)),
    "output_padding_at_least_the_stride": dict(x_shape=(2, 2, 4, 3), weight_shape=(2, 3, 3, 2),
                                               stride=1, dilation=(3, 2), output_padding=(2, 1)),
    "many_channels_strided": dict(x_shape=(2, 12, 5, 4), weight_shape=(12, 7, 3, 3), stride=2,
                                  padding=(1, 2)),
    "grouped_many_channels": dict(x_shape=(2, 16, 4, 5), weight_shape=(16, 3, 3, 2),
                                  stride=(1, 2), groups=2),
    "depthwise": dict(x_shape=(2, 6, 5, 4), weight_shape=(6, 1, 3, 3), stride=2, padding=1,
                      output_padding=1, groups=6),
    "padding_beyond_the_kernel": dict(x_shape=(1, 2, 6, 7), weight_shape=(2, 2, 2, 2), stride=2,
                                      padding=2),
    "kernel_one_by_one_strided": dict(x_shape=(2, 3, 3, 3), weight_shape=(3, 2, 1, 1), stride=3,
                                      output_padding=2),
    "empty_batch": dict(x_shape=(0, 3, 4, 4), weight_shape=(3, 2, 3, 3), stride=2),
}


@pytest.mark.parametrize("case", sorted(AWKWARD_CASES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv_transpose2d_matches_references_on_awkward_cases(strategy, dtype, case):
    check_conv_transpose2d(strategy, dtype, **AWKWARD_CASES[case])


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(strategy):
    """<conv2d(y), x> = <y, conv_transpose2d(x)> for the same weight and hyper-parameters, with
    the output size of (T2) as y's size (T1)."""
    rng = np.random.default_rng(3)
    params = {"stride": (2, 3), "padding": (1, 2), "dilation": (2, 1)}
    x, weight = rng.standard_normal((2, 6, 4, 5)), rng.standard_normal((6, 2, 3, 3))
    out = F.conv_transpose2d(x, weight, None, **params, groups=3, output_padding=1,
                             strategy=strategy)
    y = rng.standard_normal(out.shape)
    conv = F.conv2d(y, weight, None, **params, groups=3, strategy=strategy)
    assert conv.shape == x.shape
    np.testing.assert_allclose(np.sum(conv * x), np.sum(y * out), rtol=1e-12)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv_transpose2d_backward_parameters_equals_the_parameter_part_of_backward(strategy):
    rng = np.random.default_rng(11)
    x, weight = rng.standard_normal((2, 4, 5, 4)), rng.standard_normal((4, 3, 3, 2))
    params = {"stride": 2, "padding": 1, "output_padding": (1, 0), "groups": 2}
    grad_out = rng.standard_normal(F.conv_transpose2d(x, weight, **params).shape)
    _, *expected = F.conv_transpose2d_backward(grad_out, x, weight, **params, strategy=strategy)
    actual = F.conv_transpose2d_backward_parameters(grad_out, x, weight, **params,
                                                    strategy=strategy)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(a, e)


def test_conv_transpose2d_output_shape_is_the_forward_shape():
    rng = np.random.default_rng(5)
    x, weight = rng.standard_normal((3, 4, 5, 6)), rng.standard_normal((4, 3, 3, 2))
    out = F.conv_transpose2d(x, weight, stride=(2, 3), padding=1, output_padding=(1, 0),
                             groups=2, dilation=(1, 2))
    assert out.shape == F.conv_transpose2d_output_shape(x.shape, weight.shape, (2, 3), (1, 1),
                                                        (1, 0), 2, (1, 2)) == (3, 6, 10, 16)


# ---------------------------------------------------------------------------------- bad inputs

X_SHAPE, W_SHAPE = (2, 4, 5, 5), (4, 3, 3, 3)


def _good_args():
    rng = np.random.default_rng(4)
    return {"x": random_array(rng, X_SHAPE), "weight": random_array(rng, W_SHAPE),
            "bias": random_array(rng, (3,)), "stride": 2, "padding": 1, "output_padding": 1,
            "groups": 1, "dilation": 1}


BAD_FORWARD = {
    "input_3d": ({"x": np.zeros((4, 5, 5))}, ValueError, "input must have 4 dimensions"),
    "channel_mismatch": ({"x": np.zeros((2, 3, 5, 5))}, ValueError,
                         re.escape("expected input with 4 channels (weight is (4, 3, 3, 3)), "
                                   "got shape (2, 3, 5, 5)")),
    "groups_not_dividing": ({"groups": 3}, ValueError,
                            re.escape("groups=3 must divide the first dimension of weight")),
    "bias_wrong_shape_for_groups": ({"groups": 2}, ValueError,
                                    re.escape("bias must have shape (6,)")),
    "output_padding_too_large": ({"output_padding": 2}, ValueError,
                                 "output_padding must be smaller than stride or dilation"),
    "output_padding_negative": ({"output_padding": -1}, ValueError,
                                "output_padding must be >= 0"),
    "padding_leaves_nothing": ({"x": np.zeros((2, 4, 1, 1)), "stride": 1, "padding": 2,
                                "output_padding": 0}, ValueError, "leaves an empty output"),
    "padding_string": ({"padding": "same"}, TypeError, "padding must be an int"),
    "empty_height": ({"x": np.zeros((2, 4, 0, 5))}, ValueError, "height and width >= 1"),
    "stride_zero": ({"stride": 0}, ValueError, "stride must be >= 1"),
    "mismatched_dtypes": ({"weight": np.zeros(W_SHAPE, dtype=np.float32)}, TypeError,
                          "arrays must share one dtype"),
}


@pytest.mark.parametrize("case", sorted(BAD_FORWARD))
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_conv_transpose2d_rejects_bad_input_with_a_clear_error(strategy, case):
    changes, error, message = BAD_FORWARD[case]
    args = {**_good_args(), **changes}
    with pytest.raises(error, match=message):
        F.conv_transpose2d(args.pop("x"), args.pop("weight"), **args, strategy=strategy)


BAD_BACKWARD = {
    **{k: v for k, v in BAD_FORWARD.items() if not k.startswith("bias")},
    "grad_out_wrong_shape": ({"grad_out": np.zeros((2, 3, 9, 9))}, ValueError,
                             re.escape("grad_out must have shape (2, 3, 10, 10)")),
}


@pytest.mark.parametrize("function", [F.conv_transpose2d_backward,
                                      F.conv_transpose2d_backward_parameters])
@pytest.mark.parametrize("case", sorted(BAD_BACKWARD))
def test_conv_transpose2d_backward_rejects_bad_input_with_a_clear_error(case, function):
    changes, error, message = BAD_BACKWARD[case]
    args = {**_good_args(), "grad_out": np.zeros((2, 3, 10, 10)), **changes}
    del args["bias"]
    with pytest.raises(error, match=message):
        function(args.pop("grad_out"), args.pop("x"), args.pop("weight"), **args)
