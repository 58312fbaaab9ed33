"""The two register-blocked matrix products that the conv2d and linear kernels are built on.

Both add a product into ``out`` and work on 4 x 4 blocks, so that every value loaded from memory
feeds several multiply-adds (one multiply-add per load left the loops memory-bound at ~30
GFLOP/s):

    accumulate_dots     out[j, m] += sum_k a[m, k] * b[j, k]        (contraction along rows)
    accumulate_outer    out[j, p] += sum_k b[j, k] * columns[k, p]  (updates along rows)

``accumulate_dots`` suits a long ``K`` (a receptive field, a hidden layer's inputs, the pixels
of a batch); ``accumulate_outer`` a short ``K`` and a long ``P`` (a first layer's 9 taps over
its 784 pixels, a few samples over a hidden layer's 3136 inputs). The sums may be reordered
(``reassoc``: LLVM then vectorises them with the partial sums held in registers) and multiply
and add may fuse (``contract``); NaN and inf still behave as IEEE says.
"""

from numba import njit

# accumulate_dots's panels of a: 64 K float32 values, 256 KB, a quarter of a Zen 4 or Ice Lake
# core's L2, with room for the rows of b and out.
_PANEL_VALUES = 65536


@njit(cache=True, fastmath={"reassoc", "contract"})
def accumulate_dots(a, b, out):
    """``out[j, m] += sum_k a[m, k] * b[j, k]``: a (M, K), b (J, K), out (J, M); a and b rows
    contiguous.

    Blocks of 4 rows of ``a`` by 4 rows of ``b`` share their loads: 8 loads feed 16
    multiply-adds (2 x 4 blocks, 6 loads for 8, made lenet's convolution weight gradient 1.2x
    and its hidden layer 1.35x slower). The rows of ``a`` are taken in panels of about
    _PANEL_VALUES values, each met by every row of ``b`` while it stays in L2 (a ResNet-18 weight
    gradient's 4,608 x 392 columns, 7 MB, went through memory once per 4 rows of ``b``: 3.5x
    slower). Past the last row of a panel the rows are clamped, so its last block may compute
    one dot product up to four times; all copies start from the same ``out`` value and write the
    same result. The last ``J % 4`` rows of ``b`` take one dot product at a time.
    """
    M, K = a.shape
    J = b.shape[0]
    J_blocked = J - J % 4
    panel = max(4, _PANEL_VALUES // max(K, 1) // 4 * 4)  # rows of a, a multiple of 4
    for first in range(0, M, panel):
        last = min(M, first + panel) - 1
        _dots_panel(a, b, first, last, J_blocked, out)
    for j in range(J_blocked, J):
        for m in range(M):
            total = out[j, m]
            for k in range(K):
                total += a[m, k] * b[j, k]
            out[j, m] = total


@njit(cache=True, fastmath={"reassoc", "contract"})
def _dots_panel(a, b, first, last, J_blocked, out):
    """``out[j, m] += sum_k a[m, k] * b[j, k]`` for rows first <= m <= last of ``a`` and the
    first J_blocked rows of ``b``, in 4 x 4 blocks (:func:`accumulate_dots`)."""
    K = a.shape[1]
    for j in range(0, J_blocked, 4):
        for m in range(first, last + 1, 4):
            m1, m2, m3 = min(m + 1, last), min(m + 2, last), min(m + 3, last)
            s00, s01, s02, s03 = out[j, m], out[j + 1, m], out[j + 2, m], out[j + 3, m]
            s10, s11, s12, s13 = out[j, m1], out[j + 1, m1], out[j + 2, m1], out[j + 3, m1]
            s20, s21, s22, s23 = out[j, m2], out[j + 1, m2], out[j + 2, m2], out[j + 3, m2]
            s30, s31, s32, s33 = out[j, m3], out[j + 1, m3], out[j + 2, m3], out[j + 3, m3]
            for k in range(K):
                a0, a1, a2, a3 = a[m, k], a[m1, k], a[m2, k], a[m3, k]
                b0, b1, b2, b3 = b[j, k], b[j + 1, k], b[j + 2, k], b[j + 3, k]
                s00 += a0 * b0
                s01 += a0 * b1
                s02 += a0 * b2
                s03 += a0 * b3
                s10 += a1 * b0
                s11 += a1 * b1
                s12 += a1 * b2
                s13 += a1 * b3
                s20 += a2 * b0
                s21 += a2 * b1
                s22 += a2 * b2
                s23 += a2 * b3
                s30 += a3 * b0
                s31 += a3 * b1
                s32 += a3 * b2
                s33 += a3 * b3
            out[j, m], out[j + 1, m], out[j + 2, m], out[j + 3, m] = s00, s01, s02, s03
            out[j, m1], out[j + 1, m1], out[j + 2, m1], out[j + 3, m1] = s10, s11, s12, s13
            out[j, m2], out[j + 1, m2], out[j + 2, m2], out[j + 3, m2] = s20, s21, s22, s23
            out[j, m3], out[j + 1, m3], out[j + 2, m3], out[j + 3, m3] = s30, s31, s32, s33


@njit(cache=True, fastmath={"reassoc", "contract"})
def accumulate_outer(b, columns, out):
    """``out[j, p] += sum_k b[j, k] * columns[k, p]``: b (J, K), columns (K, P), out (J, P) with
    contiguous rows.

    The transposed twin of :func:`accumulate_dots`, for short ``K``, where dot products of
    length ``K`` vectorise badly: the inner loop runs along the long axis ``P`` instead. Each
    pass over ``P`` updates 4 rows of ``out`` with 4 terms of the sum, so each load and store of
    ``out`` carries 4 multiply-adds (one term per pass spent most of its time storing ``out``:
    a first convolution 1.4x slower; 2 rows per pass, a hidden layer's gradients 1.4x slower).
    The last ``K % 4`` terms, and the last ``J % 4`` rows, go one term, one row at a time. No
    index is clamped here: ``+=`` would count a row twice.
    """
    J, K = b.shape
    P = columns.shape[1]
    J_blocked, K_blocked = J - J % 4, K - K % 4
    for j in range(0, J_blocked, 4):
        for k in range(0, K_blocked, 4):
            b0 = (b[j, k], b[j, k + 1], b[j, k + 2], b[j, k + 3])
            b1 = (b[j + 1, k], b[j + 1, k + 1], b[j + 1, k + 2], b[j + 1, k + 3])
            b2 = (b[j + 2, k], b[j + 2, k + 1], b[j + 2, k + 2], b[j + 2, k + 3])
            b3 = (b[j + 3, k], b[j + 3, k + 1], b[j + 3, k + 2], b[j + 3, k + 3])
            for p in range(P):
                c0, c1 = columns[k, p], columns[k + 1, p]
                c2, c3 = columns[k + 2, p], columns[k + 3, p]
                out[j, p] += b0[0] * c0 + b0[1] * c1 + b0[2] * c2 + b0[3] * c3
                out[j + 1, p] += b1[0] * c0 + b1[1] * c1 + b1[2] * c2 + b1[3] * c3
                out[j + 2, p] += b2[0] * c0 + b2[1] * c1 + b2[2] * c2 + b2[3] * c3
                out[j + 3, p] += b3[0] * c0 + b3[1] * c1 + b3[2] * c2 + b3[3] * c3
    for j in range(J):
        for k in range(K_blocked if j < J_blocked else 0, K):
            coefficient = b[j, k]
            for p in range(P):
                out[j, p] += coefficient * columns[k, p]
