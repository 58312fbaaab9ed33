"""op_check.check_op can fail: each of its checks catches a fault planted in a small NumPy op."""

import numpy as np
import pytest

import op_check
from helpers import requires_torch
from op_check import Op, check_op

X = np.linspace(-1.0, 1.0, 12).reshape(3, 4)


def doubling(forward_scale=2.0, backward_scale=2.0, vectorized_backward_scale=2.0,
             strided_shift=0.0, output_dtype=None):
    """y = 2 x, with one fault when an argument is changed."""
    def forward(x, *, strategy):
        y = forward_scale * x + (0.0 if x.flags.c_contiguous else strided_shift)
        return y if output_dtype is None else y.astype(output_dtype)

    def backward(grad_out, x, *, strategy):
        return (vectorized_backward_scale if strategy == "vectorized" else backward_scale) * \
            grad_out

    return Op(forward, backward, lambda x: 2 * x)


def test_a_correct_op_passes():
    check_op(doubling(), (X,))


@requires_torch
def test_a_wrong_forward_fails_against_torch():
    with pytest.raises(AssertionError, match="vs torch: output 0"):
        check_op(doubling(forward_scale=2.001), (X,))


@pytest.mark.filterwarnings("ignore:PyTorch is not installed")
def test_a_wrong_gradient_fails_against_finite_differences_without_torch(monkeypatch):
    monkeypatch.setattr(op_check, "torch", None)
    with pytest.warns(UserWarning, match="PyTorch is not installed"):
        check_op(doubling(), (X,))
    with pytest.raises(AssertionError, match="gradient of input 0 vs finite differences"):
        check_op(doubling(backward_scale=2.001, vectorized_backward_scale=2.001), (X,))


@pytest.mark.filterwarnings("ignore:PyTorch is not installed")
def test_a_wrong_gradient_in_one_element_fails_along_a_random_direction(monkeypatch):
    # 8 of the 200 elements are checked one by one, none of them the wrong one; the random
    # direction through all of them finds it.
    monkeypatch.setattr(op_check, "torch", None)
    op = doubling()

    def backward(grad_out, x, *, strategy):
        grad = op.backward(grad_out, x, strategy=strategy)
        grad[-1, -1] *= 1.001
        return grad

    fault = Op(op.forward, backward, op.reference)
    with pytest.raises(AssertionError, match="vs finite differences, along a random direction"):
        check_op(fault, (np.linspace(-1.0, 1.0, 200).reshape(10, 20),), fd_elements=8,
                 seed=1)


def test_strategies_that_disagree_fail():
    with pytest.raises(AssertionError, match="loop float32 vs vectorized: gradient of input 0"):
        check_op(doubling(vectorized_backward_scale=2.001), (X,), strategies=["loop"])


def test_a_result_that_depends_on_the_memory_layout_fails():
    with pytest.raises(AssertionError, match="strided inputs: output 0"):
        check_op(doubling(strided_shift=1e-12), (X,))


def test_an_output_in_another_dtype_fails():
    with pytest.raises(AssertionError, match="output 0"):
        check_op(doubling(output_dtype=np.float64), (X,), dtypes=[np.float32])
