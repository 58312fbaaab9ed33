"""Shared test helpers: strategies, tolerances, random inputs, finite differences, the
optional torch, a full disk, and child processes a test can interrupt."""

import signal
import subprocess

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
    finite = np.abs(expected[np.isfinite(expected)])  # inf and NaN must match exactly
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
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


def central_difference(f, x, direction, grad_out):
    """d/dt sum(f(x + t * direction) * grad_out) at t = 0, by central differences in float64.

    The two outputs are subtracted before the sum, so outputs that ``x`` does not reach cancel
    exactly instead of adding rounding noise."""
    eps = FINITE_DIFFERENCES["eps"]
    plus, minus = (np.asarray(f(x + t * direction), dtype=np.float64) for t in (eps, -eps))
    return np.sum((plus - minus) * grad_out) / (2 * eps)


def assert_gradient_matches_finite_differences(f, x, analytic, grad_out, elements=None,
                                               err_msg=""):
    """Check the analytic gradient of ``sum(f(x) * grad_out)`` with respect to float64 ``x`` by
    central differences, element by element (the flat indices ``elements``, default all)."""
    x = np.asarray(x, dtype=np.float64)
    elements = np.arange(x.size) if elements is None else elements
    numeric = [central_difference(f, x, np.eye(1, x.size, i).reshape(x.shape), grad_out)
               for i in elements]
    np.testing.assert_allclose(np.asarray(analytic).reshape(-1)[elements], numeric,
                               rtol=FINITE_DIFFERENCES["rtol"], atol=FINITE_DIFFERENCES["atol"],
                               err_msg=err_msg)


def to_torch(array, requires_grad=False):
    return torch.tensor(np.asarray(array), requires_grad=requires_grad)


def no_space(*_):
    """In place of ``os.fsync``: fail as a full disk fails a write (naming no file)."""
    raise OSError(28, "No space left on device")


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_interruptible(command, **kwargs):
    """``subprocess.Popen(command, **kwargs)`` whose process handles SIGINT by default (Python
    raises KeyboardInterrupt) even when this one ignores it, as pytest run as a background job
    (``pytest &``) does: a child inherits an ignored SIGINT, and a test's interrupt would not
    reach it."""
    return subprocess.Popen(command, preexec_fn=_default_sigint, **kwargs)
