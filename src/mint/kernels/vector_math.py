"""exp, expm1, tanh, log1p and erf written so that LLVM vectorises the loops that call them.

Without Intel's SVML, ``np.exp``, ``np.tanh``, ``np.log1p`` and ``math.erf`` in a Numba loop are
calls to the C library's scalar functions, and a loop holding a call is not vectorised. (Numba
uses SVML only when llvmlite was built with Intel's patch: ``llvmlite.binding.targets.has_svml()``
is False for the PyPI wheels, so installing ``intel-cmplr-lib-rt`` changes nothing there.) These
are arithmetic, floors, selects and integer shifts, all of which LLVM turns into SIMD
instructions. Each computes in float64 (a float32 caller rounds the result once more) and
propagates NaN. Errors measured in ``tests/test_vector_math.py`` against the C library (and
``math.erf``) on 10^6 arguments each: within 1 ulp for exp and expm1, 2 for log1p, 3 for tanh,
and 2.3e-16 absolute (2 ulp) for erf.

exp and expm1 of x <= 0, the arguments the stable forms need (``exp(-|z|)``, ``exp(x - max)``,
``exp(log p)``, ``exp(-z^2 / 2)``), where nothing overflows::

    exp(x) = 2^k exp(r),  k = round(x / ln 2),  r = x - k ln 2 in [-ln 2 / 2, ln 2 / 2]
    expm1(x) = 2^k (exp(r) - 1) + (2^k - 1)

with ``k ln 2`` subtracted in two parts (Cody and Waite: ``LN2_HI`` has trailing zero bits, so
``k * LN2_HI`` is exact), ``exp(r) - 1 = r + r^2 p(r)`` its Taylor polynomial of degree 13
(truncation error below (ln 2 / 2)^14 / 14! < 1e-17), and ``2^k`` built from its IEEE bits.
Below -708.39, where exp would be subnormal, exp returns 0 (an error below 2.3e-308) and expm1
-1. For k = 0 expm1 is ``r + r^2 p(r)`` itself, so it keeps its relative accuracy near 0, where
``exp(x) - 1`` would cancel.

    tanh(x) = sign(x) t / (2 - t),  t = -expm1(-2 |x|) in [0, 1)

    log1p(e) = 2 atanh(s) = 2 (s + s^3 / 3 + ... + s^23 / 23)  for 0 <= e <= 1,
    s = e / (2 + e), or, past e = sqrt(2) - 1, log1p(e) = ln 2 + 2 atanh((e - 1) / (e + 3))

so that |s| <= 3 - 2 sqrt(2) = 0.17 and the series' next term is below 1e-18.

    erf(x) = x P(x^2)                               for |x| < 1, P erf's Taylor series to x^37
    erf(x) = sign(x) (1 - exp(-x^2) Q(|x|))         for |x| >= 1 (1 past |x| = 6)

with Q a polynomial of degree 28 in u = (2 |x| - 7) / 5 that fits the smooth ``erfc(x) exp(x^2)``
on [1, 6] to a relative 3e-15: a least-squares Chebyshev fit at 6,000 Chebyshev points against
50-digit mpmath values, converted to powers of u. Its coefficients add up to 0.43 in absolute
value, less than the 0.09 to 0.43 it takes, so Horner's rule in powers of u loses nothing.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_LN2_HI = 6.93147180369123816490e-01  # ln 2 rounded to 32 significant bits
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_LOG2_E = 1.4426950408889634
_SMALLEST = -708.39  # exp of anything smaller is not a normal float64
# LLVM unrolls a loop over a tuple of constants, and so vectorises the loop that calls it, up to
# 16 elements (measured: a Horner loop over 19 ran one element at a time, 20x slower). The
# longer polynomials are two such loops (_horner).
# 1 / n! for n = 13 down to 2, the Horner coefficients of exp(r) - 1 - r.
_INVERSE_FACTORIALS = tuple(1 / math.factorial(n) for n in range(13, 1, -1))
_SQRT2_MINUS_1 = math.sqrt(2) - 1
_LN2 = math.log(2)
# 1 / (2n + 1) for n = 11 down to 1: the Horner coefficients of atanh(s) / s - 1 in s^2.
_ATANH_SERIES = tuple(1 / (2 * n + 1) for n in range(11, 0, -1))
# erf's Taylor series x P(x^2): the coefficients 2 / sqrt(pi) (-1)^n / (n! (2n + 1)) of P,
# n = 18 down to 0 (the next term is below 4e-18 for |x| < 1).
_ERF_TAYLOR = tuple(2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
                    for n in range(18, -1, -1))
# erfc(x) exp(x^2) on [1, 6] as a polynomial in u = (2x - 7) / 5, its coefficients from degree 28
# down to 0 (the module docstring).
_ERFCX_POLYNOMIAL = (
    6.545413695993405e-09,
    -8.260699303423021e-09,
    -2.661065973796935e-08,
    1.2052647162083499e-08,
    1.1621860190984543e-07,
    -1.1205584511171152e-07,
    -1.264500027725826e-08,
    -2.4463429598505e-07,
    8.52386010218923e-07,
    -1.5266447717536086e-06,
    3.0073132934017365e-06,
    -6.604787113180326e-06,
    1.3898819833778423e-05,
    -2.83910141060087e-05,
    5.738969668795234e-05,
    -0.00011443862918931826,
    0.00022453869571816096,
    -0.00043336232875809547,
    0.0008222535438091019,
    -0.0015325156570795066,
    0.0028033264093303466,
    -0.005028067970198383,
    0.00883342389864232,
    -0.01518251154566257,
    0.025495559644412965,
    -0.04176678811943056,
    0.0666320824531847,
    -0.10330894458313158,
    0.1552936556088942,
)


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE 754 bits are the int64 ``bits`` (a bit cast, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(cache=True, inline="always")
def _horner(value, x, coefficients):
    """``value x^n + c_1 x^(n-1) + ... + c_n`` for the n <= 16 ``coefficients`` c_1 ... c_n: the
    Horner steps of a polynomial whose leading part is ``value``."""
    for coefficient in coefficients:
        value = value * x + coefficient
    return value


@njit(cache=True, inline="always")
def _reduced(x):
    """(r, p, 2^k) for x <= 0 (float64): x = k ln 2 + r, |r| <= ln 2 / 2, exp(r) - 1 = r + r^2 p.
    2^k is clamped to 2^-1022 below (the callers select their own results there)."""
    k = np.floor(x * _LOG2_E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    poly = _INVERSE_FACTORIALS[0]
    for coefficient in _INVERSE_FACTORIALS[1:]:
        poly = poly * r + coefficient
    return r, poly, _float64_from_bits((np.int64(max(k, -1022.0)) + 1023) << 52)


@njit(cache=True, inline="always")
def exp_nonpositive(x):
    """exp(x) for x <= 0 (any float), as float64; 0 below -708.39 and for x = -inf; NaN for
    NaN."""
    x = np.float64(x)
    r, poly, power = _reduced(x)
    return 0.0 if x < _SMALLEST else (1.0 + r + r * r * poly) * power


@njit(cache=True, inline="always")
def expm1_nonpositive(x):
    """exp(x) - 1 for x <= 0 (any float), as float64, accurate near 0; -1 below -708.39 and for
    x = -inf; NaN for NaN."""
    x = np.float64(x)
    r, poly, power = _reduced(x)
    return -1.0 if x < _SMALLEST else power * (r + r * r * poly) + (power - 1.0)


@njit(cache=True, inline="always")
def tanh(x):
    """tanh(x) (any float), as float64, with tanh(-0) = -0 and tanh(+-inf) = +-1."""
    t = -expm1_nonpositive(-2.0 * np.abs(np.float64(x)))
    return np.copysign(t / (2.0 - t), np.float64(x))


@njit(cache=True, inline="always")
def log1p_unit(e):
    """log(1 + e) for 0 <= e <= 1 (any float), as float64."""
    e = np.float64(e)
    far = e > _SQRT2_MINUS_1
    s = (e - 1.0) / (e + 3.0) if far else e / (2.0 + e)
    square = s * s
    series = _ATANH_SERIES[0]
    for coefficient in _ATANH_SERIES[1:]:
        series = series * square + coefficient
    return (_LN2 if far else 0.0) + 2.0 * (s + s * square * series)


@njit(cache=True, inline="always")
def erf(x):
    """erf(x) (any float), as float64; +-1 for +-inf, NaN for NaN."""
    x = np.float64(x)
    a = np.abs(x)
    square = x * x
    taylor = _horner(_horner(0.0, square, _ERF_TAYLOR[:10]), square, _ERF_TAYLOR[10:])
    u = (2.0 * min(max(a, 1.0), 6.0) - 7.0) / 5.0  # a clamped to [1, 6]
    erfcx = _horner(_horner(0.0, u, _ERFCX_POLYNOMIAL[:15]), u, _ERFCX_POLYNOMIAL[15:])
    tail = np.copysign(1.0 - exp_nonpositive(-square) * erfcx, x)
    return x * taylor if a < 1.0 else tail
