"""cross_entropy (label smoothing, reduction 'none'), nll_loss, mse_loss and
binary_cross_entropy_with_logits through check_op: loss and gradient against
torch.nn.functional, finite differences, the other strategy, layouts and dtypes, for every
reduction; their layers; stability and validation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, random_array, requires_torch, to_torch, torch
from mint import functional as F
from mint import nn
from op_check import Op, check_op

REDUCTIONS = ("mean", "sum", "none")
seeds = st.integers(0, 2**32 - 1)
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


def loss_op(forward, backward, reference, reduction, backward_args=None):
    """An Op of a loss: a scalar loss for mean and sum (backward takes no grad_out), an array
    of losses for 'none' (backward takes grad_out as its keyword argument)."""
    extra = {} if backward_args is None else {"backward_args": backward_args}
    if reduction == "none":
        return Op(forward, lambda grad_out, *args, **params: backward(*args, grad_out=grad_out,
                                                                     **params),
                  reference, **extra)
    return Op(forward, backward, reference, loss=True, **extra)


def _probs_and_target(inputs, outputs):
    return outputs[1], inputs[1]


def _class_problem(seed, N, C):
    rng = np.random.default_rng(seed)
    return 3 * random_array(rng, (N, C)), rng.integers(0, C, N), rng


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=seeds, N=st.integers(1, 8), C=st.integers(1, 7),
       label_smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_cross_entropy_with_label_smoothing_matches_references(reduction, strategy, dtype, seed,
                                                               N, C, label_smoothing):
    logits, target, _ = _class_problem(seed, N, C)
    op = loss_op(F.cross_entropy, F.cross_entropy_backward,
                 lambda x, t, **p: (torch.nn.functional.cross_entropy(x, t, **p),
                                    torch.softmax(x, 1)),
                 reduction, backward_args=_probs_and_target)
    check_op(op, (logits, target), {"reduction": reduction, "label_smoothing": label_smoothing},
             strategies=[strategy], dtypes=[dtype], seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=seeds, N=st.integers(1, 8), C=st.integers(1, 7), weighted=st.booleans(),
       ignore_index=st.sampled_from([-100, 0, 2]))
def test_nll_loss_matches_references(reduction, strategy, dtype, seed, N, C, weighted,
                                     ignore_index):
    x, target, rng = _class_problem(seed, N, C)
    log_probs = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    target[rng.random(N) < 0.3] = ignore_index  # some samples ignored, perhaps all
    target[target >= C] = C - 1
    weight = rng.random(C) + 0.1 if weighted else None
    op = loss_op(F.nll_loss, F.nll_loss_backward,
                 lambda x, t, w, **p: torch.nn.functional.nll_loss(x, t, w, **p), reduction)
    # A mean over ignored samples only is NaN (as in PyTorch): no finite differences of it.
    nan_loss = reduction == "mean" and np.all(target == ignore_index)
    check_op(op, (log_probs, target, weight), {"ignore_index": ignore_index,
                                               "reduction": reduction},
             strategies=[strategy], dtypes=[dtype], seed=seed, finite_differences=not nan_loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=seeds, shape=shapes)
def test_mse_loss_matches_references(reduction, strategy, dtype, seed, shape):
    rng = np.random.default_rng(seed)
    x, target = random_array(rng, shape), random_array(rng, shape)
    op = loss_op(F.mse_loss, F.mse_loss_backward,
                 lambda x, t, **p: torch.nn.functional.mse_loss(x, t, **p), reduction)
    check_op(op, (x, target), {"reduction": reduction}, strategies=[strategy], dtypes=[dtype],
             seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=seeds, shape=shapes, weighted=st.booleans(), pos_weighted=st.booleans())
def test_bce_with_logits_matches_references(reduction, strategy, dtype, seed, shape, weighted,
                                            pos_weighted):
    rng = np.random.default_rng(seed)
    x, target = 4 * random_array(rng, shape), rng.random(shape)
    weight = rng.random(shape[-1:]) if weighted else None
    pos_weight = 3 * rng.random(shape[-1:]) if pos_weighted else None
    op = loss_op(F.binary_cross_entropy_with_logits,
                 F.binary_cross_entropy_with_logits_backward,
                 lambda x, t, w, pw, **p: torch.nn.functional.binary_cross_entropy_with_logits(
                     x, t, w, pos_weight=pw, **p), reduction)
    check_op(op, (x, target, weight, pos_weight), {"reduction": reduction},
             strategies=[strategy], dtypes=[dtype], seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_bce_with_logits_stays_finite_for_logits_of_1e4(strategy, dtype):
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    target = np.array([1.0, 1.0, 0.5, 0.0, 0.0], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        losses = F.binary_cross_entropy_with_logits(x, target, reduction="none",
                                                    strategy=strategy)
        grad = F.binary_cross_entropy_with_logits_backward(x, target, reduction="sum",
                                                           strategy=strategy)
    np.testing.assert_allclose(losses, [1e4, 50, np.log(2), 50, 1e4], rtol=1e-6)
    np.testing.assert_allclose(grad, [-1, -1, 0, 1, 1], rtol=1e-6, atol=1e-20)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_nll_loss_mean_over_only_ignored_samples_is_nan_with_zero_gradient_as_pytorch(strategy):
    log_probs, target = np.zeros((3, 4)), np.full(3, -100)
    assert np.isnan(F.nll_loss(log_probs, target, strategy=strategy))
    np.testing.assert_array_equal(F.nll_loss_backward(log_probs, target, strategy=strategy), 0)
    assert F.nll_loss(log_probs, target, reduction="sum", strategy=strategy) == 0.0


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_log_softmax_then_nll_loss_layers_give_cross_entropy_and_its_gradient(strategy):
    logits, target, _ = _class_problem(5, 6, 4)
    log_softmax, nll = nn.LogSoftmax(dim=1, strategy=strategy), nn.NLLLoss(strategy=strategy)
    loss = nll(log_softmax(logits), target)
    grad = log_softmax.backward(nll.backward())
    cross_entropy = nn.CrossEntropyLoss(strategy=strategy)
    assert loss == pytest.approx(cross_entropy(logits, target), rel=1e-12)
    np.testing.assert_allclose(grad, cross_entropy.backward(), rtol=1e-10, atol=1e-15)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("make_mint, make_torch, kind", [
    (lambda r: nn.CrossEntropyLoss(r, label_smoothing=0.2),
     lambda r: torch.nn.CrossEntropyLoss(reduction=r, label_smoothing=0.2), "classes"),
    (lambda r: nn.NLLLoss(np.array([1.0, 2.0, 0.5]), ignore_index=1, reduction=r),
     lambda r: torch.nn.NLLLoss(torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64),
                                ignore_index=1, reduction=r), "classes"),
    (lambda r: nn.MSELoss(reduction=r), lambda r: torch.nn.MSELoss(reduction=r), "values"),
    (lambda r: nn.BCEWithLogitsLoss(np.array([0.5, 1.0, 2.0]), reduction=r,
                                    pos_weight=np.array([3.0, 1.0, 0.2])),
     lambda r: torch.nn.BCEWithLogitsLoss(torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64),
                                          reduction=r,
                                          pos_weight=torch.tensor([3.0, 1.0, 0.2],
                                                                  dtype=torch.float64)),
     "values"),
], ids=["cross-entropy", "nll", "mse", "bce-with-logits"])
def test_loss_layers_match_torch_modules_and_backward_takes_grad_out(make_mint, make_torch, kind,
                                                                     reduction):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 3))
    target = rng.integers(0, 3, 5) if kind == "classes" else rng.random((5, 3))
    fn, reference = make_mint(reduction), make_torch(reduction)
    tx = to_torch(x, requires_grad=True)
    expected = reference(tx, to_torch(target))
    loss = fn(x, target)
    grad_out = rng.standard_normal(expected.shape) if reduction == "none" else 2.5
    expected.backward(to_torch(grad_out) if reduction == "none" else torch.tensor(2.5,
                                                                               dtype=tx.dtype))
    np.testing.assert_allclose(loss, expected.detach().numpy(), rtol=1e-12)
    assert (type(loss) is float) == (reduction != "none")
    np.testing.assert_allclose(fn.backward(grad_out), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert fn.state_dict().keys() == reference.state_dict().keys()


def test_loss_reprs_follow_pytorch():
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss(label_smoothing=0.1)"
    assert repr(nn.NLLLoss(ignore_index=3, reduction="sum")) == (
        "NLLLoss(ignore_index=3, reduction='sum')")
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.BCEWithLogitsLoss(reduction="none")) == "BCEWithLogitsLoss(reduction='none')"


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.zeros(2, int), label_smoothing=1.5),
     ValueError, r"label_smoothing must be in \[0, 1\]"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=-0.1), ValueError, "label_smoothing must be"),
    (lambda: F.cross_entropy_backward(np.zeros((2, 3)), np.zeros(2, int), "none"), ValueError,
     r"reduction='none' returns one loss per sample: pass grad_out of shape \(2,\)"),
    (lambda: F.cross_entropy_backward(np.zeros((2, 3)), np.zeros(2, int), "none",
                                      grad_out=np.ones(3)), ValueError, "grad_out must have shape"),
    (lambda: F.mse_loss_backward(np.zeros(2), np.zeros(2), "none",
                                 grad_out=np.ones(2, np.float32)), TypeError, "grad_out must have"),
    (lambda: F.mse_loss_backward(np.zeros(2), np.zeros(2), grad_out="1"), TypeError,
     "grad_out must be a real number"),
    (lambda: F.nll_loss(np.zeros((2, 3)), np.array([0, 3])), ValueError,
     r"outside \[0, 3\) \(or ignore_index -100\)"),
    (lambda: F.nll_loss(np.zeros((2, 3)), np.array([0, 1]), np.ones(2)), ValueError,
     r"weight must have one value per class, shape \(3,\)"),
    (lambda: F.nll_loss(np.zeros((2, 3)), np.array([0, 1]), np.ones(3, np.float32)), TypeError,
     "share one dtype"),
    (lambda: F.nll_loss(np.zeros((2, 3, 4)), np.array([0, 1])), ValueError,
     "input must have 2 dimensions"),
    (lambda: F.nll_loss(np.zeros((2, 3)), np.array([0.0, 1.0])), TypeError, "integer"),
    (lambda: nn.NLLLoss(ignore_index=1.5), TypeError, "NLLLoss: ignore_index must be an int"),
    (lambda: F.mse_loss(np.zeros((2, 3)), np.zeros((3, 2))), ValueError,
     r"target must have the input's shape \(2, 3\)"),
    (lambda: F.mse_loss(np.zeros(0), np.zeros(0)), ValueError, "mean over an empty batch"),
    (lambda: nn.MSELoss(reduction="avg"), ValueError, "MSELoss: reduction must be one of"),
    (lambda: F.binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 3)),
                                                pos_weight=np.ones(2)), ValueError,
     r"pos_weight of shape \(2,\) does not broadcast to the input shape \(2, 3\)"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=[1.0]), TypeError,
     "BCEWithLogitsLoss: pos_weight must be a numpy.ndarray"),
])
def test_losses_reject_bad_arguments_before_any_kernel(call, error, match):
    with pytest.raises(error, match=match):
        call()
