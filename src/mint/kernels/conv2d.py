"""2-D convolution (PyTorch's cross-correlation): forward and the three gradients, as Numba loops.

Shapes use the notation of :mod:`mint.kernels`. With ``x_pad`` the input zero-padded by
``(PH, PW)`` and ``K = C_in * KH * KW``, the forward is, for every ``(n, co, oh, ow)``::

    out[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} weight[co, ci, kh, kw]
                                      * x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]

Every kernel here is the same computation in disguise: gather, for one row of outputs, a patch
matrix whose rows are the flattened receptive fields, then take dot products of those rows with
the rows of a (possibly rearranged) weight matrix. :func:`_accumulate_dots` does the dot products
with a 2 x 4 block of scalar accumulators, so the inner loop is contiguous in both operands and
LLVM keeps the sums in vector registers (``fastmath`` lets it reorder the sums).
"""

import numpy as np
from numba import njit, prange

# The weight gradient sums over the batch in this many independent chunks, reduced at the end: a
# constant rather than the thread count, so results do not depend on the number of threads.
_BATCH_CHUNKS = 8

# --------------------------------------------------------------------------------- inner helpers


@njit(cache=True, fastmath=True)
def _accumulate_dots(a, b, out):
    """``out[j, m] += sum_k a[m, k] * b[j, k]``: a (M, K), b (J, K), out (J, M); a and b rows
    contiguous.

    Blocks of 2 rows of ``a`` by 4 rows of ``b`` share their loads: 6 loads feed 8 multiply-adds.
    At the ragged edge the block indices are clamped, so a block may compute the same dot product
    twice; both copies start from the same ``out`` value and write the same result.
    """
    M, K = a.shape
    J = b.shape[0]
    for j in range(0, J, 4):
        j0, j1, j2, j3 = j, min(j + 1, J - 1), min(j + 2, J - 1), min(j + 3, J - 1)
        for m in range(0, M, 2):
            m0, m1 = m, min(m + 1, M - 1)
            s00, s01, s02, s03 = out[j0, m0], out[j1, m0], out[j2, m0], out[j3, m0]
            s10, s11, s12, s13 = out[j0, m1], out[j1, m1], out[j2, m1], out[j3, m1]
            for k in range(K):
                a0, a1 = a[m0, k], a[m1, k]
                b0, b1, b2, b3 = b[j0, k], b[j1, k], b[j2, k], b[j3, k]
                s00 += a0 * b0
                s01 += a0 * b1
                s02 += a0 * b2
                s03 += a0 * b3
                s10 += a1 * b0
                s11 += a1 * b1
                s12 += a1 * b2
                s13 += a1 * b3
            out[j0, m0], out[j1, m0], out[j2, m0], out[j3, m0] = s00, s01, s02, s03
            out[j0, m1], out[j1, m1], out[j2, m1], out[j3, m1] = s10, s11, s12, s13


@njit(cache=True)
def _gather_input_row(x, n, oh, kernel_hw, stride, padding, dilation, W_out, patches):
    """Fill patches (W_out, K) with the receptive fields of output row ``oh`` of image ``n``:
    ``patches[ow, (ci, kh, kw)] = x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]``."""
    C_in, H_in, W_in = x.shape[1], x.shape[2], x.shape[3]
    (KH, KW), (SH, SW), (PH, PW), (DH, DW) = kernel_hw, stride, padding, dilation
    for ci in range(C_in):
        for kh in range(KH):
            ih = oh * SH + kh * DH - PH
            for kw in range(KW):
                k = (ci * KH + kh) * KW + kw
                for ow in range(W_out):
                    iw = ow * SW + kw * DW - PW
                    inside = 0 <= ih < H_in and 0 <= iw < W_in
                    patches[ow, k] = x[n, ci, ih, iw] if inside else 0


@njit(cache=True)
def _gather_grad_row(grad_out, n, h, kernel_hw, stride, padding, dilation, W_in, patches):
    """Fill patches (W_in, C_out * KH * KW) with the windows of the padded, zero-inserted output
    gradient that input row ``h`` sees (the equation is in :func:`conv2d_backward_input`):
    ``patches[w, (co, kh, kw)] = g_pad[n, co, h + PH + kh * DH, w + PW + kw * DW]``."""
    C_out, H_out, W_out = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    (KH, KW), (SH, SW), (PH, PW), (DH, DW) = kernel_hw, stride, padding, dilation
    for co in range(C_out):
        for kh in range(KH):
            # Row of the zero-inserted gradient, minus its DH * (KH - 1) rows of front padding.
            v = h + PH + (kh - KH + 1) * DH
            oh = v // SH
            row_hit = v >= 0 and v % SH == 0 and oh < H_out
            for kw in range(KW):
                k = (co * KH + kh) * KW + kw
                for w in range(W_in):
                    u = w + PW + (kw - KW + 1) * DW
                    ow = u // SW
                    hit = row_hit and u >= 0 and u % SW == 0 and ow < W_out
                    patches[w, k] = grad_out[n, co, oh, ow] if hit else 0


@njit(cache=True)
def _gather_input_image(x, n, kernel_hw, stride, padding, dilation, H_out, W_out, columns):
    """Fill columns (K, H_out * W_out), the transposed patch matrix of image ``n``::

        columns[(ci, kh, kw), oh * W_out + ow] = x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]
    """
    C_in, H_in, W_in = x.shape[1], x.shape[2], x.shape[3]
    (KH, KW), (SH, SW), (PH, PW), (DH, DW) = kernel_hw, stride, padding, dilation
    for ci in range(C_in):
        for kh in range(KH):
            for kw in range(KW):
                k = (ci * KH + kh) * KW + kw
                for oh in range(H_out):
                    ih = oh * SH + kh * DH - PH
                    for ow in range(W_out):
                        iw = ow * SW + kw * DW - PW
                        inside = 0 <= ih < H_in and 0 <= iw < W_in
                        columns[k, oh * W_out + ow] = x[n, ci, ih, iw] if inside else 0


# ---------------------------------------------------------------------------------------- kernels


@njit(parallel=True, cache=True)
def conv2d_forward(x, weight, bias, stride, padding, dilation):
    """Direct convolution, the equation in the module docstring.

    x (N, C_in, H_in, W_in), weight (C_out, C_in, KH, KW), bias (C_out,) -> (N, C_out, H_out,
    W_out). Each output row is ``patches @ weight.reshape(C_out, K).T + bias``.
    """
    N, C_in, H_in, W_in = x.shape
    C_out, _, KH, KW = weight.shape
    H_out = (H_in + 2 * padding[0] - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    W_out = (W_in + 2 * padding[1] - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    K = C_in * KH * KW
    weight_rows = weight.reshape(C_out, K)
    out = np.empty((N, C_out, H_out, W_out), dtype=x.dtype)
    # Race-free: iteration (n, oh) writes only out[n, :, oh, :] and its own patch buffer.
    for row in prange(N * H_out):
        n, oh = row // H_out, row % H_out
        patches = np.empty((W_out, K), dtype=x.dtype)
        _gather_input_row(x, n, oh, (KH, KW), stride, padding, dilation, W_out, patches)
        out_row = out[n, :, oh, :]
        for co in range(C_out):
            out_row[co, :] = bias[co]
        _accumulate_dots(patches, weight_rows, out_row)
    return out


@njit(parallel=True, cache=True)
def conv2d_backward_input(grad_out, weight, input_hw, stride, padding, dilation):
    """dL/dx as the convolution of the padded, zero-inserted output gradient with the
    180-degree-rotated, channel-swapped kernel (reference section 3.2.3, with padding removed).

    grad_out (N, C_out, H_out, W_out), weight (C_out, C_in, KH, KW), input_hw (H_in, W_in) ->
    (N, C_in, H_in, W_in). With ``rot[ci, co, kh, kw] = weight[co, ci, KH-1-kh, KW-1-kw]``::

        grad_x[n, ci, h, w] = sum_{co, kh, kw} g_pad[n, co, h + PH + kh * DH, w + PW + kw * DW]
                                               * rot[ci, co, kh, kw]

    where ``g_pad`` is grad_out with SH - 1 (SW - 1) zeros inserted between its rows (columns),
    then DH * (KH - 1) (DW * (KW - 1)) zero rows (columns) in front and zeros behind; the ``+ PH``
    removes the forward's padding. The zero-insertion is implicit: row ``v = h + PH + (kh - KH +
    1) * DH`` of the unpadded zero-inserted map is grad_out row ``v // SH`` when ``v >= 0``, ``v
    % SH == 0`` and ``v // SH < H_out``, and zero otherwise (likewise for columns). Rows and
    columns no window reaches (stride not dividing) thus get zero gradient.
    """
    N, C_out, H_out, W_out = grad_out.shape
    _, C_in, KH, KW = weight.shape
    H_in, W_in = input_hw
    # rot_rows[ci, (co, kh, kw)] = weight[co, ci, KH - 1 - kh, KW - 1 - kw]
    rot_rows = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    rot_rows = rot_rows.reshape(C_in, C_out * KH * KW)
    grad_x = np.empty((N, C_in, H_in, W_in), dtype=grad_out.dtype)
    # Race-free: iteration (n, h) writes only grad_x[n, :, h, :] and its own patch buffer.
    for row in prange(N * H_in):
        n, h = row // H_in, row % H_in
        patches = np.empty((W_in, C_out * KH * KW), dtype=grad_out.dtype)
        _gather_grad_row(grad_out, n, h, (KH, KW), stride, padding, dilation, W_in, patches)
        grad_row = grad_x[n, :, h, :]
        grad_row[:, :] = 0
        _accumulate_dots(patches, rot_rows, grad_row)
    return grad_x


@njit(parallel=True, cache=True)
def conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding, dilation):
    """dL/dweight as the convolution of the padded input with the zero-inserted output gradient
    (reference section 3.2.1): grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in),
    kernel_hw (KH, KW) -> (C_out, C_in, KH, KW)::

        grad_w[co, ci, kh, kw] = sum_{n, oh, ow} grad_out[n, co, oh, ow]
                                 * x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]

    i.e. the output gradient, zeros inserted for the stride, is the kernel slid over ``x_pad``
    with step ``(DH, DW)``. Per image, it is ``grad_out[n].reshape(C_out, -1) @ columns.T``.
    """
    N, C_out, H_out, W_out = grad_out.shape
    C_in = x.shape[1]
    KH, KW = kernel_hw
    K = C_in * KH * KW
    chunks = max(min(N, _BATCH_CHUNKS), 1)
    partial = np.zeros((chunks, C_out, K), dtype=x.dtype)
    # Race-free: chunk c handles images c, c + chunks, ... and writes only partial[c].
    for c in prange(chunks):
        columns = np.empty((K, H_out * W_out), dtype=x.dtype)
        for n in range(c, N, chunks):
            _gather_input_image(x, n, kernel_hw, stride, padding, dilation, H_out, W_out, columns)
            grad_rows = grad_out[n].reshape(C_out, H_out * W_out)
            _accumulate_dots(columns, grad_rows, partial[c])
    return partial.sum(axis=0).reshape(C_out, C_in, KH, KW)


@njit(parallel=True, cache=True)
def conv2d_backward_bias(grad_out):
    """dL/dbias[co] = sum_{n, oh, ow} grad_out[n, co, oh, ow]: grad_out (N, C_out, H_out, W_out)
    -> (C_out,) (reference section 3.1.2)."""
    N, C_out = grad_out.shape[0], grad_out.shape[1]
    grad_b = np.zeros(C_out, dtype=grad_out.dtype)
    # Race-free: iteration co writes only grad_b[co].
    for co in prange(C_out):
        total = grad_b[co]
        for n in range(N):
            total += grad_out[n, co].sum()
        grad_b[co] = total
    return grad_b
