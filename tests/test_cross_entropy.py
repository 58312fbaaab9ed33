"""cross_entropy / cross_entropy_backward against torch, finite differences, the other
strategy, memory layouts and dtypes (op_check); stability for huge logits, int32 targets,
rejection of bad targets."""

import numba
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import mint
from helpers import DTYPES, STRATEGY_NAMES, random_array, torch
from mint import functional as F
from op_check import Op, check_op

CROSS_ENTROPY = Op(
    F.cross_entropy, F.cross_entropy_backward,
    lambda logits, target, **kw: (torch.nn.functional.cross_entropy(logits, target, **kw),
                                  torch.softmax(logits, 1)),
    backward_args=lambda inputs, outputs: (outputs[1], inputs[1]), loss=True,
)
REDUCTIONS = ("mean", "sum")
seeds = st.integers(0, 2**32 - 1)


def _problem(seed, N, C, scale=3.0):
    """Seeded float64 logits (N, C) and int64 target (N,)."""
    rng = np.random.default_rng(seed)
    return random_array(rng, (N, C)) * scale, rng.integers(0, C, N)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=seeds, N=st.integers(1, 64), C=st.integers(1, 30),
       scale=st.sampled_from([1.0, 3.0, 30.0, 1e4]))
@example(seed=0, N=1, C=1, scale=3.0)
@example(seed=1, N=1, C=10, scale=3.0)
def test_cross_entropy_matches_references(strategy, dtype, reduction, seed, N, C, scale):
    # Losses of logits beyond 3 (up to 1e4) leave float64 too few digits for central differences.
    check_op(CROSS_ENTROPY, _problem(seed, N, C, scale), {"reduction": reduction},
             strategies=[strategy], dtypes=[dtype], seed=seed, finite_differences=scale <= 3)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_cross_entropy_stays_finite_and_matches_torch_for_logits_of_1e4(strategy, dtype,
                                                                        reduction):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4],
                       [-1e4, 1e4, 0.0]], dtype=dtype)
    target = np.array([0, 1, 2, 0])
    loss, probs = F.cross_entropy(logits, target, reduction, strategy=strategy)
    grad = F.cross_entropy_backward(probs, target, reduction, strategy=strategy)
    assert np.isfinite(loss) and np.all(np.isfinite(probs)) and np.all(np.isfinite(grad))
    # Row by row: 0 (right and sure), log 3 (uniform), 2e4 + log 2, 2e4 (wrong and sure).
    expected = 0 + np.log(3) + 2e4 + np.log(2) + 2e4
    assert loss == pytest.approx(expected / 4 if reduction == "mean" else expected, rel=1e-6)
    check_op(CROSS_ENTROPY, (logits, target), {"reduction": reduction}, strategies=[strategy],
             dtypes=[dtype], finite_differences=False)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_cross_entropy_gives_the_same_results_for_int32_targets(strategy):
    logits, target = _problem(2, 6, 5)
    expected = F.cross_entropy(logits, target, strategy=strategy)
    actual = F.cross_entropy(logits, target.astype(np.int32), strategy=strategy)
    assert actual[0] == expected[0]
    np.testing.assert_array_equal(actual[1], expected[1])
    np.testing.assert_array_equal(
        F.cross_entropy_backward(expected[1], target.astype(np.int32), strategy=strategy),
        F.cross_entropy_backward(expected[1], target, strategy=strategy))


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


# 300 x 200 logits: above mint.kernels.cross_entropy._PARALLEL_SIZE, so the loop kernels run
# their rows in parallel (MNIST's 64 x 10 runs them serially).
LARGE = (300, 200)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_of_a_large_batch_matches_references(dtype, label_smoothing):
    check_op(CROSS_ENTROPY, _problem(3, *LARGE), {"label_smoothing": label_smoothing},
             strategies=["loop"], dtypes=[dtype], finite_differences=False)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_rows_do_not_depend_on_the_batch_or_the_thread_count(label_smoothing):
    # The same rows, in one large batch (parallel rows) on 1 and on 2 threads and in batches of
    # 10 (serial): bit-identical losses, probabilities and gradients.
    logits, target = _problem(4, *LARGE)
    logits = logits.astype(np.float32)
    grad_out = np.random.default_rng(5).random(len(target)).astype(np.float32)

    def run(rows):
        losses, probs = F.cross_entropy(logits[rows], target[rows], "none", label_smoothing)
        return losses, probs, F.cross_entropy_backward(probs, target[rows], "none",
                                                       label_smoothing, grad_out[rows])

    previous = mint.get_num_threads()
    try:
        results = []
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            mint.set_num_threads(threads)
            results.append(run(slice(None)))
    finally:
        mint.set_num_threads(previous)
    chunks = [run(slice(start, start + 10)) for start in range(0, len(target), 10)]
    results.append(tuple(np.concatenate(parts) for parts in zip(*chunks, strict=True)))
    for other in results[1:]:
        for expected, actual in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(actual, expected)
    mean = F.cross_entropy(logits, target, label_smoothing=label_smoothing)[0]
    assert mean == pytest.approx(float(results[0][0].sum()) / len(target), rel=1e-6)
