"""mint.nn.utils.clip_grad_norm_ against torch.nn.utils.clip_grad_norm_: returned total norm and
clipped gradients for several norm orders, and its validation."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import requires_torch, torch
from mint import Parameter, nn

shapes = st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), min_size=1,
                  max_size=4)


def _parameters(grads):
    parameters = [Parameter(np.zeros_like(grad)) for grad in grads]
    for parameter, grad in zip(parameters, grads, strict=True):
        parameter.grad[...] = grad
    return parameters


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(seed=st.integers(0, 2**32 - 1), shapes=shapes,
       max_norm=st.sampled_from([0.0, 0.1, 1.0, 1e3]))
def test_clip_grad_norm_matches_torch(dtype, norm_type, seed, shapes, max_norm):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    parameters = _parameters(grads)
    total = nn.utils.clip_grad_norm_(parameters, max_norm, norm_type)

    tensors = [torch.nn.Parameter(torch.zeros(shape, dtype=torch.from_numpy(g).dtype))
               for shape, g in zip(shapes, grads, strict=True)]
    for tensor, grad in zip(tensors, grads, strict=True):
        tensor.grad = torch.tensor(grad)
    expected = torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type).item()

    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert type(total) is float
    assert total == pytest.approx(expected, rel=rtol, abs=1e-30)
    for parameter, tensor in zip(parameters, tensors, strict=True):
        assert parameter.grad.dtype == dtype
        np.testing.assert_allclose(parameter.grad, tensor.grad.numpy(), rtol=rtol, atol=1e-30)


def test_clip_grad_norm_scales_to_max_norm_and_leaves_small_gradients_alone():
    (parameter,) = parameters = _parameters([np.array([3.0, 4.0])])
    assert nn.utils.clip_grad_norm_(parameters, 1.0) == 5.0
    np.testing.assert_allclose(parameter.grad, [0.6, 0.8], rtol=1e-6)
    assert nn.utils.clip_grad_norm_(parameter, 10.0) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(parameter.grad, [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_takes_a_models_parameters_generator():
    model = nn.Linear(3, 2, dtype=np.float64)
    model.weight.grad[...] = 1.0
    model.bias.grad[...] = 1.0
    assert nn.utils.clip_grad_norm_(model.parameters(), 0.5) == pytest.approx(math.sqrt(8))
    total = math.sqrt(np.sum(model.weight.grad ** 2) + np.sum(model.bias.grad ** 2))
    assert total == pytest.approx(0.5, rel=1e-5)


def test_clip_grad_norm_raises_on_a_nonfinite_norm_only_when_asked_and_changes_nothing():
    (parameter,) = parameters = _parameters([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        nn.utils.clip_grad_norm_(parameters, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(parameter.grad, [np.inf, 1.0])
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, in PyTorch too
        assert nn.utils.clip_grad_norm_(parameters, 1.0) == math.inf


@pytest.mark.parametrize("arguments, error, match", [
    (([np.zeros(2)], 1.0), TypeError, r"parameters\[0\] must be a mint.Parameter"),
    (("params", 1.0), TypeError, "must be a mint.Parameter"),
    ((None, 1.0), TypeError, "not iterable"),
    ((_parameters([np.ones(2)]), -1.0), ValueError, "max_norm must be a finite number >= 0"),
    ((_parameters([np.ones(2)]), "1"), TypeError, "max_norm must be a real number"),
    ((_parameters([np.ones(2)]), 1.0, 0), ValueError, r"norm_type must be > 0 \(or inf\)"),
    ((_parameters([np.ones(2)]), 1.0, "fro"), TypeError, "norm_type must be a real number"),
])
def test_clip_grad_norm_rejects_bad_arguments(arguments, error, match):
    with pytest.raises(error, match=match):
        nn.utils.clip_grad_norm_(*arguments)


def test_clip_grad_norm_of_no_parameters_is_zero():
    assert nn.utils.clip_grad_norm_([], 1.0) == 0.0
