"""Winograd F(4x4, 3x3) in NumPy: tiles as strided views, transforms as small matrix products,
the element-wise stage as one batched BLAS matmul per direction (36 products).

Same functions, signatures, shapes and equations ((W1) to (W7) of ``docs/backprop.md``) as
:mod:`mint.kernels.winograd`, with its transform matrices. Tile ``(i, j)`` of image ``n`` reads
the 6 x 6 window at ``(4 i, 4 j)`` of the padded input, which has zeros after the input up to
``4 * tiles + 2`` rows and columns.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from mint.kernels.winograd import A_T, B_T, TILE, G


def _tiles(size):
    return -(-size // TILE)


def _patches(x, before, tiles_hw):
    """The 6 x 6 patches (N, C, tiles_h, tiles_w, 6, 6) of x (N, C, H, W) zero-padded by
    ``before`` (top, left) and after it up to 4 * tiles + 2 rows and columns (a strided view of
    one padded copy)."""
    (N, C, H, W), (top, left), (tiles_h, tiles_w) = x.shape, before, tiles_hw
    x_pad = np.zeros((N, C, TILE * tiles_h + 2, TILE * tiles_w + 2), dtype=x.dtype)
    x_pad[:, :, top:top + H, left:left + W] = x
    s = x_pad.strides
    return as_strided(x_pad, (N, C, tiles_h, tiles_w, 6, 6),
                      (s[0], s[1], TILE * s[2], TILE * s[3], s[2], s[3]), writeable=False)


def _transformed_patches(x, before, tiles_hw):
    """V (36, N * tiles_h * tiles_w, C) = B^T d B of every patch d (W3)."""
    B_Tx = B_T.astype(x.dtype)
    V = B_Tx @ _patches(x, before, tiles_hw) @ B_Tx.T  # (N, C, tiles_h, tiles_w, 6, 6)
    return V.transpose(4, 5, 0, 2, 3, 1).reshape(36, -1, x.shape[1])


def _transformed_kernel(weight):
    """U (36, C_in, C_out) = G weight G^T (W2), in float64 rounded once to weight's dtype."""
    U = G @ weight.astype(np.float64) @ G.T  # (C_out, C_in, 6, 6)
    return U.transpose(2, 3, 1, 0).reshape(36, weight.shape[1], -1).astype(weight.dtype)


def _correlate(x, U, bias, before, out_hw):
    """bias + the 3x3 correlation (W1) of x (N, C_in, H_in, W_in) zero-padded by ``before``,
    with U (36, C_in, C_out) -> (N, C_out, H_out, W_out)."""
    (N, H_out, W_out), C_out = (x.shape[0], *out_hw), U.shape[2]
    tiles_h, tiles_w = _tiles(H_out), _tiles(W_out)
    M = _transformed_patches(x, before, (tiles_h, tiles_w)) @ U  # (36, tiles, C_out)
    M = M.reshape(6, 6, N, tiles_h, tiles_w, C_out).transpose(2, 5, 3, 4, 0, 1)
    A_Tx = A_T.astype(x.dtype)
    Y = A_Tx @ M @ A_Tx.T  # (N, C_out, tiles_h, tiles_w, 4, 4)
    out = Y.transpose(0, 1, 2, 4, 3, 5).reshape(N, C_out, TILE * tiles_h, TILE * tiles_w)
    return np.ascontiguousarray(out[:, :, :H_out, :W_out]) + bias.reshape(-1, 1, 1)


def conv2d_forward(x, weight, bias, padding):
    """x (N, C_in, H_in, W_in), weight (C_out, C_in, 3, 3), bias (C_out,), padding (PH, PW)
    with PH, PW <= 2 -> (N, C_out, H_in + 2 * PH - 2, W_in + 2 * PW - 2), by (W1)."""
    (PH, PW), (H_in, W_in) = padding, x.shape[2:]
    return _correlate(x, _transformed_kernel(weight), bias, padding,
                      (H_in + 2 * PH - 2, W_in + 2 * PW - 2))


def conv2d_backward_input(grad_out, weight, input_hw, padding):
    """grad_out (N, C_out, H_out, W_out), weight (C_out, C_in, 3, 3), input_hw (H_in, W_in) ->
    (N, C_in, H_in, W_in): the correlation (W6) of grad_out padded by 2 - P with the rotated,
    channel-swapped kernel."""
    PH, PW = padding
    rotated = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    no_bias = np.zeros(weight.shape[1], dtype=grad_out.dtype)
    return _correlate(grad_out, _transformed_kernel(rotated), no_bias, (2 - PH, 2 - PW),
                      input_hw)


def conv2d_backward_weight(grad_out, x, padding):
    """grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in), padding (PH, PW) ->
    (C_out, C_in, 3, 3), by (W7): ``G^T (sum_t V[t]^T Z[t]) G`` with Z = A Y A^T of the output
    gradient's 4 x 4 tiles (zeros past the output)."""
    N, C_out, H_out, W_out = grad_out.shape
    tiles_h, tiles_w = _tiles(H_out), _tiles(W_out)
    V = _transformed_patches(x, padding, (tiles_h, tiles_w))  # (36, tiles, C_in)
    g_pad = np.zeros((N, C_out, TILE * tiles_h, TILE * tiles_w), dtype=grad_out.dtype)
    g_pad[:, :, :H_out, :W_out] = grad_out
    tiles = g_pad.reshape(N, C_out, tiles_h, TILE, tiles_w, TILE).transpose(0, 1, 2, 4, 3, 5)
    A_Tx = A_T.astype(grad_out.dtype)
    Z = A_Tx.T @ tiles @ A_Tx  # (N, C_out, tiles_h, tiles_w, 6, 6)
    Z = Z.transpose(4, 5, 0, 2, 3, 1).reshape(36, -1, C_out)
    S = (V.transpose(0, 2, 1) @ Z).astype(np.float64)  # (36, C_in, C_out)
    grad_w = G.T @ S.reshape(6, 6, -1).transpose(2, 0, 1) @ G  # (C_in * C_out, 3, 3)
    return np.ascontiguousarray(
        grad_w.reshape(x.shape[1], C_out, 3, 3).transpose(1, 0, 2, 3), dtype=x.dtype)
