"""2-D convolution (PyTorch's cross-correlation): forward and the three gradients, as Numba loops.

Shapes use the notation of :mod:`mint.kernels`. With ``x_pad`` the input zero-padded by
``(PH, PW)``, the forward is, for every ``(n, co, oh, ow)``::

    out[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} weight[co, ci, kh, kw]
                                      * x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]

The forward and the input gradient are both this correlation (the input gradient on the padded,
zero-inserted output gradient with the rotated kernel), so they share :func:`_correlate_row`.
For speed, the map being slid over is first copied once into a padded channels-last array
``(N, rows, cols, C)``: then each receptive field is ``KH * KW`` contiguous runs of ``C``
values, gathered into a small patch matrix per output row, and the sums become dot products of
contiguous rows in :func:`_accumulate_dots`, which LLVM vectorises with the sums held in
registers (``fastmath`` lets it reorder them).
"""

import numpy as np
from numba import njit, prange

# The weight gradient sums over the batch in this many independent chunks, reduced at the end: a
# constant rather than the thread count, so results do not depend on the number of threads.
_BATCH_CHUNKS = 8
# Below this receptive-field length K = C_in * KH * KW, the forward takes a whole image per step
# through _accumulate_outer: dot products of length K are too short to vectorise well.
_SHORT_K = 64
# Below this many input channels (a first layer's 1 or 3), the input gradient scatters each
# output gradient plane through _scatter_image: the gather form would copy a patch of
# C_out * KH * KW values for every C_in (< 4) dot products of that length, more copying than
# arithmetic.
_FEW_CHANNELS = 4

# --------------------------------------------------------------------------------- inner helpers


@njit(cache=True, fastmath=True)
def _accumulate_dots(a, b, out):
    """``out[j, m] += sum_k a[m, k] * b[j, k]``: a (M, K), b (J, K), out (J, M); a and b rows
    contiguous.

    Blocks of 2 rows of ``a`` by 4 rows of ``b`` share their loads: 6 loads feed 8 multiply-adds.
    An odd last row of ``a`` is clamped, so that block computes one dot product twice; both
    copies start from the same ``out`` value and write the same result. The last ``J % 4`` rows
    of ``b`` take one dot product at a time.
    """
    M, K = a.shape
    J = b.shape[0]
    J_blocked = J - J % 4
    for j in range(0, J_blocked, 4):
        for m in range(0, M, 2):
            m1 = min(m + 1, M - 1)
            s00, s01, s02, s03 = out[j, m], out[j + 1, m], out[j + 2, m], out[j + 3, m]
            s10, s11, s12, s13 = out[j, m1], out[j + 1, m1], out[j + 2, m1], out[j + 3, m1]
            for k in range(K):
                a0, a1 = a[m, k], a[m1, k]
                b0, b1, b2, b3 = b[j, k], b[j + 1, k], b[j + 2, k], b[j + 3, k]
                s00 += a0 * b0
                s01 += a0 * b1
                s02 += a0 * b2
                s03 += a0 * b3
                s10 += a1 * b0
                s11 += a1 * b1
                s12 += a1 * b2
                s13 += a1 * b3
            out[j, m], out[j + 1, m], out[j + 2, m], out[j + 3, m] = s00, s01, s02, s03
            out[j, m1], out[j + 1, m1], out[j + 2, m1], out[j + 3, m1] = s10, s11, s12, s13
    for j in range(J_blocked, J):
        for m in range(M):
            total = out[j, m]
            for k in range(K):
                total += a[m, k] * b[j, k]
            out[j, m] = total


@njit(cache=True, fastmath=True)
def _accumulate_outer(b, columns, out):
    """``out[j, p] += sum_k b[j, k] * columns[k, p]``: b (J, K), columns (K, P), out (J, P) with
    contiguous rows.

    The transposed twin of :func:`_accumulate_dots`, for short ``K`` (a first layer's ``C_in = 1``
    gives ``K = KH * KW``), where dot products of length ``K`` vectorise badly: the inner loop
    runs along the long pixel axis instead, updating 4 output rows per load of ``columns``.
    """
    J, K = b.shape
    P = columns.shape[1]
    J_blocked = J - J % 4
    for j in range(0, J_blocked, 4):
        for k in range(K):
            b0, b1, b2, b3 = b[j, k], b[j + 1, k], b[j + 2, k], b[j + 3, k]
            for p in range(P):
                value = columns[k, p]
                out[j, p] += b0 * value
                out[j + 1, p] += b1 * value
                out[j + 2, p] += b2 * value
                out[j + 3, p] += b3 * value
    for j in range(J_blocked, J):
        for k in range(K):
            b0 = b[j, k]
            for p in range(P):
                out[j, p] += b0 * columns[k, p]


@njit(cache=True)
def _spread_channels_last(src, n, origin, step, dst):
    """``dst[n, oh + i * sh, ow + j * sw, c] = src[n, c, i, j]`` for an ``origin`` (oh, ow) and
    ``step`` (sh, sw): the zero-filled dst (N, rows, cols, C) gets image ``n`` of src (N, C, H, W)
    padded (by the origin) and zero-inserted (by the step), channels last."""
    C, H, W = src.shape[1], src.shape[2], src.shape[3]
    for i in range(H):
        for j in range(W):
            for c in range(C):
                dst[n, origin[0] + i * step[0], origin[1] + j * step[1], c] = src[n, c, i, j]


@njit(cache=True)
def _correlate_row(src, n, r, origin, kernel_hw, stride, dilation, weight_rows, patches, out_row):
    """One output row of a correlation over a channels-last map, accumulated into out_row::

        out_row[j, c] += sum_{kh, kw, ci} weight_rows[j, (kh, kw, ci)]
                         * src[n, origin_h + r * SH + kh * DH, origin_w + c * SW + kw * DW, ci]

    src (N, rows, cols, C), weight_rows (J, KH * KW * C), out_row (J, cols_out); patches
    (cols_out, KH * KW * C) is scratch space, filled with the receptive fields of the row.
    """
    C = src.shape[3]
    (KH, KW), (SH, SW), (DH, DW) = kernel_hw, stride, dilation
    for c in range(out_row.shape[1]):
        for kh in range(KH):
            row = origin[0] + r * SH + kh * DH
            for kw in range(KW):
                col = origin[1] + c * SW + kw * DW
                start = (kh * KW + kw) * C
                patches[c, start:start + C] = src[n, row, col, :]
    _accumulate_dots(patches, weight_rows, out_row)


@njit(cache=True)
def _gather_columns(x_pad, n, kernel_hw, stride, dilation, columns):
    """Fill columns (C_in * KH * KW, H_out * W_out), the transposed patch matrix of image ``n``
    of x_pad (N, C_in, H_in + 2 * PH, W_in + 2 * PW)::

        columns[(ci, kh, kw), oh * W_out + ow] = x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]
    """
    C_in = x_pad.shape[1]
    (KH, KW), (SH, SW), (DH, DW) = kernel_hw, stride, dilation
    W_out = (x_pad.shape[3] - DW * (KW - 1) - 1) // SW + 1
    H_out = columns.shape[1] // W_out
    for ci in range(C_in):
        for kh in range(KH):
            for kw in range(KW):
                k = (ci * KH + kh) * KW + kw
                for oh in range(H_out):
                    row = oh * SH + kh * DH
                    for ow in range(W_out):
                        columns[k, oh * W_out + ow] = x_pad[n, ci, row, ow * SW + kw * DW]


@njit(cache=True, fastmath=True)
def _scatter_image(grad_out, n, weight, stride, dilation, grad_pad):
    """Equation (C6) in scatter form for image ``n``: every output-gradient pixel adds its
    weighted value to the input pixels its window read::

        grad_pad[ci, oh * SH + kh * DH, ow * SW + kw * DW] += weight[co, ci, kh, kw]
                                                              * grad_out[n, co, oh, ow]

    grad_out (N, C_out, H_out, W_out), weight (C_out, C_in, KH, KW), grad_pad (C_in,
    H_in + 2 * PH, W_in + 2 * PW): the input gradient with the forward's padding around it.
    Only real output pixels are visited, so a stride costs no multiply-adds on zeros.
    """
    C_out, C_in, KH, KW = weight.shape
    H_out, W_out = grad_out.shape[2], grad_out.shape[3]
    (SH, SW), (DH, DW) = stride, dilation
    for co in range(C_out):
        for ci in range(C_in):
            for kh in range(KH):
                for kw in range(KW):
                    value = weight[co, ci, kh, kw]
                    # The (H_out, W_out) pixels this tap reached, as a strided view indexed by
                    # (oh, ow) themselves: a computed index would get a negative-index check
                    # from Numba, which keeps LLVM from vectorising the loop.
                    target = grad_pad[ci, kh * DH:kh * DH + (H_out - 1) * SH + 1:SH,
                                      kw * DW:kw * DW + (W_out - 1) * SW + 1:SW]
                    for oh in range(H_out):
                        for ow in range(W_out):
                            target[oh, ow] += value * grad_out[n, co, oh, ow]


# ---------------------------------------------------------------------------------------- kernels


@njit(parallel=True, cache=True)
def conv2d_forward(x, weight, bias, stride, padding, dilation):
    """Direct convolution, the equation in the module docstring.

    x (N, C_in, H_in, W_in), weight (C_out, C_in, KH, KW), bias (C_out,) -> (N, C_out, H_out,
    W_out). For a long receptive field ``K = C_in * KH * KW``, x is first copied, padded, to
    channels-last ``x_last`` (N, H_in + 2 * PH, W_in + 2 * PW, C_in), the weight to rows
    ``weight_rows[co, (kh, kw, ci)]``, and each output row is a patch matrix times their
    transpose. For a short one, each image is ``weight.reshape(C_out, K) @ columns``.
    """
    N, C_in, H_in, W_in = x.shape
    C_out, _, KH, KW = weight.shape
    PH, PW = padding
    H_out = (H_in + 2 * PH - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    W_out = (W_in + 2 * PW - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    K = C_in * KH * KW
    out = np.empty((N, C_out, H_out, W_out), dtype=x.dtype)
    if K < _SHORT_K:
        # Race-free: iteration n writes only out[n] and its own buffers.
        for n in prange(N):
            x_pad = np.zeros((1, C_in, H_in + 2 * PH, W_in + 2 * PW), dtype=x.dtype)
            x_pad[0, :, PH:PH + H_in, PW:PW + W_in] = x[n]
            columns = np.empty((K, H_out * W_out), dtype=x.dtype)
            _gather_columns(x_pad, 0, (KH, KW), stride, dilation, columns)
            out_image = out[n].reshape(C_out, H_out * W_out)
            for co in range(C_out):
                out_image[co, :] = bias[co]
            _accumulate_outer(weight.reshape(C_out, K), columns, out_image)
        return out
    weight_rows = np.ascontiguousarray(weight.transpose(0, 2, 3, 1)).reshape(C_out, K)
    x_last = np.zeros((N, H_in + 2 * PH, W_in + 2 * PW, C_in), dtype=x.dtype)
    # Race-free: iteration n writes only x_last[n].
    for n in prange(N):
        _spread_channels_last(x, n, (PH, PW), (1, 1), x_last)
    # Race-free: iteration (n, oh) writes only out[n, :, oh, :] and its own patch buffer.
    for row in prange(N * H_out):
        n, oh = row // H_out, row % H_out
        out_row = out[n, :, oh, :]
        for co in range(C_out):
            out_row[co, :] = bias[co]
        patches = np.empty((W_out, K), dtype=x.dtype)
        _correlate_row(x_last, n, oh, (0, 0), (KH, KW), stride, dilation, weight_rows, patches,
                       out_row)
    return out


@njit(parallel=True, cache=True)
def conv2d_backward_input(grad_out, weight, input_hw, stride, padding, dilation):
    """dL/dx as the convolution of the padded, zero-inserted output gradient with the
    180-degree-rotated, channel-swapped kernel (reference section 3.2.3, padding removed).

    grad_out (N, C_out, H_out, W_out), weight (C_out, C_in, KH, KW), input_hw (H_in, W_in) ->
    (N, C_in, H_in, W_in). With fewer than 4 input channels, it scatters instead
    (:func:`_scatter_image`). Otherwise, with ``rot[ci, co, kh, kw] = weight[co, ci, KH-1-kh,
    KW-1-kw]``::

        grad_x[n, ci, h, w] = sum_{co, kh, kw} rot[ci, co, kh, kw]
                              * g_pad[n, co, PH + h + kh * DH, PW + w + kw * DW]

    ``g_pad`` is grad_out with SH - 1 zero rows inserted between its rows (SW - 1 zero columns
    between its columns), behind DH * (KH - 1) zero rows (DW * (KW - 1) columns) of padding and
    with zeros after it: ``g_pad[n, co, DH * (KH - 1) + oh * SH, DW * (KW - 1) + ow * SW] =
    grad_out[n, co, oh, ow]`` and zero elsewhere. It is materialised, channels last. Starting
    at row ``PH`` (column ``PW``) drops the forward's padding; rows and columns no window reached
    (stride not dividing) see only inserted zeros, so their gradient is zero.
    """
    N, C_out, H_out, W_out = grad_out.shape
    _, C_in, KH, KW = weight.shape
    # Separate unpacking: one nested 4-tuple assignment trips Numba's parallel array analysis.
    H_in, W_in = input_hw
    SH, SW = stride
    PH, PW = padding
    DH, DW = dilation
    if C_in < _FEW_CHANNELS:
        grad_x = np.empty((N, C_in, H_in, W_in), dtype=grad_out.dtype)
        # Race-free: iteration n writes only grad_x[n] and its own buffer.
        for n in prange(N):
            grad_pad = np.zeros((C_in, H_in + 2 * PH, W_in + 2 * PW), dtype=grad_out.dtype)
            _scatter_image(grad_out, n, weight, stride, dilation, grad_pad)
            grad_x[n] = grad_pad[:, PH:PH + H_in, PW:PW + W_in]
        return grad_x
    front_h, front_w = DH * (KH - 1), DW * (KW - 1)
    rows = max(PH + H_in + front_h, front_h + (H_out - 1) * SH + 1)
    cols = max(PW + W_in + front_w, front_w + (W_out - 1) * SW + 1)
    g_pad = np.zeros((N, rows, cols, C_out), dtype=grad_out.dtype)
    # Race-free: iteration n writes only g_pad[n].
    for n in prange(N):
        _spread_channels_last(grad_out, n, (front_h, front_w), (SH, SW), g_pad)
    # rot_rows[ci, (kh, kw, co)] = weight[co, ci, KH - 1 - kh, KW - 1 - kw]
    rotated = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 2, 3, 0))
    rot_rows = rotated.reshape(C_in, KH * KW * C_out)
    grad_x = np.zeros((N, C_in, H_in, W_in), dtype=grad_out.dtype)
    # Race-free: iteration (n, h) writes only grad_x[n, :, h, :] and its own patch buffer.
    for row in prange(N * H_in):
        n, h = row // H_in, row % H_in
        grad_row = grad_x[n, :, h, :]
        patches = np.empty((W_in, KH * KW * C_out), dtype=grad_out.dtype)
        _correlate_row(g_pad, n, h, (PH, PW), (KH, KW), (1, 1), dilation, rot_rows, patches,
                       grad_row)
    return grad_x


@njit(parallel=True, cache=True)
def conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding, dilation):
    """dL/dweight as the convolution of the padded input with the zero-inserted output gradient
    (reference section 3.2.1): grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in),
    kernel_hw (KH, KW) -> (C_out, C_in, KH, KW)::

        grad_w[co, ci, kh, kw] = sum_{n, oh, ow} grad_out[n, co, oh, ow]
                                 * x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]

    i.e. the output gradient, zeros inserted for the stride, is the kernel slid over ``x_pad``
    with step ``(DH, DW)``; skipping the inserted zeros leaves these sums. Per image, it is
    ``grad_out[n].reshape(C_out, -1) @ columns.T`` (see :func:`_gather_columns`).
    """
    N, C_out, H_out, W_out = grad_out.shape
    _, C_in, H_in, W_in = x.shape
    KH, KW = kernel_hw
    PH, PW = padding
    chunks = max(min(N, _BATCH_CHUNKS), 1)
    partial = np.zeros((chunks, C_out, C_in * KH * KW), dtype=x.dtype)
    # Race-free: chunk c handles images c, c + chunks, ... and writes only partial[c] and its
    # own buffers.
    for c in prange(chunks):
        x_pad = np.zeros((1, C_in, H_in + 2 * PH, W_in + 2 * PW), dtype=x.dtype)
        columns = np.empty((C_in * KH * KW, H_out * W_out), dtype=x.dtype)
        for n in range(c, N, chunks):
            x_pad[0, :, PH:PH + H_in, PW:PW + W_in] = x[n]
            _gather_columns(x_pad, 0, kernel_hw, stride, dilation, columns)
            grad_rows = grad_out[n].reshape(C_out, H_out * W_out)
            _accumulate_dots(columns, grad_rows, partial[c])
    return partial.sum(axis=0).reshape(C_out, C_in, KH, KW)


# reassoc: the sum may be reordered, so it vectorises instead of waiting on one add at a time.
@njit(parallel=True, cache=True, fastmath={"reassoc"})
def conv2d_backward_bias(grad_out):
    """dL/dbias[co] = sum_{n, oh, ow} grad_out[n, co, oh, ow]: grad_out (N, C_out, H_out, W_out)
    -> (C_out,) (reference section 3.1.2)."""
    N, C_out, H_out, W_out = grad_out.shape
    planes = grad_out.reshape(N, C_out, H_out * W_out)
    grad_b = np.zeros(C_out, dtype=grad_out.dtype)
    # Race-free: iteration co writes only grad_b[co].
    for co in prange(C_out):
        total = grad_b[co]
        for n in range(N):
            for p in range(planes.shape[2]):
                total += planes[n, co, p]
        grad_b[co] = total
    return grad_b
