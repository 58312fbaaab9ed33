"""Winograd F(4x4, 3x3) convolutions (section 3.9 of docs/backprop.md): forward, input and
weight gradients against torch, finite differences and the other strategy (op_check), the
float32 error against its first-order bound, the choice of algorithm, and its errors."""

import numpy as np
import pytest
import threadpoolctl
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from mint import nn
from mint.kernels import winograd as loop_winograd
from mint.strategy import STRATEGIES
from op_check import Op, check_op, zero_bias

WINOGRAD = Op(
    F.conv2d, F.conv2d_backward,
    lambda *args, algorithm, **kw: torch.nn.functional.conv2d(*args, **kw),
    backward_args=lambda inputs, outputs: inputs[:2], grads=(0, 1, 2), fill_absent=zero_bias,
)


@st.composite
def winograd_configs(draw):
    """3x3 convolutions of unit stride: any padding up to 2 (a number, a pair or "same"), sizes
    that are and are not multiples of the 4 x 4 tile, down to a single output pixel."""
    padding = draw(st.sampled_from([0, 1, 2, (0, 2), (2, 1), "same", "valid"]))
    pads = {"same": (1, 1), "valid": (0, 0)}.get(padding, padding)
    pads = pads if isinstance(pads, tuple) else (pads, pads)
    spatial = [draw(st.integers(max(1, 3 - 2 * p), 11)) for p in pads]
    c_in, c_out = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    return {
        "x_shape": (draw(st.integers(1, 3)), c_in, *spatial),
        "weight_shape": (c_out, c_in, 3, 3),
        "padding": padding,
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


def check_winograd(strategy, dtype, x_shape, weight_shape, padding, bias=True, seed=0,
                   finite_differences=True):
    rng = np.random.default_rng(seed)
    inputs = (random_array(rng, x_shape), random_array(rng, weight_shape),
              random_array(rng, (weight_shape[0],)) if bias else None)
    check_op(WINOGRAD, inputs, {"padding": padding, "algorithm": "winograd"},
             strategies=[strategy], dtypes=[dtype], seed=seed,
             finite_differences=finite_differences)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=winograd_configs())
def test_winograd_matches_references_on_random_configs(strategy, dtype, config):
    check_winograd(strategy, dtype, **config)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("case", [
    dict(x_shape=(2, 16, 14, 14), weight_shape=(24, 16, 3, 3), padding=1),  # several blocks
    dict(x_shape=(3, 5, 26, 9), weight_shape=(7, 5, 3, 3), padding=0),  # one tile wide
    dict(x_shape=(0, 3, 6, 5), weight_shape=(4, 3, 3, 3), padding=1),  # empty batch
    # Many channels on small maps: the kernel transformed a row of G at a time, in 1 and 2
    # parts. Their sums of 576-864 terms put the rounding of central differences (about 1e-16
    # times the summed output over a step of 1e-6) above their absolute tolerance of 1e-7:
    # PyTorch in float64 (1e-10) and the other strategy are the references.
    dict(x_shape=(1, 64, 4, 4), weight_shape=(64, 64, 3, 3), padding=1,
         finite_differences=False),
    dict(x_shape=(2, 96, 5, 6), weight_shape=(128, 96, 3, 3), padding=(1, 2),
         finite_differences=False),
], ids=["several_blocks", "tall_and_narrow", "empty_batch", "many_channels",
        "many_channels_two_parts"])
def test_winograd_matches_references_on_awkward_cases(strategy, case):
    check_winograd(strategy, np.float64, **case)


# ------------------------------------------------------------------------ float32 error bound


def _absolute_forward(x, weight, padding):
    """(W1) with |x|, |weight| and the absolute values of the transform matrices, in float64:
    the first-order error bound of section 3.9 is n u times this (each rounding error of the
    computation is amplified at most by these absolute values)."""
    absolute = STRATEGIES["vectorized"].winograd
    A_T, B_T, G = (np.abs(m) for m in (loop_winograd.A_T, loop_winograd.B_T, loop_winograd.G))
    N, C_in, H, W = x.shape
    PH, PW = padding
    H_out, W_out = H + 2 * PH - 2, W + 2 * PW - 2
    tiles_h, tiles_w = -(-H_out // 4), -(-W_out // 4)
    patches = absolute._patches(np.abs(x), padding, (tiles_h, tiles_w))
    V = B_T @ patches @ B_T.T  # (N, C_in, tiles_h, tiles_w, 6, 6)
    U = G @ np.abs(weight) @ G.T  # (C_out, C_in, 6, 6)
    Y = A_T @ np.einsum("oiab,nitsab->notsab", U, V) @ A_T.T
    out = Y.transpose(0, 1, 2, 4, 3, 5).reshape(N, -1, 4 * tiles_h, 4 * tiles_w)
    return out[:, :, :H_out, :W_out]


def _error_bound(channels):
    """n u / (1 - n u) for float32, n the longest chain of roundings of one output: two 1-D
    transforms of 6 terms on the input (each a sum of up to 6 products), two of 3 on the kernel
    plus its rounding to float32, the sum over ``channels``, two inverse transforms of 6 terms
    and the bias."""
    n = 2 * 6 + 2 * 3 + 1 + channels + 2 * 6 + 1
    u = np.finfo(np.float32).eps / 2
    return n * u / (1 - n * u)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(config=winograd_configs(), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_winograd_float32_error_is_within_its_first_order_bound(strategy, config, scale):
    """Forward and input gradient (W6) in float32 against the direct sum of the same float32
    inputs in float64: the error is below n u times the absolute-value computation. The weight
    gradient's bound follows the same pattern through (W7); it is checked against torch above."""
    rng = np.random.default_rng(config["seed"])
    x = (scale * random_array(rng, config["x_shape"])).astype(np.float32)
    weight = random_array(rng, config["weight_shape"]).astype(np.float32)
    padding = {"same": 1, "valid": 0}.get(config["padding"], config["padding"])
    padding = padding if isinstance(padding, tuple) else (padding, padding)
    out = F.conv2d(x, weight, padding=padding, strategy=strategy, algorithm="winograd")
    exact = F.conv2d(x.astype(np.float64), weight.astype(np.float64), padding=padding,
                     algorithm="direct")
    bound = _error_bound(x.shape[1]) * _absolute_forward(x, weight, padding)
    assert np.all(np.abs(out - exact) <= bound)

    grad_out = (scale * random_array(rng, out.shape)).astype(np.float32)
    grad_x, _, _ = F.conv2d_backward(grad_out, x, weight, padding=padding, strategy=strategy,
                                     algorithm="winograd")
    exact_x, _, _ = F.conv2d_backward(grad_out.astype(np.float64), x.astype(np.float64),
                                      weight.astype(np.float64), padding=padding,
                                      algorithm="direct")
    rotated = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    bound_x = _error_bound(weight.shape[0]) * _absolute_forward(
        grad_out, rotated, (2 - padding[0], 2 - padding[1]))[:, :, :x.shape[2], :x.shape[3]]
    assert np.all(np.abs(grad_x - exact_x) <= bound_x)


# ------------------------------------------------------------------------ choosing the algorithm


def _arrays(c_in, c_out, size=9, seed=0):
    rng = np.random.default_rng(seed)
    return (random_array(rng, (2, c_in, size, size), np.float32),
            random_array(rng, (c_out, c_in, 3, 3), np.float32),
            random_array(rng, (c_out,), np.float32))


def _results(x, weight, bias, algorithm, **kw):
    """(forward, grad_x, grad_weight, grad_weight of conv2d_backward_parameters) for one
    algorithm."""
    out = F.conv2d(x, weight, bias, algorithm=algorithm, **kw)
    grad_out = np.cos(F.conv2d(x, weight, bias, algorithm="direct", **kw))
    grad_x, grad_w, _ = F.conv2d_backward(grad_out, x, weight, algorithm=algorithm, **kw)
    grad_w_only, _ = F.conv2d_backward_parameters(grad_out, x, weight, algorithm=algorithm, **kw)
    return out, grad_x, grad_w, grad_w_only


@pytest.mark.parametrize("channels, winograd", [
    ((16, 16), (True, True, False, False)),  # the weight gradient stays direct
    ((8, 12), (True, True, False, False)),
    ((1, 16), (False, False, False, False)),  # a first layer
])
def test_auto_takes_winograd_only_for_eligible_convolutions_with_enough_channels(channels,
                                                                                   winograd):
    arrays = _arrays(*channels)
    auto, direct, fast = (_results(*arrays, algorithm, padding=1)
                          for algorithm in ("auto", "direct", "winograd"))
    for a, d, w, expected in zip(auto, direct, fast, winograd, strict=True):
        assert np.array_equal(a, w if expected else d)
        assert not np.array_equal(w, d)  # so the comparison above tells them apart
    wide = _arrays(16, 16)
    vectorized = F.conv2d(*wide, padding=1, algorithm="auto", strategy="vectorized")
    assert np.array_equal(vectorized, F.conv2d(*wide, padding=1, algorithm="direct",
                                               strategy="vectorized"))
    for kw in (dict(stride=2), dict(padding=3), dict(dilation=2)):
        for a, d in zip(_results(*wide, "auto", **kw), _results(*wide, "direct", **kw),
                        strict=True):
            assert np.array_equal(a, d)


@pytest.mark.parametrize("size, channels, images", [(4, (32, 64), 7), (14, (32, 64), 7),
                                                     (4, (64, 64), 40)])
def test_an_image_gets_the_same_result_in_any_batch(size, channels, images):
    """Forward and input gradient per image do not depend on the other images of the batch
    (data-parallel training relies on it): bit for bit, split at every place. 64 channels on
    4 x 4 maps take the kernel transformed a row of G at a time up to 32 images, and the whole
    transformed kernel from 33: both give the same results."""
    x, weight, bias = _arrays(*channels, size)
    x = np.concatenate([x] * -(-images // len(x)))[:images]
    out = F.conv2d(x, weight, bias, padding=1, algorithm="winograd")
    grad_out = np.cos(out)
    grad_x, _, _ = F.conv2d_backward(grad_out, x, weight, padding=1, algorithm="winograd")
    for k in range(1, len(x)):
        parts = [(x[:k], grad_out[:k]), (x[k:], grad_out[k:])]
        assert np.array_equal(out, np.concatenate(
            [F.conv2d(p, weight, bias, padding=1, algorithm="winograd") for p, _ in parts]))
        assert np.array_equal(grad_x, np.concatenate(
            [F.conv2d_backward(g, p, weight, padding=1, algorithm="winograd")[0]
             for p, g in parts]))


def test_blas_runs_on_one_thread_inside_the_parallel_loops(monkeypatch):
    """Each parallel iteration of the forward calls BLAS: with BLAS's default threads, every
    Numba thread started BLAS threads of its own (a 256-channel layer 4-26x slower, and
    OpenBLAS's "Detect OpenMP Loop" warnings). The kernels pin BLAS to one thread while they
    run and give the caller's settings back."""
    seen = []

    def recording(parallel_kernel):
        def kernel(*args):
            seen.append({lib["filepath"]: lib["num_threads"] for lib in
                         threadpoolctl.threadpool_info() if lib["user_api"] == "blas"})
            parallel_kernel(*args)
        return kernel

    for name in ("_forward_blocks", "_products_by_row"):  # few channels, many channels
        monkeypatch.setattr(loop_winograd, name, recording(getattr(loop_winograd, name)))
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        for x, weight, bias in (_arrays(16, 16, 8), _arrays(64, 64, 4)):
            out = F.conv2d(x, weight, bias, padding=1, strategy="loop", algorithm="winograd")
            F.conv2d_backward(np.ones_like(out), x, weight, padding=1, strategy="loop",
                              algorithm="winograd")
        after = {lib["filepath"]: lib["num_threads"]
                 for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"}
    assert len(seen) == 4  # the forward and the input gradient, each way
    assert all(threads == 1 for during in seen for threads in during.values()), seen
    assert set(after.values()) == {2}


@pytest.mark.parametrize("kwargs, reason", [
    (dict(stride=2), r"stride is \(2, 2\)"),
    (dict(dilation=(1, 2)), r"dilation is \(1, 2\)"),
    (dict(padding=3), r"padding is \(3, 3\)"),
    (dict(groups=2), "groups is 2"),
])
def test_winograd_on_an_ineligible_convolution_says_why(kwargs, reason):
    x, weight, _ = _arrays(4, 4)
    weight = weight[:, :4 // kwargs.get("groups", 1)]
    with pytest.raises(ValueError, match=f"conv2d: algorithm='winograd' .*{reason}"):
        F.conv2d(x, weight, algorithm="winograd", **kwargs)
    with pytest.raises(ValueError, match=f"Conv2d: algorithm='winograd' .*{reason}"):
        nn.Conv2d(4, 4, 3, algorithm="winograd", **kwargs)
    with pytest.raises(ValueError, match=r"kernel_size is \(2, 3\)"):
        F.conv2d(x, _arrays(4, 4)[1][:, :, :2], algorithm="winograd")


@pytest.mark.parametrize("algorithm", ["fast", None, "Winograd", 3])
def test_unknown_algorithms_are_refused(algorithm):
    x, weight, bias = _arrays(2, 3)
    grad_out = np.ones((2, 3, 7, 7), np.float32)
    message = "algorithm must be one of"
    with pytest.raises(ValueError, match=f"conv2d: {message}"):
        F.conv2d(x, weight, bias, algorithm=algorithm)
    with pytest.raises(ValueError, match=f"conv2d_backward: {message}"):
        F.conv2d_backward(grad_out, x, weight, algorithm=algorithm)
    with pytest.raises(ValueError, match=f"conv2d_backward_parameters: {message}"):
        F.conv2d_backward_parameters(grad_out, x, weight, algorithm=algorithm)
    with pytest.raises(ValueError, match=f"Conv2d: {message}"):
        nn.Conv2d(2, 3, 3, algorithm=algorithm)


def test_conv2d_layer_passes_its_algorithm_and_keeps_it_out_of_the_state_dict():
    direct = nn.Conv2d(16, 16, 3, padding="same", algorithm="direct")
    winograd = nn.Conv2d(16, 16, 3, padding="same", algorithm="winograd")
    winograd.load_state_dict(direct.state_dict())
    assert direct.state_dict().keys() == winograd.state_dict().keys()
    assert repr(winograd).endswith("padding=same, algorithm='winograd')")
    assert "algorithm" not in repr(nn.Conv2d(16, 16, 3))
    x, _, _ = _arrays(16, 16)
    out = winograd(x)
    np.testing.assert_allclose(out, direct(x), rtol=1e-4, atol=1e-5)
    grad_out = np.ones_like(out)
    winograd(x), direct(x)
    np.testing.assert_allclose(winograd.backward(grad_out), direct.backward(grad_out),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(winograd.weight.grad, direct.weight.grad, rtol=1e-4, atol=1e-3)
    expected = F.conv2d(x, winograd.weight.data, winograd.bias.data, padding=1,
                        algorithm="winograd")
    assert np.array_equal(out, expected)
