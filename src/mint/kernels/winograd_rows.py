"""The 1-D transforms of Winograd's F(4x4, 3x3) (:mod:`mint.kernels.winograd`) along rows: the
input transform ``B^T`` (W3), the inverse transform ``A^T`` (W4) and the output gradient's ``A``
(W7), written out for the interpolation points of :data:`mint.kernels.winograd.B_T` and
:data:`~mint.kernels.winograd.A_T`.
"""

from numba import njit

# Each applies a 1-D transform to rows of a 2-D array src (rows, L), writing rows of dst (rows,
# L): the rows named by a first index and a step, for ``count`` groups whose first rows advance
# by ``jumps`` (in src, in dst). The inner loop runs along the contiguous L (a run of channels,
# or of columns times channels) and LLVM vectorises it. A 2-D transform is two calls: along the
# columns of a row of tiles at once, then along the rows of each tile (its groups). One call per
# tile cost 2x more (the checks LLVM runs before each vectorised loop); fusing both passes into
# one loop of 36 loads and stores per value left it unvectorised, 6x slower. The constants come
# in the arrays' dtype (a float64 literal would turn float32 arithmetic into float64), and the
# formulas are written out in each function: small helpers added seconds of first compilation.
# contract: a * b + c may become one fused multiply-add; the sums keep their order.


@njit(cache=True, fastmath={"contract"})
def input_rows(src, first, step, dst, start, stride, count, jumps):
    """dst[start + g * jumps[1] + k * stride] = (B^T d)[k] of d[j] = src[first + g * jumps[0] + j
    * step], k < 6, g < count (W3)."""
    real = src.dtype.type
    two, three, four, five = real(2), real(3), real(4), real(5)
    for g in range(count):
        s0, e0 = first + g * jumps[0], start + g * jumps[1]
        s1, s2, s3, s4, s5 = s0 + step, s0 + 2 * step, s0 + 3 * step, s0 + 4 * step, s0 + 5 * step
        e1, e2, e3 = e0 + stride, e0 + 2 * stride, e0 + 3 * stride
        e4, e5 = e0 + 4 * stride, e0 + 5 * stride
        for c in range(src.shape[1]):
            d0, d1, d2, d3, d4, d5 = (src[s0, c], src[s1, c], src[s2, c], src[s3, c], src[s4, c],
                                      src[s5, c])
            dst[e0, c] = two * d0 - three * d1 - four * d2 + three * d3 + two * d4
            dst[e1, c] = -two * d1 + d2 + five * d3 + two * d4
            dst[e2, c] = -two * d1 + five * d2 - d3 - two * d4
            dst[e3, c] = two * d1 + d2 - two * d3 - d4
            dst[e4, c] = d1 - two * d2 - d3 + two * d4
            dst[e5, c] = two * d1 - three * d2 - four * d3 + three * d4 + two * d5


@njit(cache=True, fastmath={"contract"})
def output_rows(src, first, step, dst, start, stride):
    """dst[start + k * stride] = (A^T m)[k] of m[j] = src[first + j * step], k < 4 (W4)."""
    real = src.dtype.type
    half, quarter, eighth = real(1 / 2), real(1 / 4), real(1 / 8)
    two, four, eight = real(2), real(4), real(8)
    s0, s1, s2 = first, first + step, first + 2 * step
    s3, s4, s5 = first + 3 * step, first + 4 * step, first + 5 * step
    e0, e1, e2, e3 = start, start + stride, start + 2 * stride, start + 3 * stride
    for c in range(src.shape[1]):
        m0, m1, m2, m3, m4, m5 = (src[s0, c], src[s1, c], src[s2, c], src[s3, c], src[s4, c],
                                  src[s5, c])
        even, odd = m1 + m2, m1 - m2
        dst[e0, c] = m0 + even + m3 + m4
        dst[e1, c] = odd + half * m3 - two * m4
        dst[e2, c] = even + quarter * m3 + four * m4
        dst[e3, c] = odd + eighth * m3 - eight * m4 + m5


@njit(cache=True, fastmath={"contract"})
def gradient_rows(src, first, step, dst, start, stride, count, jumps):
    """dst[start + g * jumps[1] + k * stride] = (A y)[k] of y[j] = src[first + g * jumps[0] + j
    * step], k < 6, g < count (W7)."""
    real = src.dtype.type
    half, quarter, eighth = real(1 / 2), real(1 / 4), real(1 / 8)
    two, four, eight = real(2), real(4), real(8)
    for g in range(count):
        s0, e0 = first + g * jumps[0], start + g * jumps[1]
        s1, s2, s3 = s0 + step, s0 + 2 * step, s0 + 3 * step
        e1, e2, e3 = e0 + stride, e0 + 2 * stride, e0 + 3 * stride
        e4, e5 = e0 + 4 * stride, e0 + 5 * stride
        for c in range(src.shape[1]):
            y0, y1, y2, y3 = src[s0, c], src[s1, c], src[s2, c], src[s3, c]
            even, odd = y0 + y2, y1 + y3
            dst[e0, c] = y0
            dst[e1, c] = even + odd
            dst[e2, c] = even - odd
            dst[e3, c] = y0 + half * y1 + quarter * y2 + eighth * y3
            dst[e4, c] = y0 - two * y1 + four * y2 - eight * y3
            dst[e5, c] = y3
