"""Winograd minimal filtering F(4x4, 3x3) for 3x3 convolutions of unit stride and dilation, one
group: forward, input gradient and weight gradient, as Numba loops (section 3.9 of
``docs/backprop.md``, equations (W1) to (W7)).

Shapes use the notation of :mod:`mint.kernels`. The output is cut into 4 x 4 tiles (the last
row and column of tiles may reach past it); tile ``t`` reads the 6 x 6 patch of the padded
input under it (zeros past the input). With ``U = G w G^T`` the transformed kernel (W2),
``V = B^T d B`` the transformed patch (W3) and ``A^T`` the inverse transform (W4)::

    out_tile[co] = bias[co] + A^T [ sum_ci U[co, ci] * V[ci] ] A                (W1)

where ``*`` is element-wise over the 36 positions ``xi``. So per position the sum is one
matrix product, ``M[xi] (T, C_out) = V[xi] (T, C_in) @ U[xi] (C_in, C_out)``, 36 of them for
``T`` tiles: 36 * 2 multiply-adds per 16 outputs and channel pair, 4x fewer than the direct
sum's 9 * 16 (a little less with partial tiles at the border).

The tiles are taken in blocks of :data:`_TILES_PER_BLOCK`: one parallel iteration transforms a
block's patches, runs the 36 products (:func:`mint.kernels.products.accumulate_outer`) and the
inverse transform, so the transformed data of a block (a few hundred KB) stay in cache instead
of going through memory. The input is first copied, padded, to channels-last, so every
transform runs over a contiguous run of channels (LLVM vectorises it).

The input gradient is the forward of the output gradient with the rotated, channel-swapped
kernel (W6); the weight gradient is the adjoint of (W1) in ``U``, (W7): the same input
transform, the transposed inverse transform ``A dY A^T`` of the output gradient's tiles, the
36 products summed over tiles, and ``G^T (.) G`` at the end.
"""

import numpy as np
from numba import njit, prange

from mint.kernels.conv2d import _channels_last
from mint.kernels.products import accumulate_outer

# The transform matrices of F(4, 3) for the interpolation points 0, 1, -1, 1/2, -2 and infinity
# (section 3.9 of docs/backprop.md): with 2 and -2 in place of 1/2 and -2 the float32 error is
# 3x larger. The loops below spell out B_T and A_T (the helpers _input_1d, _output_1d,
# _output_1d_transposed); the weight transform uses G as a matrix.
A_T = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 1 / 2, -2, 0],
                [0, 1, 1, 1 / 4, 4, 0],
                [0, 1, -1, 1 / 8, -8, 1]])
G = np.array([[1 / 2, 0, 0],
              [1 / 6, 1 / 6, 1 / 6],
              [1 / 6, -1 / 6, 1 / 6],
              [16 / 15, 8 / 15, 4 / 15],
              [1 / 30, -1 / 15, 2 / 15],
              [0, 0, 1 / 2]])
B_T = np.array([[2, -3, -4, 3, 2, 0],
                [0, -2, 1, 5, 2, 0],
                [0, -2, 5, -1, -2, 0],
                [0, 2, 1, -2, -1, 0],
                [0, 1, -2, -1, 2, 0],
                [0, 2, -3, -4, 3, 2]], dtype=np.float64)
# Output tile size m and input tile size m + 2.
TILE = 4
# Tiles per parallel iteration: the block's transformed patches and products (36 * 32 *
# (C_in + C_out) values, 440 KB for lenet's 32 -> 64 layer in float32) stay in L2.
_TILES_PER_BLOCK = 32
# The weight gradient sums over tiles in this many independent chunks, reduced at the end: a
# constant rather than the thread count, so results do not depend on the number of threads.
_CHUNKS = 8


# ------------------------------------------------------------------------ 1-D transforms, inlined

# Each runs over the channels of 1-D views (contiguous runs of channels), so that LLVM vectorises
# it; contract: a * b + c may become one fused multiply-add, the sums keep their order.


@njit(cache=True, inline="always", fastmath={"contract"})
def _input_1d(d0, d1, d2, d3, d4, d5, v0, v1, v2, v3, v4, v5):
    """(v0, ..., v5)[c] = B^T (d0, ..., d5)[c] for every channel c (W3)."""
    real = d0.dtype.type
    two, three, four, five = real(2), real(3), real(4), real(5)
    for c in range(d0.shape[0]):
        v0[c] = two * d0[c] - three * d1[c] - four * d2[c] + three * d3[c] + two * d4[c]
        v1[c] = -two * d1[c] + d2[c] + five * d3[c] + two * d4[c]
        v2[c] = -two * d1[c] + five * d2[c] - d3[c] - two * d4[c]
        v3[c] = two * d1[c] + d2[c] - two * d3[c] - d4[c]
        v4[c] = d1[c] - two * d2[c] - d3[c] + two * d4[c]
        v5[c] = two * d1[c] - three * d2[c] - four * d3[c] + three * d4[c] + two * d5[c]


@njit(cache=True, inline="always", fastmath={"contract"})
def _output_1d(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3):
    """(y0, ..., y3)[c] = A^T (m0, ..., m5)[c] for every channel c (W4)."""
    real = m0.dtype.type
    half, quarter, eighth = real(1 / 2), real(1 / 4), real(1 / 8)
    two, four, eight = real(2), real(4), real(8)
    for c in range(m0.shape[0]):
        even, odd = m1[c] + m2[c], m1[c] - m2[c]
        y0[c] = m0[c] + even + m3[c] + m4[c]
        y1[c] = odd + half * m3[c] - two * m4[c]
        y2[c] = even + quarter * m3[c] + four * m4[c]
        y3[c] = odd + eighth * m3[c] - eight * m4[c] + m5[c]


@njit(cache=True, inline="always", fastmath={"contract"})
def _output_1d_transposed(y0, y1, y2, y3, z0, z1, z2, z3, z4, z5):
    """(z0, ..., z5)[c] = A (y0, ..., y3)[c] for every channel c (W7)."""
    real = y0.dtype.type
    half, quarter, eighth = real(1 / 2), real(1 / 4), real(1 / 8)
    two, four, eight = real(2), real(4), real(8)
    for c in range(y0.shape[0]):
        even, odd = y0[c] + y2[c], y1[c] + y3[c]
        z0[c] = y0[c]
        z1[c] = even + odd
        z2[c] = even - odd
        z3[c] = y0[c] + half * y1[c] + quarter * y2[c] + eighth * y3[c]
        z4[c] = y0[c] - two * y1[c] + four * y2[c] - eight * y3[c]
        z5[c] = y3[c]


# -------------------------------------------------------------------------------- tile helpers


@njit(cache=True)
def _zero_past(A, T):
    """A[:, t] = 0 for t >= T, of A (36, tiles, C) (as a loop: a slice assignment takes seconds
    to compile)."""
    for xi in range(A.shape[0]):
        for t in range(T, A.shape[1]):
            for c in range(A.shape[2]):
                A[xi, t, c] = 0


@njit(cache=True)
def _transform_patches(x_last, tiles_w, first, T, V):
    """V[xi, t] (C_in,) = (B^T d B)[xi] of the 6 x 6 patch d of tile first + t for t < T, zero
    for the other t of V (36, _TILES_PER_BLOCK, C_in), from x_last (N, rows, cols, C_in) with
    tiles_w tiles per row of tiles (W3). Each 1-D transform runs over the channels of a column
    of the patch (rows first, then columns)."""
    C_in = x_last.shape[3]
    tiles_h = (x_last.shape[1] - 2) // TILE
    rows = np.empty((6, 6, C_in), dtype=V.dtype)  # rows[xi_a, b] = (B^T d)[xi_a, b]
    _zero_past(V, T)
    for t in range(T):
        n, ij = divmod(first + t, tiles_h * tiles_w)
        h, w = TILE * (ij // tiles_w), TILE * (ij % tiles_w)
        patch = x_last[n, h:h + 6, w:w + 6]
        for b in range(6):
            _input_1d(patch[0, b], patch[1, b], patch[2, b], patch[3, b], patch[4, b],
                      patch[5, b], rows[0, b], rows[1, b], rows[2, b], rows[3, b], rows[4, b],
                      rows[5, b])
        for a in range(6):
            row = rows[a]
            _input_1d(row[0], row[1], row[2], row[3], row[4], row[5], V[6 * a, t],
                      V[6 * a + 1, t], V[6 * a + 2, t], V[6 * a + 3, t], V[6 * a + 4, t],
                      V[6 * a + 5, t])


@njit(cache=True)
def _forward_block(x_last, U, bias, first, T, out):
    """Tiles first, ..., first + T - 1 of out (N, C_out, H_out, W_out) by (W1)."""
    N, C_out, H_out, W_out = out.shape
    tiles_h, tiles_w = -(-H_out // TILE), -(-W_out // TILE)
    V = np.empty((36, _TILES_PER_BLOCK, x_last.shape[3]), dtype=out.dtype)
    M = np.zeros((36, _TILES_PER_BLOCK, C_out), dtype=out.dtype)
    _transform_patches(x_last, tiles_w, first, T, V)
    for xi in range(36):
        accumulate_outer(V[xi], U[xi], M[xi])
    rows = np.empty((TILE, 6, C_out), dtype=M.dtype)  # rows[r, xi_b] = (A^T M)[r, xi_b]
    tile = np.empty((TILE, TILE, C_out), dtype=M.dtype)
    for t in range(T):
        n, ij = divmod(first + t, tiles_h * tiles_w)
        h, w = TILE * (ij // tiles_w), TILE * (ij % tiles_w)
        for b in range(6):
            _output_1d(M[b, t], M[6 + b, t], M[12 + b, t], M[18 + b, t], M[24 + b, t],
                       M[30 + b, t], rows[0, b], rows[1, b], rows[2, b], rows[3, b])
        for r in range(TILE):
            row = rows[r]
            _output_1d(row[0], row[1], row[2], row[3], row[4], row[5], tile[r, 0], tile[r, 1],
                       tile[r, 2], tile[r, 3])
        # The tile's rows and columns inside the output (partial tiles at the border).
        height, width = min(TILE, H_out - h), min(TILE, W_out - w)
        for co in range(C_out):
            for r in range(height):
                for c in range(width):
                    out[n, co, h + r, w + c] = tile[r, c, co] + bias[co]


@njit(cache=True)
def _weight_gradient_block(x_last, g_last, first, T, V, Z, S):
    """S (36, C_in, C_out) += sum_t V[xi, t] (outer) Z[xi, t] over tiles first, ..., first + T - 1
    (W7): V (36, _TILES_PER_BLOCK, C_in) the transformed input patches, Z (36,
    _TILES_PER_BLOCK, C_out) the output gradient's tiles of g_last (N, 4 * tiles_h, 4 * tiles_w,
    C_out) under A (.) A^T (both zero past T)."""
    C_out = g_last.shape[3]
    tiles_h, tiles_w = g_last.shape[1] // TILE, g_last.shape[2] // TILE
    _transform_patches(x_last, tiles_w, first, T, V)
    _zero_past(Z, T)
    columns = np.empty((6, TILE, C_out), dtype=Z.dtype)  # columns[xi_a, c] = (A Y)[xi_a, c]
    for t in range(T):
        n, ij = divmod(first + t, tiles_h * tiles_w)
        h, w = TILE * (ij // tiles_w), TILE * (ij % tiles_w)
        tile = g_last[n, h:h + TILE, w:w + TILE]
        for c in range(TILE):
            _output_1d_transposed(tile[0, c], tile[1, c], tile[2, c], tile[3, c], columns[0, c],
                                  columns[1, c], columns[2, c], columns[3, c], columns[4, c],
                                  columns[5, c])
        for a in range(6):
            column = columns[a]
            _output_1d_transposed(column[0], column[1], column[2], column[3], Z[6 * a, t],
                                  Z[6 * a + 1, t], Z[6 * a + 2, t], Z[6 * a + 3, t],
                                  Z[6 * a + 4, t], Z[6 * a + 5, t])
    for xi in range(36):
        accumulate_outer(V[xi].T, Z[xi], S[xi])


# ------------------------------------------------------------- parallel kernels: one prange each


@njit(parallel=True, cache=True)
def _forward_blocks(x_last, U, bias, out):
    """Every block of _TILES_PER_BLOCK tiles of out (N, C_out, H_out, W_out) by
    :func:`_forward_block`: x_last (N, 4 * tiles_h + 2, 4 * tiles_w + 2, C_in), U (36, C_in,
    C_out), bias (C_out,)."""
    N, C_out, H_out, W_out = out.shape
    tiles = N * (-(-H_out // TILE)) * (-(-W_out // TILE))
    blocks = -(-tiles // _TILES_PER_BLOCK)
    # Race-free: iteration b writes only the output pixels of its own tiles and its own arrays.
    for b in prange(blocks):
        first = b * _TILES_PER_BLOCK
        _forward_block(x_last, U, bias, first, min(_TILES_PER_BLOCK, tiles - first), out)


@njit(parallel=True, cache=True)
def _weight_gradient_chunks(x_last, g_last, S):
    """S[c] (36, C_in, C_out) = the sums (W7) over the blocks c, c + chunks, ... of
    _TILES_PER_BLOCK tiles: x_last (N, 4 * tiles_h + 2, 4 * tiles_w + 2, C_in), g_last (N,
    4 * tiles_h, 4 * tiles_w, C_out), S (chunks, 36, C_in, C_out) of zeros."""
    N, C_in, C_out = x_last.shape[0], x_last.shape[3], g_last.shape[3]
    tiles = N * (g_last.shape[1] // TILE) * (g_last.shape[2] // TILE)
    blocks = -(-tiles // _TILES_PER_BLOCK)
    chunks = S.shape[0]
    # Race-free: iteration c writes only S[c] and its own arrays.
    for c in prange(chunks):
        V = np.empty((36, _TILES_PER_BLOCK, C_in), dtype=S.dtype)
        Z = np.empty((36, _TILES_PER_BLOCK, C_out), dtype=S.dtype)
        for b in range(c, blocks, chunks):
            first = b * _TILES_PER_BLOCK
            _weight_gradient_block(x_last, g_last, first, min(_TILES_PER_BLOCK, tiles - first),
                                   V, Z, S[c])


# --------------------------------------------------------------------------------------- kernels


def _tiles(size):
    """Tiles of TILE outputs along an axis of ``size`` outputs."""
    return -(-size // TILE)


def _correlate(x, U, bias, before, out_hw):
    """out (N, C_out, H_out, W_out) = bias + the 3x3 correlation of x (N, C_in, H_in, W_in),
    zero-padded by ``before`` (top, left) and as many zeros after as the tiles read, with the
    transformed kernel U (36, C_in, C_out), by (W1)."""
    (N, C_in, H_in, W_in), (H_out, W_out) = x.shape, out_hw
    x_last = _channels_last(x, before, (TILE * _tiles(H_out) + 2, TILE * _tiles(W_out) + 2))
    out = np.empty((N, U.shape[2], H_out, W_out), dtype=x.dtype)
    _forward_blocks(x_last, U, bias, out)
    return out


def _transformed_kernel(weight):
    """U (36, C_in, C_out) = G weight[co, ci] G^T of weight (C_out, C_in, 3, 3) (W2), in float64
    and rounded once to weight's dtype."""
    U = np.einsum("ak,oikl,bl->abio", G, weight.astype(np.float64), G)
    return np.ascontiguousarray(U.reshape(36, *U.shape[2:]), dtype=weight.dtype)


def conv2d_forward(x, weight, bias, padding):
    """The 3x3 convolution of unit stride and dilation by F(4x4, 3x3), (W1): x (N, C_in, H_in,
    W_in), weight (C_out, C_in, 3, 3), bias (C_out,), padding (PH, PW) with PH, PW <= 2 ->
    (N, C_out, H_in + 2 * PH - 2, W_in + 2 * PW - 2)."""
    (PH, PW), (H_in, W_in) = padding, x.shape[2:]
    return _correlate(x, _transformed_kernel(weight), bias, padding,
                      (H_in + 2 * PH - 2, W_in + 2 * PW - 2))


def conv2d_backward_input(grad_out, weight, input_hw, padding):
    """dL/dx by (W6): the correlation of grad_out (N, C_out, H_out, W_out), zero-padded by
    ``2 - PH`` and ``2 - PW``, with the kernel rotated by 180 degrees and its channels swapped,
    ``weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)``: weight (C_out, C_in, 3, 3), input_hw
    (H_in, W_in) -> (N, C_in, H_in, W_in)."""
    PH, PW = padding
    rotated = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    no_bias = np.zeros(weight.shape[1], dtype=grad_out.dtype)
    return _correlate(grad_out, _transformed_kernel(rotated), no_bias, (2 - PH, 2 - PW),
                      input_hw)


def conv2d_backward_weight(grad_out, x, padding):
    """dL/dweight by (W7): grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in), padding
    (PH, PW) -> (C_out, C_in, 3, 3). The sums over tiles run in _CHUNKS independent chunks,
    added at the end, and ``G^T S G`` maps the 6 x 6 sums back to the 3 x 3 kernel in float64."""
    (N, C_out, H_out, W_out), C_in = grad_out.shape, x.shape[1]
    tiles_h, tiles_w = _tiles(H_out), _tiles(W_out)
    x_last = _channels_last(x, padding, (TILE * tiles_h + 2, TILE * tiles_w + 2))
    g_last = _channels_last(grad_out, (0, 0), (TILE * tiles_h, TILE * tiles_w))
    S = np.zeros((_CHUNKS, 36, C_in, C_out), dtype=x.dtype)
    _weight_gradient_chunks(x_last, g_last, S)
    S = S.sum(axis=0, dtype=np.float64).reshape(6, 6, C_in, C_out)
    return np.einsum("ak,abio,bl->oikl", G, S, G).astype(x.dtype)
