"""``exp`` and ``log`` as straight-line arithmetic that LLVM can vectorise.

numba compiles ``np.exp``, ``np.log`` and ``**`` into calls of the C library's scalar functions:
inside the lane right-hand side (``engine/lane_rhs.py``), whose loops otherwise run 4-8 patients
per instruction, the two powers and the exponential of a transplant patient's right-hand side
took ~55 of its ~115 ns per evaluation (``pow`` alone ~24 ns on the development VM). numba's
vector maths (Intel SVML) needs an SVML-patched LLVM, which the PyPI builds of llvmlite are
not. These versions use only additions, multiplications, one division, ``floor`` and bit moves,
so a loop of them vectorises like any other; the scalar engine calls the same functions, so the
lanes and the scalar engine keep giving the same results bit for bit.

* ``exp(x)``: ``x = k ln 2 + r`` with ``|r| <= ln 2 / 2`` (Cody & Waite's two-part ``ln 2``), then
  ``e^r`` by its Taylor polynomial of degree 13 (truncation < 1e-17 relative) and ``2^k`` built
  from bits, in two halves so that the subnormal range is reached without overflow.
* ``log(x)``: ``x = 2^e m`` with ``m`` in ``[sqrt(1/2), sqrt(2))``, ``log m = 2 atanh(f)`` with
  ``f = (m - 1) / (m + 1)``, ``|f| <= 0.1716``, by its series to ``f^21`` (truncation < 1e-18).

Both are within 2 units in the last place of the C library's results over their whole domains
(``tests/test_elementary.py`` checks ~3x10^5 arguments each and the special values: 0, negative,
subnormal, infinite, NaN). The right-hand side's ``a^(1-w) b^w`` is written
``exp((1-w) log a + w log b)``: 2 logarithms and an exponential instead of two powers.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types, uint64
from numba.extending import intrinsic

from marrowsim.model.compiled import compiled


@intrinsic
def _bits(typingctx, x):
    """The IEEE 754 bits of a float64, as uint64 (a register move, no conversion)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(types.float64), codegen


@intrinsic
def _float(typingctx, bits):
    """The float64 whose IEEE 754 bits are ``bits`` (uint64)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.uint64), codegen


_LN2_HI = 6.93147180369123816490e-01  # ln 2 with 32 trailing zero bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e00
_TWO52 = 4503599627370496.0  # 2^52: adding it puts a small non-negative integer in the low bits
_EXP_OVERFLOW = 709.782712893383973096  # ln(largest float64)
_EXP_UNDERFLOW = -745.133219101941108420  # ln(smallest subnormal / 2)
_SQRT2 = 1.41421356237309504880
_SMALLEST_NORMAL = 2.2250738585072014e-308
_TWO54 = 18014398509481984.0


@compiled
def _power_of_two(k):
    """``2^k`` for an integer-valued float ``k`` in [-1022, 1023], from its bits."""
    biased = _bits(k + (1023.0 + _TWO52))  # low 11 bits: k + 1023
    return _float(biased << uint64(52))


@compiled
def exp(x):
    """e^x (float64), within 2 ulp of the C library's; +inf above ~709.78, 0 below ~-745.13."""
    k = np.floor(x * _INV_LN2 + 0.5)
    k = min(max(k, -1100.0), 1100.0)  # beyond: the result is inf or 0 (set below)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0  # 1/13!
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    half = np.floor(k * 0.5)
    result = p * _power_of_two(half) * _power_of_two(k - half)
    result = np.inf if x > _EXP_OVERFLOW else result
    return 0.0 if x < _EXP_UNDERFLOW else result  # NaN stays NaN (comparisons are false)


@compiled
def log(x):
    """The natural logarithm (float64), within 2 ulp of the C library's; -inf at 0, NaN below."""
    subnormal = x < _SMALLEST_NORMAL
    scaled = x * _TWO54 if subnormal else x
    bits = _bits(scaled)
    exponent_bits = _float((bits >> uint64(52)) | _bits(_TWO52)) - _TWO52  # biased exponent
    m = _float((bits & uint64(0x000FFFFFFFFFFFFF)) | uint64(0x3FF0000000000000))  # in [1, 2)
    e = exponent_bits - (1077.0 if subnormal else 1023.0)
    high = m > _SQRT2
    m = m * 0.5 if high else m
    e = e + 1.0 if high else e
    f = (m - 1.0) / (m + 1.0)
    s = f * f
    p = 1.0 / 21.0
    p = p * s + 1.0 / 19.0
    p = p * s + 1.0 / 17.0
    p = p * s + 1.0 / 15.0
    p = p * s + 1.0 / 13.0
    p = p * s + 1.0 / 11.0
    p = p * s + 1.0 / 9.0
    p = p * s + 1.0 / 7.0
    p = p * s + 1.0 / 5.0
    p = p * s + 1.0 / 3.0
    p = p * s
    result = e * _LN2_HI + ((e * _LN2_LO + 2.0 * f * p) + 2.0 * f)
    result = -np.inf if x == 0.0 else result
    result = np.nan if x < 0.0 else result
    return x if not x < np.inf else result  # +inf and NaN are their own logarithm
