"""cross_entropy / cross_entropy_backward against torch, finite differences, and the other
strategy; stability for huge logits and rejection of bad targets."""

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

REDUCTIONS = ("mean", "sum")
seeds = st.integers(0, 2**32 - 1)


def _problem(seed, N, C, dtype, scale=3.0):
    """Seeded logits (N, C) and int64 target (N,)."""
    rng = np.random.default_rng(seed)
    return random_array(rng, (N, C), dtype) * scale, rng.integers(0, C, N)


def _mint(logits, target, reduction, strategy):
    loss, probs = F.cross_entropy(logits, target, reduction, strategy=strategy)
    return loss, probs, F.cross_entropy_backward(probs, target, reduction, strategy=strategy)


def _torch(logits, target, reduction):
    """PyTorch's loss, softmax and gradient of the loss with respect to the logits."""
    tlogits = to_torch(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tlogits, to_torch(target), reduction=reduction)
    loss.backward()
    return loss.item(), torch.softmax(tlogits, 1).detach().numpy(), tlogits.grad.numpy()


def _check_against_torch(logits, target, reduction, strategy):
    loss, probs, grad = _mint(logits, target, reduction, strategy)
    expected_loss, expected_probs, expected_grad = _torch(logits, target, reduction)
    assert isinstance(loss, float)
    assert probs.dtype == grad.dtype == logits.dtype
    assert_close(np.asarray(loss, logits.dtype), np.asarray(expected_loss, logits.dtype),
                 err_msg="loss")
    assert_close(probs, expected_probs, err_msg="probs")
    assert_close(grad, expected_grad, err_msg="grad_logits")


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, N=st.integers(1, 8), C=st.integers(1, 12))
@example(seed=0, N=1, C=1)
@example(seed=1, N=1, C=10)
def test_cross_entropy_loss_and_gradient_match_torch_for_mean_and_sum(strategy, dtype,
                                                                      reduction, seed, N, C):
    _check_against_torch(*_problem(seed, N, C, dtype), reduction, strategy)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_cross_entropy_stays_finite_and_matches_torch_for_logits_of_1e4(strategy, dtype,
                                                                        reduction):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4],
                       [-1e4, 1e4, 0.0]], dtype=dtype)
    target = np.array([0, 1, 2, 0])
    loss, probs, grad = _mint(logits, target, reduction, strategy)
    assert np.isfinite(loss) and np.all(np.isfinite(probs)) and np.all(np.isfinite(grad))
    # Row by row: 0 (right and sure), log 3 (uniform), 2e4 + log 2, 2e4 (wrong and sure).
    expected = 0 + np.log(3) + 2e4 + np.log(2) + 2e4
    assert loss == pytest.approx(expected / 4 if reduction == "mean" else expected, rel=1e-6)
    _check_against_torch(logits, target, reduction, strategy)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, N=st.integers(1, 4), C=st.integers(1, 5))
def test_cross_entropy_gradient_matches_finite_differences(strategy, reduction, seed, N, C):
    logits, target = _problem(seed, N, C, np.float64)
    _, _, grad = _mint(logits, target, reduction, strategy)
    assert_gradient_matches_finite_differences(
        lambda v: F.cross_entropy(v, target, reduction, strategy=strategy)[0],
        logits, grad, np.float64(1.0),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(seed=seeds, N=st.integers(1, 64), C=st.integers(1, 30),
       scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_cross_entropy_loop_and_vectorized_strategies_agree(dtype, reduction, seed, N, C,
                                                            scale):
    logits, target = _problem(seed, N, C, dtype, scale)
    loop = _mint(logits, target, reduction, "loop")
    vectorized = _mint(logits, target, reduction, "vectorized")
    assert_close(np.asarray(loop[0], dtype), np.asarray(vectorized[0], dtype),
                 STRATEGY_TOLERANCES, err_msg="loss")
    for name, a, b in zip(("probs", "grad_logits"), loop[1:], vectorized[1:], strict=True):
        assert_close(a, b, STRATEGY_TOLERANCES, err_msg=name)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_cross_entropy_gives_the_same_results_for_non_contiguous_inputs_and_int32_targets(
        strategy):
    logits, target = _problem(2, 6, 5, np.float64)
    expected = _mint(logits, target, "mean", strategy)
    strided_target = np.repeat(target, 2)[::2].astype(np.int32)
    actual = _mint(np.asfortranarray(logits), strided_target, "mean", strategy)
    assert actual[0] == expected[0]
    np.testing.assert_array_equal(actual[1], expected[1])
    np.testing.assert_array_equal(actual[2], expected[2])


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize(
    "target, error, match",
    [
        (np.array([0, 1, 3]), ValueError, r"outside \[0, 3\)"),
        (np.array([0, -1, 2]), ValueError, r"outside \[0, 3\)"),
        (np.array([0, 1]), ValueError, r"target must have shape \(3,\)"),
        (np.array([[0], [1], [2]]), ValueError, r"target must have shape \(3,\)"),
        (np.array([0.0, 1.0, 2.0]), TypeError, "integer numpy.ndarray"),
        ([0, 1, 2], TypeError, "integer numpy.ndarray"),
    ],
)
def test_cross_entropy_and_backward_reject_bad_targets(strategy, target, error, match):
    logits = np.zeros((3, 3))
    with pytest.raises(error, match=match):
        F.cross_entropy(logits, target, strategy=strategy)
    with pytest.raises(error, match=match):
        F.cross_entropy_backward(logits, target, strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize(
    "logits, reduction, error, match",
    [
        (np.zeros(3), "mean", ValueError, "logits must have 2 dimensions"),
        (np.zeros((3, 3, 1)), "mean", ValueError, "logits must have 2 dimensions"),
        (np.zeros((3, 3), np.int64), "mean", TypeError, "logits must have dtype"),
        (np.zeros((3, 3), np.complex64), "mean", TypeError, "logits must have dtype"),
        (np.zeros((3, 3)), "max", ValueError, "reduction must be one of"),
    ],
)
def test_cross_entropy_rejects_bad_logits_and_reductions(strategy, logits, reduction, error,
                                                         match):
    target = np.zeros(3, dtype=np.int64)
    with pytest.raises(error, match=match):
        F.cross_entropy(logits, target, reduction, strategy=strategy)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_cross_entropy_mean_of_an_empty_batch_is_rejected_but_its_sum_is_zero(strategy):
    logits, target = np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match="empty batch"):
        F.cross_entropy(logits, target, strategy=strategy)
    loss, probs = F.cross_entropy(logits, target, "sum", strategy=strategy)
    assert loss == 0.0 and probs.shape == (0, 4)
