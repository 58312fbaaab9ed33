"""2-D convolution in NumPy: im2col windows and one BLAS matmul per direction and group.

Same functions, signatures, shapes and equations as :mod:`mint.kernels.conv2d`. The patch
matrix ("columns") of group ``g`` holds one flattened receptive field per output pixel:
``columns[g, (n, oh, ow), (ci, kh, kw)] = x_pad[n, g * C + ci, oh * SH + kh * DH, ow * SW + kw
* DW]`` with ``C = C_in / G``, of shape (G, N * H_out * W_out, K) with ``K = C * KH * KW``; the
weight of group ``g`` is ``weight[g * C_out / G:(g + 1) * C_out / G]`` (G1). With one group
these are the plain products of im2col.
"""

import numpy as np

from mint.vectorized.windows import sliding_windows


def _pad(x, padding):
    PH, PW = padding
    return np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))


def _columns(x, kernel_hw, stride, padding, dilation, groups, out_hw=None):
    """The patch matrices (G, N * H_out * W_out, K) of x (N, C_in, H_in, W_in): one copy of the
    window view, and the output size (H_out, W_out) (at most ``out_hw``, when given: the first
    rows and columns of windows)."""
    windows = sliding_windows(_pad(x, padding), kernel_hw, stride, dilation)
    if out_hw is not None:
        windows = windows[:, :, :out_hw[0], :out_hw[1]]
    N, C_in, H_out, W_out, KH, KW = windows.shape
    grouped = windows.reshape(N, groups, C_in // groups, H_out, W_out, KH, KW)
    columns = grouped.transpose(1, 0, 3, 4, 2, 5, 6).reshape(groups, N * H_out * W_out,
                                                             C_in // groups * KH * KW)
    return columns, (H_out, W_out)


def _grad_rows(grad_out, groups):
    """grad_out (N, C_out, H_out, W_out) as matrices (G, N * H_out * W_out, C_out / G)."""
    N, C_out, H_out, W_out = grad_out.shape
    grouped = grad_out.reshape(N, groups, C_out // groups, H_out * W_out)
    return grouped.transpose(1, 0, 3, 2).reshape(groups, N * H_out * W_out, C_out // groups)


def _group_matrices(weight, groups):
    """weight (C_out, C_in / G, KH, KW) as matrices (G, C_out / G, K)."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups):
    """x (N, C_in, H_in, W_in), weight (C_out, C_in / G, KH, KW), bias (C_out,) ->
    (N, C_out, H_out, W_out): ``columns[g] @ weight[g].T + bias[g]`` per group."""
    N, C_out = x.shape[0], weight.shape[0]
    columns, (H_out, W_out) = _columns(x, weight.shape[2:], stride, padding, dilation, groups)
    out = columns @ _group_matrices(weight, groups).transpose(0, 2, 1)
    out += bias.reshape(groups, 1, -1)
    out = out.reshape(groups, N, H_out, W_out, C_out // groups).transpose(1, 0, 4, 2, 3)
    return np.ascontiguousarray(out).reshape(N, C_out, H_out, W_out)


def conv2d_backward_input(grad_out, weight, input_hw, stride, padding, dilation, groups):
    """grad_out (N, C_out, H_out, W_out), weight (C_out, C_in / G, KH, KW), input_hw (H_in, W_in)
    -> (N, C_in, H_in, W_in).

    ``grad_columns[g] = grad_rows[g] @ weight[g]`` is dL/dcolumns; col2im then adds each kernel
    tap's slice back onto the padded input grid (a loop over the KH * KW taps, each a strided
    slice add over all pixels), and the padding is cut off. This equals the convolution of the
    padded, zero-inserted gradient with the rotated kernel used by the loop kernel.
    """
    N, C_out, H_out, W_out = grad_out.shape
    _, C_group, KH, KW = weight.shape
    (H_in, W_in), (SH, SW), (PH, PW), (DH, DW) = input_hw, stride, padding, dilation
    grad_columns = _grad_rows(grad_out, groups) @ _group_matrices(weight, groups)
    # (N, C_in, KH, KW, H_out, W_out): each tap's contribution as an image-shaped block.
    taps = grad_columns.reshape(groups, N, H_out, W_out, C_group, KH, KW).transpose(
        1, 0, 4, 5, 6, 2, 3).reshape(N, groups * C_group, KH, KW, H_out, W_out)
    grad_pad = np.zeros((N, groups * C_group, H_in + 2 * PH, W_in + 2 * PW),
                        dtype=grad_out.dtype)
    for kh in range(KH):
        rows = slice(kh * DH, kh * DH + (H_out - 1) * SH + 1, SH)
        for kw in range(KW):
            cols = slice(kw * DW, kw * DW + (W_out - 1) * SW + 1, SW)
            grad_pad[:, :, rows, cols] += taps[:, :, kh, kw]
    return np.ascontiguousarray(grad_pad[:, :, PH:PH + H_in, PW:PW + W_in])


def conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding, dilation, groups):
    """grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in), kernel_hw (KH, KW) ->
    (C_out, C_in / G, KH, KW): ``grad_rows[g].T @ columns[g]`` per group."""
    C_out, C_in = grad_out.shape[1], x.shape[1]
    columns, _ = _columns(x, kernel_hw, stride, padding, dilation, groups, grad_out.shape[2:])
    grad_w = _grad_rows(grad_out, groups).transpose(0, 2, 1) @ columns
    return grad_w.reshape(C_out, C_in // groups, *kernel_hw)


def conv2d_backward_bias(grad_out):
    """grad_out (N, C_out, H_out, W_out) -> (C_out,): the sum over batch and pixels."""
    return grad_out.sum(axis=(0, 2, 3))
