"""exp_nonpositive, the exp that vectorises, against NumPy's exp: within 1 ulp on [-708.39, 0],
0 below, NaN kept."""

import numpy as np
from numba import njit

from mint.kernels.vector_math import exp_nonpositive


@njit(cache=True)
def _exp_all(x):
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = exp_nonpositive(x[i])
    return out


def test_exp_nonpositive_is_within_one_ulp_of_numpy_on_normal_results():
    rng = np.random.default_rng(0)
    x = np.concatenate([-np.linspace(0, 708.39, 200_001), -rng.exponential(5.0, 100_000),
                        [0.0, -0.0, -1e-300, -5e-324, -np.log(2), -708.39]])
    expected = np.exp(x)
    ulps = np.abs(_exp_all(x) - expected) / np.spacing(expected)
    assert ulps.max() <= 1.0, x[np.argmax(ulps)]


def test_exp_nonpositive_flushes_subnormal_results_to_zero_and_keeps_nan():
    out = _exp_all(np.array([-708.4, -745.0, -1e300, -np.inf, np.nan]))
    np.testing.assert_array_equal(out[:4], 0.0)
    assert np.isnan(out[4])


def test_exp_nonpositive_takes_float32_and_returns_float64():
    x = np.array([-1.5, -20.0], dtype=np.float32)
    np.testing.assert_allclose(_exp_all(x), np.exp(x.astype(np.float64)), rtol=2.3e-16)
