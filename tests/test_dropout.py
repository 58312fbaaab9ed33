"""dropout / dropout2d / dropout_backward and nn.Dropout, nn.Dropout2d.

PyTorch draws its masks from its own generator, so values cannot be compared draw for draw:
check_op compares Mint with ``x * mask / (1 - p)`` in PyTorch autograd for Mint's own (seeded)
mask, and the kernels with PyTorch's dropout for PyTorch's mask. The rest is statistics, exact
repetition under ``mint.manual_seed``, the layers' train/eval behaviour and bad input.
"""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mint
from helpers import (
    DTYPES,
    STRATEGY_NAMES,
    assert_close,
    random_array,
    requires_torch,
    to_torch,
    torch,
)
from mint import functional as F
from mint import nn
from mint.strategy import resolve
from op_check import Op, check_op

SEED = 1234


def _seeded(function):
    """``function`` (F.dropout or F.dropout2d) drawing the same mask on every call: check_op
    and its finite differences call the forward many times and need one fixed mask."""
    def forward(x, p, strategy):
        mint.manual_seed(SEED)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dropout2d's warning about 3-D input
            return function(x, p, strategy=strategy)
    return forward


def _dropout_op(function, p):
    """The Op of a seeded dropout with probability p: forward returns out, backward gets the
    seeded mask, and the reference applies that mask in PyTorch: ``x * mask / (1 - p)``."""
    seeded = _seeded(function)

    def reference(x, p):
        factor = 0.0 if p == 1 else 1 / (1 - p)
        return x * to_torch(seeded(x.detach().numpy(), p, "loop")[1]) * factor

    return Op(lambda x, p, strategy: seeded(x, p, strategy)[0], F.dropout_backward, reference,
              backward_args=lambda inputs, outputs: (seeded(inputs[0], p, "loop")[1],))


probabilities = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("function, ranks", [(F.dropout, (1, 4)), (F.dropout2d, (3, 4))])
@given(data=st.data(), p=probabilities, seed=st.integers(0, 2**32 - 1))
def test_dropout_matches_references_for_its_mask(strategy, dtype, function, ranks, data, p,
                                                 seed):
    shape = data.draw(st.lists(st.integers(1, 6), min_size=ranks[0], max_size=ranks[1]))
    x = random_array(np.random.default_rng(seed), tuple(shape))
    check_op(_dropout_op(function, p), (x,), {"p": p}, strategies=[strategy], dtypes=[dtype],
             seed=seed)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("channels", [False, True])
def test_kernels_give_pytorchs_dropout_for_pytorchs_mask(strategy, dtype, channels):
    # Inputs without zeros, so PyTorch's mask is where its output is not 0.
    x = (np.random.default_rng(5).random((4, 6, 3, 5)) + 0.5).astype(dtype)
    p = 0.3
    torch.manual_seed(5)
    tx = to_torch(x, requires_grad=True)
    out = (torch.nn.functional.dropout2d if channels else torch.nn.functional.dropout)(tx, p)
    grad_out = random_array(np.random.default_rng(6), x.shape, dtype)
    out.backward(to_torch(grad_out))
    kept = out.detach().numpy() != 0
    keep = kept[:, :, 0, 0] if channels else kept
    assert 0 < keep.mean() < 1
    rows = (keep.size, -1)
    kernels = resolve(strategy).dropout
    ours = kernels.dropout_forward(x.reshape(rows), keep.reshape(-1), 1 / (1 - p))
    assert_close(ours.reshape(x.shape), out.detach().numpy())
    grad = kernels.dropout_backward(grad_out.reshape(rows), keep.reshape(-1), 1 / (1 - p))
    assert_close(grad.reshape(x.shape), tx.grad.numpy())


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_drops_a_fraction_p_and_preserves_the_mean(strategy, p):
    mint.manual_seed(0)
    count = 200_000
    x = np.full(count, 3.0, dtype=np.float32)
    out, mask = F.dropout(x, p, strategy=strategy)
    # 5 standard deviations of a binomial proportion, and of the mean of out.
    assert abs((out == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / count)
    assert abs(out.mean() - 3.0) < 5 * 3.0 * np.sqrt(p / (1 - p) / count)
    np.testing.assert_array_equal(mask, out != 0)
    np.testing.assert_allclose(out[mask], 3.0 / (1 - p), rtol=1e-6)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("shape", [(400, 50, 3, 4), (400, 50, 6)])
def test_dropout2d_drops_whole_channels_a_fraction_p_of_them(strategy, shape):
    mint.manual_seed(1)
    p = 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, mask = F.dropout2d(np.ones(shape), p, strategy=strategy)
    assert mask.shape == (*shape[:2], *(1,) * (len(shape) - 2))
    planes = out.reshape(*shape[:2], -1)
    assert ((planes == 0).all(axis=2) | (planes == 1 / (1 - p)).all(axis=2)).all()
    np.testing.assert_array_equal(mask.reshape(shape[:2]), planes[:, :, 0] != 0)
    channels = shape[0] * shape[1]
    assert abs((~mask).mean() - p) < 5 * np.sqrt(p * (1 - p) / channels)


@pytest.mark.parametrize("function", [F.dropout, F.dropout2d])
def test_a_seeded_dropout_repeats_exactly_in_both_strategies(function):
    x = random_array(np.random.default_rng(2), (8, 6, 5, 5)).astype(np.float32)
    runs = []
    for strategy in (*STRATEGY_NAMES, *STRATEGY_NAMES):
        mint.manual_seed(42)
        runs.append(function(x, 0.4, strategy=strategy))
    for out, mask in runs[1:]:
        np.testing.assert_array_equal(out, runs[0][0])
        np.testing.assert_array_equal(mask, runs[0][1])
    mint.manual_seed(43)
    assert not np.array_equal(function(x, 0.4)[1], runs[0][1])
    # Consecutive calls draw new masks.
    mint.manual_seed(42)
    function(x, 0.4)
    assert not np.array_equal(function(x, 0.4)[1], runs[0][1])


@pytest.mark.parametrize("layer_class", [nn.Dropout, nn.Dropout2d])
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_dropout_layers_backward_uses_the_forwards_mask_and_eval_is_the_identity(layer_class,
                                                                                 strategy):
    x = random_array(np.random.default_rng(3), (4, 5, 3, 3))
    layer = layer_class(0.5, strategy=strategy)
    mint.manual_seed(7)
    out = layer(x)
    nn.Dropout(0.5)(x)  # another draw between forward and backward
    grad_out = random_array(np.random.default_rng(4), x.shape)
    grad = layer.backward(grad_out)
    kept = out != 0
    np.testing.assert_allclose(grad[kept], 2 * grad_out[kept], rtol=1e-15)
    np.testing.assert_array_equal(grad[~kept], 0)
    mint.manual_seed(7)
    np.testing.assert_array_equal(layer_class(0.5, strategy=strategy)(x), out)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(RuntimeError, match="eval mode"):
        layer.backward(grad_out)
    assert repr(layer) == f"{layer_class.__name__}(p=0.5, inplace=False" + (
        f", strategy={strategy!r})")


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_dropout_without_training_is_the_identity_and_so_is_its_gradient(strategy):
    x = np.arange(12.0).reshape(2, 3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for function in (F.dropout, F.dropout2d):
            out, mask = function(x, 0.9, training=False, strategy=strategy)
            assert out is x and mask is None
            grad = F.dropout_backward(x, mask, 0.9, strategy=strategy)
            assert grad is not x
            np.testing.assert_array_equal(grad, x)


def test_dropout2d_warns_that_a_3d_input_is_read_as_n_c_l_like_pytorch():
    with pytest.warns(UserWarning, match=r"read as \(N, C, L\).*x\[None\]"):
        F.dropout2d(np.ones((2, 3, 4)), 0.5)


IN_RANGE = "p (the probability of dropping) must be in [0, 1]"


@pytest.mark.parametrize("p, error, match", [
    (-0.1, ValueError, IN_RANGE), (1.01, ValueError, IN_RANGE),
    (float("nan"), ValueError, "p must be a finite number"),
    ("0.5", TypeError, "p must be a real number"), (None, TypeError, "p must be a real number"),
])
def test_dropout_rejects_a_bad_p_in_functional_and_layers(p, error, match):
    x = np.ones((2, 3, 4, 4))
    for call, name in ((lambda: F.dropout(x, p), "dropout"), (lambda: F.dropout2d(x, p),
                                                               "dropout2d"),
                       (lambda: F.dropout_backward(x, x > 0, p), "dropout_backward"),
                       (lambda: nn.Dropout(p), "Dropout"), (lambda: nn.Dropout2d(p),
                                                            "Dropout2d")):
        with pytest.raises(error, match=rf"^{name}: " + re.escape(match)):
            call()


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (1, 2, 3, 4, 5)])
def test_dropout2d_refuses_inputs_that_are_not_n_c_h_w_or_n_c_l(shape):
    with pytest.raises(ValueError, match=r"dropout2d: input must be \(N, C, H, W\) or \(N, C, L\)"):
        F.dropout2d(np.ones(shape))


def test_dropout_rejects_bad_arguments_naming_them():
    x = np.ones((2, 3, 4, 4))
    with pytest.raises(TypeError, match="dropout: training must be a bool"):
        F.dropout(x, 0.5, training=1)
    with pytest.raises(TypeError, match="dropout: input must have dtype float32 or float64"):
        F.dropout(x.astype(int))
    with pytest.raises(ValueError, match="Dropout: inplace=True is not supported"):
        nn.Dropout(0.5, inplace=True)
    with pytest.raises(TypeError, match="dropout_backward: mask must be None or the bool"):
        F.dropout_backward(x, np.ones(x.shape), 0.5)
    with pytest.raises(ValueError, match=r"dropout_backward: mask shape \(2, 3\)"):
        F.dropout_backward(x, np.ones((2, 3), bool), 0.5)
    with pytest.raises(ValueError, match=r"dropout_backward: mask shape \(2, 4, 1, 1\)"):
        F.dropout_backward(x, np.ones((2, 4, 1, 1), bool), 0.5)
