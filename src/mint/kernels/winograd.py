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
``T`` tiles: 36 multiply-adds per 16 outputs and channel pair, 4x fewer than the direct sum's
9 * 16 (less with partial tiles at the border).

The tiles are taken in blocks of whole rows of tiles, about :data:`_TILES_PER_BLOCK` tiles: one
parallel iteration transforms a block's patches, runs the 36 products and the inverse
transform, so the transformed data of a block (a few hundred KB) stay in cache instead of going
through memory. Many channels on small maps (512 x 7 x 7) turn that around: the transformed
kernel outweighs the tiles, so it is made six positions at a time and used for all tiles at
once (:func:`_products_by_row`). The input is first copied, padded, to channels-last, so every
transform runs over contiguous runs of channels (LLVM vectorises it). The forward's products go
to BLAS (``np.dot``, scipy's sgemm): 90-110 GFLOP/s on one core for these (32 x 32) @ (32 x 64)
blocks, against 50-65 for :func:`mint.kernels.products.accumulate_outer`, whose register
blocking needs longer rows. The weight gradient's products contract over the tiles, where
:func:`~mint.kernels.products.accumulate_outer` matches BLAS (63 GFLOP/s) without its temporary.

The input gradient is the forward of the output gradient with the rotated, channel-swapped
kernel (W6); the weight gradient is the adjoint of (W1) in ``U``, (W7): the same input
transform, the transposed inverse transform ``A dY A^T`` of the output gradient's tiles, the
36 products summed over tiles, and ``G^T (.) G`` at the end.
"""

from functools import cache

import numpy as np
import threadpoolctl
from numba import njit, prange

from mint.kernels.layouts import channel_parts, channels_last, kept_zeros
from mint.kernels.products import accumulate_outer
from mint.kernels.winograd_rows import gradient_rows, input_rows, output_rows

# The transform matrices of F(4, 3) for the interpolation points 0, 1, -1, 1/2, -2 and infinity
# (section 3.9 of docs/backprop.md): with 2 and -2 in place of 1/2 and -2 the float32 error is
# 3x larger. The loops spell out B_T and A_T (input_rows, output_rows, gradient_rows); the
# kernel transform reads G (_transform_taps).
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


# -------------------------------------------------------------------------------- block helpers


@njit(cache=True)
def _transform_patches(x_last, tiles_h, first_row, rows, V):
    """V[xi, t] (C_in,) = (B^T d B)[xi] of the 6 x 6 patch d of each tile t of tile rows
    first_row, ..., first_row + rows - 1 (W3), zero for the tiles of V (36, T, C_in) past them:
    x_last (N, 4 * tiles_h + 2, cols, C_in)."""
    R, cols, C = x_last.shape[1:]
    T = V.shape[1]
    tiles_w = (cols - 2) // TILE
    V_rows = V.reshape(36 * T, C)
    columns = np.empty((6, cols * C), dtype=V.dtype)  # (B^T d)[xi_a, col, ci]
    column_rows = columns.reshape(6 * cols, C)
    for p in range(rows):
        n, i = divmod(first_row + p, tiles_h)
        # np.intp(...): Numba compiles a jitted callee once per set of literal arguments, so the
        # two calls pass run-time ints (bar the shared step 1) and share one compilation.
        input_rows(x_last[n].reshape(R, cols * C), TILE * i, 1, columns, np.intp(0),
                   np.intp(1), np.intp(1), (np.intp(0), np.intp(0)))
        for a in range(6):
            input_rows(column_rows, a * cols, 1, V_rows, 6 * a * T + p * tiles_w, T, tiles_w,
                       (np.intp(TILE), np.intp(1)))
    for xi in range(36):
        for t in range(rows * tiles_w, T):
            for c in range(C):
                V[xi, t, c] = 0


@njit(cache=True)
def _forward_block(x_last, U, bias, first_row, rows, block_rows, first_channel, out):
    """Tile rows first_row, ..., first_row + rows - 1 of output channels first_channel, ...,
    first_channel + C_part - 1 of out (N, C_out, H_out, W_out) by (W1): x_last (N, 4 * tiles_h +
    2, 4 * tiles_w + 2, C_in), U (36, C_in, C_part) the part's transformed kernel. The products
    M[xi] (T, C_out) = V[xi] @ U[xi] of the block's T tiles are runs of T * C_out values, so the
    inverse transform runs along them. A short last block is padded with zero tiles to the
    block_rows of the others: every product then has one shape, so BLAS takes one path and a
    tile's result does not depend on the batch it came in (a block of one image's tiles took
    another path and rounded differently)."""
    H_out, W_out = out.shape[2:]
    tiles_h, tiles_w = -(-H_out // TILE), -(-W_out // TILE)
    T = block_rows * tiles_w
    V = np.empty((36, T, x_last.shape[3]), dtype=out.dtype)
    _transform_patches(x_last, tiles_h, first_row, rows, V)
    M = np.empty((36, T, U.shape[2]), dtype=out.dtype)
    for xi in range(36):
        np.dot(V[xi], U[xi], M[xi])
    _inverse_block(M, bias, first_row, rows, first_channel, out)


@njit(cache=True)
def _inverse_block(M, bias, first_row, rows, first_channel, out):
    """Tile rows first_row, ..., first_row + rows - 1 of output channels first_channel, ...,
    first_channel + C_part - 1 of out (N, C_out, H_out, W_out) = bias + A^T M A (W4) of the
    block's products M (36, T, C_part), whose runs of T * C_part values the inverse transform
    runs along."""
    H_out, W_out = out.shape[2:]
    T, C_out = M.shape[1], M.shape[2]  # this part's channels
    tiles_h, tiles_w = -(-H_out // TILE), -(-W_out // TILE)
    M_rows = M.reshape(36, T * C_out)
    partial = np.empty((TILE * 6, T * C_out), dtype=out.dtype)  # (A^T M)[r, xi_b]
    Y = np.empty((TILE * TILE, T, C_out), dtype=out.dtype)  # (A^T M A)[r, c]
    for b in range(6):
        # Run-time ints, not literals: one compilation of output_rows for both calls (as above).
        output_rows(M_rows, b, np.intp(6), partial, b, np.intp(6))
    for r in range(TILE):
        output_rows(partial, 6 * r, np.intp(1), Y.reshape(TILE * TILE, T * C_out), TILE * r,
                    np.intp(1))
    # out[n, first_channel + co, 4 i + r, 4 j + c] = Y[4 r + c, t, co] + bias[first_channel + co]
    # for tile t = p * tiles_w + j of tile row first_row + p (image n, row i), without the rows
    # and columns past the output.
    full = W_out // TILE  # tiles with all their columns inside
    for p in range(rows):
        n, i = divmod(first_row + p, tiles_h)
        h, t = TILE * i, p * tiles_w
        for r in range(min(TILE, H_out - h)):
            y0, y1, y2, y3 = Y[TILE * r], Y[TILE * r + 1], Y[TILE * r + 2], Y[TILE * r + 3]
            for co in range(C_out):
                value, target = bias[first_channel + co], out[n, first_channel + co, h + r]
                for j in range(full):
                    target[TILE * j] = y0[t + j, co] + value
                    target[TILE * j + 1] = y1[t + j, co] + value
                    target[TILE * j + 2] = y2[t + j, co] + value
                    target[TILE * j + 3] = y3[t + j, co] + value
                for col in range(TILE * full, W_out):
                    target[col] = Y[TILE * r + col % TILE, t + full, co] + value


@njit(cache=True)
def _weight_gradient_block(x_last, g_last, first_row, rows, S):
    """S (36, C_in, C_out) += sum_t V[xi, t] (outer) Z[xi, t] over the tiles t of tile rows
    first_row, ..., first_row + rows - 1 (W7): V the transformed input patches (W3) of x_last
    (N, 4 * tiles_h + 2, 4 * tiles_w + 2, C_in), Z the output gradient's tiles of g_last (N,
    4 * tiles_h, 4 * tiles_w, C_out) under A (.) A^T."""
    tiles_h, tiles_w = g_last.shape[1] // TILE, g_last.shape[2] // TILE
    T = rows * tiles_w
    R, cols, C_out = g_last.shape[1:]
    V = np.empty((36, T, x_last.shape[3]), dtype=S.dtype)
    _transform_patches(x_last, tiles_h, first_row, rows, V)
    Z = np.empty((36, T, C_out), dtype=S.dtype)
    Z_rows = Z.reshape(36 * T, C_out)
    columns = np.empty((6, cols * C_out), dtype=S.dtype)  # (A Y)[xi_a, col, co]
    column_rows = columns.reshape(6 * cols, C_out)
    for p in range(rows):
        n, i = divmod(first_row + p, tiles_h)
        gradient_rows(g_last[n].reshape(R, cols * C_out), TILE * i, 1, columns, np.intp(0),
                      np.intp(1), np.intp(1), (np.intp(0), np.intp(0)))  # as in input_rows
        for a in range(6):
            gradient_rows(column_rows, a * cols, 1, Z_rows, 6 * a * T + p * tiles_w, T,
                          tiles_w, (np.intp(TILE), np.intp(1)))
    for xi in range(36):
        accumulate_outer(V[xi].T, Z[xi], S[xi])


@njit(cache=True)
def _gather_taps(weight, rotate, channel, first, taps):
    """taps[3 k + l, c] = g[k, l] (9, C) for the kernels g from input channel ``channel`` to
    output channels first, ..., first + C - 1 of the correlation by weight (C_out, C_in, 3, 3):
    ``weight[first + c, channel, k, l]``, or with ``rotate`` the input gradient's kernels (W6),
    ``weight[channel, first + c, 2 - k, 2 - l]``."""
    for c in range(taps.shape[1]):
        for kl in range(9):
            if rotate:
                taps[kl, c] = weight[channel, first + c, (8 - kl) // 3, (8 - kl) % 3]
            else:
                taps[kl, c] = weight[first + c, channel, kl // 3, kl % 3]


@njit(cache=True)
def _transform_taps(taps, U):
    """U[xi] (C,) = (G g G^T)[xi] of the 3 x 3 kernel g[k, l] = taps[3 k + l] (C,) for a run of
    C kernels (W2): taps (9, C), U (36, C), by :func:`_transform_row` for each row of G."""
    for a in range(6):
        _transform_row(taps, a, U[6 * a:6 * a + 6])


@njit(cache=True)
def _transform_row(taps, a, U_row):
    """U_row[b] (C,) = (G g G^T)[6 a + b], b < 6, the positions of row ``a`` of G (W2), of the
    kernels of taps (9, C) as in :func:`_transform_taps`. In two passes, (G g)[a] (3,) then
    (G g)[a] G^T, 27 multiply-adds per kernel, in float64, rounded once to U_row's dtype. The
    inner loops run along the C kernels (output channels), which LLVM vectorises."""
    C = taps.shape[1]
    g0, g1, g2 = G[a, 0], G[a, 1], G[a, 2]
    left = np.empty((3, C))  # (G g)[a, l]
    for col in range(3):
        for c in range(C):
            left[col, c] = g0 * taps[col, c] + g1 * taps[3 + col, c] + g2 * taps[6 + col, c]
    for b in range(6):
        h0, h1, h2 = G[b, 0], G[b, 1], G[b, 2]
        target = U_row[b]
        for c in range(C):
            target[c] = left[0, c] * h0 + left[1, c] * h1 + left[2, c] * h2


# ------------------------------------------------------------- parallel kernels: one prange each


@njit(parallel=True, cache=True)
def _transform_kernel(weight, rotate, U):
    """U[p, :, ci] = (G g G^T) (36, C_part) of the kernels g from input channel ci to the output
    channels of part p (:func:`_gather_taps`, :func:`_transform_taps`), (W2): weight (C_out,
    C_in, 3, 3) or, with ``rotate``, (C_in, C_out, 3, 3) for the input gradient (W6); U (P, 36,
    C_in, C_out / P)."""
    P, C_in, C_part = U.shape[0], U.shape[2], U.shape[3]
    # Race-free: iteration q writes only U[p, :, ci] of its own (p, ci), and its own taps.
    for q in prange(P * C_in):
        p, ci = q // C_in, q % C_in
        taps = np.empty((9, C_part), dtype=U.dtype)
        _gather_taps(weight, rotate, ci, p * C_part, taps)
        _transform_taps(taps, U[p, :, ci])


@njit(parallel=True, cache=True)
def _forward_blocks(x_last, U, bias, rows, out):
    """Every block of ``rows`` tile rows of out (N, C_out, H_out, W_out), for each of the P parts
    of the output channels, by :func:`_forward_block`: x_last (N, 4 * tiles_h + 2, 4 * tiles_w +
    2, C_in), U (P, 36, C_in, C_out / P), bias (C_out,)."""
    P, C_part = U.shape[0], U.shape[3]
    tile_rows = out.shape[0] * (-(-out.shape[2] // TILE))
    # Race-free: iteration (b, p) writes only the output rows of its own tile rows in its own
    # channels, and its own arrays.
    for q in prange(-(-tile_rows // rows) * P):
        b, p = q // P, q % P
        _forward_block(x_last, U[p], bias, b * rows, min(rows, tile_rows - b * rows), rows,
                       p * C_part, out)


@njit(parallel=True, cache=True)
def _gather_kernels(weight, rotate, taps):
    """taps[p, ci] (9, C_part) = the kernels from input channel ci to the output channels of
    part p (:func:`_gather_taps`): weight as in :func:`_transform_kernel`, taps (P, C_in, 9,
    C_out / P)."""
    P, C_in, C_part = taps.shape[0], taps.shape[1], taps.shape[3]
    # Race-free: iteration q writes only taps[p, ci] of its own (p, ci).
    for q in prange(P * C_in):
        p, ci = q // C_in, q % C_in
        _gather_taps(weight, rotate, ci, p * C_part, taps[p, ci])


@njit(parallel=True, cache=True)
def _patches_of_blocks(x_last, tiles_h, rows, V):
    """V[b] (36, T, C_in) = the transformed patches (W3) of block b, tile rows b * rows, ...
    (:func:`_transform_patches`): x_last as in :func:`_forward_blocks`, V (blocks, 36, T,
    C_in)."""
    tile_rows = x_last.shape[0] * tiles_h
    # Race-free: iteration b writes only V[b].
    for b in prange(V.shape[0]):
        _transform_patches(x_last, tiles_h, b * rows, min(rows, tile_rows - b * rows), V[b])


@njit(parallel=True, cache=True)
def _products_by_row(V, taps, M):
    """M[p, b, xi] (T, C_part) = V[b, xi] @ U[xi] for every block b and output channel part p,
    with U = G g G^T (W2) of the kernels in taps (P, C_in, 9, C_part) made six positions (a row
    ``a`` of G, :func:`_transform_row`) at a time and used at once, never stored whole: V
    (blocks, 36, T, C_in), M (P, blocks, 36, T, C_part)."""
    P, C_in, C_part = taps.shape[0], taps.shape[1], taps.shape[3]
    # Race-free: iteration (a, p) writes only M[p, :, 6 a:6 a + 6] and its own arrays.
    for q in prange(6 * P):
        a, p = q // P, q % P
        U = np.empty((6, C_in, C_part), dtype=M.dtype)
        U_row = np.empty((6, C_part), dtype=M.dtype)
        for ci in range(C_in):
            _transform_row(taps[p, ci], a, U_row)
            for b in range(6):
                for c in range(C_part):
                    U[b, ci, c] = U_row[b, c]
        for b in range(6):
            for block in range(V.shape[0]):
                np.dot(V[block, 6 * a + b], U[b], M[p, block, 6 * a + b])


@njit(parallel=True, cache=True)
def _inverse_blocks(M, bias, rows, out):
    """Every block of ``rows`` tile rows of out (N, C_out, H_out, W_out), for each of the P parts
    of the output channels, from its products M[p, b] (:func:`_inverse_block`): M (P, blocks,
    36, T, C_out / P), bias (C_out,)."""
    P, blocks, C_part = M.shape[0], M.shape[1], M.shape[4]
    tile_rows = out.shape[0] * (-(-out.shape[2] // TILE))
    # Race-free: iteration (b, p) writes only the output rows of its own tile rows in its own
    # channels.
    for q in prange(blocks * P):
        b, p = q // P, q % P
        _inverse_block(M[p, b], bias, b * rows, min(rows, tile_rows - b * rows), p * C_part,
                       out)


@njit(parallel=True, cache=True)
def _weight_gradient_chunks(x_last, g_last, S):
    """S[c] (36, C_in, C_out) = the sums (W7) over the blocks c, c + chunks, ... of tile rows
    (about _TILES_PER_BLOCK tiles each): x_last (N, 4 * tiles_h + 2, 4 * tiles_w + 2, C_in),
    g_last (N, 4 * tiles_h, 4 * tiles_w, C_out), S (chunks, 36, C_in, C_out) of zeros."""
    tile_rows = g_last.shape[0] * (g_last.shape[1] // TILE)
    rows = max(1, _TILES_PER_BLOCK // (g_last.shape[2] // TILE))
    blocks = -(-tile_rows // rows)
    chunks = S.shape[0]
    # Race-free: iteration c writes only S[c] and its own arrays.
    for c in prange(chunks):
        for b in range(c, blocks, chunks):
            _weight_gradient_block(x_last, g_last, b * rows, min(rows, tile_rows - b * rows),
                                   S[c])


# --------------------------------------------------------------------------------------- kernels


def _tiles(size):
    """Tiles of TILE outputs along an axis of ``size`` outputs."""
    return -(-size // TILE)


@cache
def _blas():
    """threadpoolctl's handle on the BLAS libraries, the one Numba's ``np.dot`` calls among them
    (scipy's: importing it here changes nothing, Numba imports it to run :func:`_forward_block`)."""
    import scipy.linalg.cython_blas  # noqa: F401

    return threadpoolctl.ThreadpoolController().select(user_api="blas")


def _correlate(x, weight, rotate, bias, before, out_hw):
    """out (N, C_out, H_out, W_out) = bias + the 3x3 correlation of x (N, C_in, H_in, W_in),
    zero-padded by ``before`` (top, left) and as many zeros after as the tiles read, by (W1),
    with the kernels of weight (C_out, C_in, 3, 3), or with ``rotate`` those of the input
    gradient (W6), rotated and channel-swapped, of weight (C_in, C_out, 3, 3)."""
    N, C_in, (H_out, W_out) = x.shape[0], x.shape[1], out_hw
    C_out = weight.shape[1] if rotate else weight.shape[0]
    rows = max(1, _TILES_PER_BLOCK // _tiles(W_out))  # tile rows per block
    blocks = -(-N * _tiles(H_out) // rows)
    # parts of at least 64 channels, when the blocks are fewer than two per thread
    parts = channel_parts(C_out, blocks, 64)
    x_last = channels_last(x, before, (TILE * _tiles(H_out) + 2, TILE * _tiles(W_out) + 2))
    out = np.empty((N, C_out, H_out, W_out), dtype=x.dtype)
    weight = np.ascontiguousarray(weight)
    T = rows * _tiles(W_out)
    # Each parallel iteration calls BLAS: one BLAS thread each, or every Numba thread would start
    # BLAS's threads too, more threads than cores (a 256-channel 14 x 14 layer 4-26x slower).
    with _blas().limit(limits=1):
        if blocks * T * (C_in + C_out) <= C_in * C_out:
            # Many channels on small maps: the transformed kernel U (36 C_in C_out values) is at
            # least as large as the transformed tiles and products, so U is made a row of G at a
            # time, in cache, for all the tiles at once, instead of going through memory whole
            # (one thread: ResNet-18's 512 x 7 x 7 and 256 x 14 x 14 at batch 8 1.25-1.5x
            # faster; 128 x 28 x 28 and smaller channel counts 1.2-1.6x slower). Arrays kept
            # from call to call, written in full.
            taps = kept_zeros(("winograd taps",), (parts, C_in, 9, C_out // parts), x.dtype)
            V = kept_zeros(("winograd V",), (blocks, 36, T, C_in), x.dtype)
            M = kept_zeros(("winograd M",), (parts, blocks, 36, T, C_out // parts), x.dtype)
            _gather_kernels(weight, rotate, taps)
            _patches_of_blocks(x_last, _tiles(H_out), rows, V)
            _products_by_row(V, taps, M)
            _inverse_blocks(M, bias, rows, out)
            return out
        # U[p, xi, ci, c] of the kernel from ci to p * C_out / P + c, in an array kept from call
        # to call (it is written in full): a new one took a page fault every 4 KB, 37 MB for 512
        # channels.
        U = kept_zeros(("winograd U",), (parts, 36, C_in, C_out // parts), x.dtype)
        _transform_kernel(weight, rotate, U)
        _forward_blocks(x_last, U, bias, rows, out)
    return out


def conv2d_forward(x, weight, bias, padding):
    """The 3x3 convolution of unit stride and dilation by F(4x4, 3x3), (W1): x (N, C_in, H_in,
    W_in), weight (C_out, C_in, 3, 3), bias (C_out,), padding (PH, PW) with PH, PW <= 2 ->
    (N, C_out, H_in + 2 * PH - 2, W_in + 2 * PW - 2)."""
    (PH, PW), (H_in, W_in) = padding, x.shape[2:]
    return _correlate(x, weight, False, bias, padding,
                      (H_in + 2 * PH - 2, W_in + 2 * PW - 2))


def conv2d_backward_input(grad_out, weight, input_hw, padding):
    """dL/dx by (W6): the correlation of grad_out (N, C_out, H_out, W_out), zero-padded by
    ``2 - PH`` and ``2 - PW``, with the kernel rotated by 180 degrees and its channels swapped,
    ``weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)``: weight (C_out, C_in, 3, 3), input_hw
    (H_in, W_in) -> (N, C_in, H_in, W_in)."""
    PH, PW = padding
    no_bias = np.zeros(weight.shape[1], dtype=grad_out.dtype)
    return _correlate(grad_out, weight, True, no_bias, (2 - PH, 2 - PW),
                      input_hw)


def conv2d_backward_weight(grad_out, x, padding):
    """dL/dweight by (W7): grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in), padding
    (PH, PW) -> (C_out, C_in, 3, 3). The sums over tiles run in _CHUNKS independent chunks,
    added at the end, and ``G^T S G`` maps the 6 x 6 sums back to the 3 x 3 kernel in float64."""
    (C_out, H_out, W_out), C_in = grad_out.shape[1:], x.shape[1]
    tiles_h, tiles_w = _tiles(H_out), _tiles(W_out)
    x_last = channels_last(x, padding, (TILE * tiles_h + 2, TILE * tiles_w + 2))
    g_last = channels_last(grad_out, (0, 0), (TILE * tiles_h, TILE * tiles_w))
    S = np.zeros((_CHUNKS, 36, C_in, C_out), dtype=x.dtype)
    _weight_gradient_chunks(x_last, g_last, S)
    S = S.sum(axis=0, dtype=np.float64).reshape(36, C_in * C_out)
    grad_w = (np.kron(G, G).T @ S).reshape(3, 3, C_in, C_out)  # G^T S G, (W7)
    return np.ascontiguousarray(grad_w.transpose(3, 2, 0, 1), dtype=x.dtype)
