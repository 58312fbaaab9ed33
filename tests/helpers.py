"""Shared test helpers: strategies, tolerances, random inputs and the optional torch."""

import numpy as np
import pytest

from mint import STRATEGIES

try:
    import torch
except ImportError:  # torch is an optional reference, never a dependency
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed (pip install torch==2.13.0)"
)

STRATEGY_NAMES = sorted(STRATEGIES)
DTYPES = (np.float32, np.float64)

# Tolerances against an independent reference (torch, finite differences), per dtype. The atol
# is relative to the largest magnitude of the expected array, as sums grow with their length.
TOLERANCES = {
    np.dtype(np.float32): {"rtol": 1e-4, "atol": 1e-5},
    np.dtype(np.float64): {"rtol": 1e-10, "atol": 1e-12},
}
# Tolerances between the two strategies (issue 3): same math, different summation order.
STRATEGY_TOLERANCES = {
    np.dtype(np.float32): {"rtol": 1e-5, "atol": 1e-5},
    np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-12},
}
# Central differences in float64 (op_check): step, and tolerances of analytic vs numeric.
FINITE_DIFFERENCES = {"eps": 1e-6, "rtol": 1e-6, "atol": 1e-7}


def assert_close(actual, expected, tolerances=None, err_msg=""):
    """Compare arrays with the dtype's tolerance; shapes and dtypes must match too."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape, err_msg)
    tol = (tolerances or TOLERANCES)[actual.dtype]
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(
        actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=err_msg
    )


def random_array(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def shuffled_linspace(shape, dtype, seed):
    """Distinct values in random order (chainer's), so that every max-pooling window has a
    single maximum, spaced by far more than a finite-difference step."""
    values = np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float64)
    return np.random.default_rng(seed).permutation(values).reshape(shape).astype(dtype)


def numerical_gradient(f, x, grad_out, eps=1e-6):
    """Central differences of ``sum(f(x) * grad_out)`` with respect to float64 ``x``."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        saved = flat_x[i]
        flat_x[i] = saved + eps
        plus = np.sum(f(x) * grad_out)
        flat_x[i] = saved - eps
        minus = np.sum(f(x) * grad_out)
        flat_x[i] = saved
        flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def assert_gradient_matches_finite_differences(f, x, analytic, grad_out, rtol=1e-6, atol=1e-7):
    """Check an analytic gradient of ``sum(f(x) * grad_out)`` (float64) by central differences."""
    numeric = numerical_gradient(f, x, grad_out)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


def to_torch(array, requires_grad=False):
    return torch.tensor(np.asarray(array), requires_grad=requires_grad)
