"""The elementwise functions that vectorise (mint.kernels.vector_math) against NumPy's and the
C library's: exp and expm1 within 1 ulp, log1p within 2, tanh within 3, erf within 2.3e-16
absolute; the edges (0, -0, infinities, NaN, the underflow of exp) as documented."""

import math

import numpy as np
import pytest
from numba import njit

from mint.kernels import vector_math


def _elementwise(function):
    @njit
    def apply(x):
        out = np.empty(x.size)
        for i in range(x.size):
            out[i] = function(x[i])
        return out

    return apply


_exp_all = _elementwise(vector_math.exp_nonpositive)
_rng = np.random.default_rng(0)
_NONPOSITIVE = np.concatenate([-np.linspace(0, 708.39, 200_001), -_rng.exponential(5.0, 100_000),
                               -_rng.exponential(1e-6, 10_000),
                               [0.0, -1e-300, -5e-324, -np.log(2), -708.39]])
_REAL = np.concatenate([_rng.standard_normal(200_000) * 4, _rng.standard_normal(10_000) * 1e-9,
                        np.linspace(-7, 7, 100_001), [0.0, 1.0, -1.0, 6.0, 1e-300]])
_UNIT = np.concatenate([_rng.uniform(0, 1, 200_000), _rng.uniform(0, 1e-9, 10_000),
                        np.linspace(0, 1, 100_001), [np.sqrt(2) - 1, 5e-324]])
CASES = {  # name: (function, arguments, reference, largest error in ulp of the reference)
    "exp_nonpositive": (vector_math.exp_nonpositive, _NONPOSITIVE, np.exp, 1),
    "expm1_nonpositive": (vector_math.expm1_nonpositive, _NONPOSITIVE, np.expm1, 1),
    "log1p_unit": (vector_math.log1p_unit, _UNIT, np.log1p, 2),
    "tanh": (vector_math.tanh, _REAL, np.tanh, 3),
}


@pytest.mark.parametrize("name", CASES)
def test_within_a_few_ulp_of_the_c_library(name):
    function, x, reference, largest = CASES[name]
    expected = reference(x)
    ulps = np.abs(_elementwise(function)(x) - expected) / np.spacing(np.abs(expected))
    assert ulps.max() <= largest, (x[np.argmax(ulps)], ulps.max())


def test_erf_is_within_two_ulp_of_math_erf():
    expected = np.array([math.erf(v) for v in _REAL])
    got = _elementwise(vector_math.erf)(_REAL)
    assert np.abs(got - expected).max() <= 2.3e-16
    ulps = np.abs(got - expected) / np.spacing(np.abs(expected))
    assert ulps.max() <= 2, _REAL[np.argmax(ulps)]


def test_edges_are_as_documented():
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    for function, expected in [(vector_math.tanh, [0.0, -0.0, 1.0, -1.0, np.nan]),
                               (vector_math.erf, [0.0, -0.0, 1.0, -1.0, np.nan])]:
        got = _elementwise(function)(special)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.signbit(got[:2]), [False, True])
    np.testing.assert_array_equal(_elementwise(vector_math.expm1_nonpositive)(
        np.array([-708.4, -1e300, -np.inf, np.nan])), [-1.0, -1.0, -1.0, np.nan])
    np.testing.assert_array_equal(_elementwise(vector_math.log1p_unit)(np.array([0.0, np.nan])),
                                  [0.0, np.nan])
    np.testing.assert_array_equal(_elementwise(vector_math.erf)(np.array([6.0, 30.0, -1e300])),
                                  [1.0, 1.0, -1.0])


def test_exp_nonpositive_flushes_subnormal_results_to_zero_and_keeps_nan():
    out = _exp_all(np.array([-708.4, -745.0, -1e300, -np.inf, np.nan]))
    np.testing.assert_array_equal(out[:4], 0.0)
    assert np.isnan(out[4])


def test_float32_arguments_give_float64_results():
    x = np.array([-1.5, -20.0], dtype=np.float32)
    np.testing.assert_allclose(_exp_all(x), np.exp(x.astype(np.float64)), rtol=2.3e-16)
    np.testing.assert_allclose(_elementwise(vector_math.tanh)(x), np.tanh(x.astype(np.float64)),
                               rtol=7e-16)
