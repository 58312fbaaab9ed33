"""2-D convolution in NumPy: im2col windows and one BLAS matmul per direction.

Same functions, signatures, shapes and equations as :mod:`mint.kernels.conv2d`. The patch
matrix ("columns") holds one flattened receptive field per output pixel:
``columns[(n, oh, ow), (ci, kh, kw)] = x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]``, of
shape (N * H_out * W_out, K) with ``K = C_in * KH * KW``.
"""

import numpy as np

from mint.vectorized.windows import sliding_windows


def _pad(x, padding):
    PH, PW = padding
    return np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))


def _columns(x, kernel_hw, stride, padding, dilation):
    """The patch matrix (N * H_out * W_out, K) of x (N, C_in, H_in, W_in): one copy of the
    window view, and the output size (H_out, W_out)."""
    windows = sliding_windows(_pad(x, padding), kernel_hw, stride, dilation)
    N, C_in, H_out, W_out, KH, KW = windows.shape
    columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C_in * KH * KW)
    return columns, (H_out, W_out)


def _grad_rows(grad_out):
    """grad_out (N, C_out, H_out, W_out) as a matrix (N * H_out * W_out, C_out)."""
    return grad_out.transpose(0, 2, 3, 1).reshape(-1, grad_out.shape[1])


def conv2d_forward(x, weight, bias, stride, padding, dilation):
    """x (N, C_in, H_in, W_in), weight (C_out, C_in, KH, KW), bias (C_out,) ->
    (N, C_out, H_out, W_out): ``columns @ weight.reshape(C_out, K).T + bias``."""
    N, C_out = x.shape[0], weight.shape[0]
    columns, (H_out, W_out) = _columns(x, weight.shape[2:], stride, padding, dilation)
    out = columns @ weight.reshape(C_out, -1).T
    out += bias
    return np.ascontiguousarray(out.reshape(N, H_out, W_out, C_out).transpose(0, 3, 1, 2))


def conv2d_backward_input(grad_out, weight, input_hw, stride, padding, dilation):
    """grad_out (N, C_out, H_out, W_out), weight (C_out, C_in, KH, KW), input_hw (H_in, W_in) ->
    (N, C_in, H_in, W_in).

    ``grad_columns = grad_rows @ weight.reshape(C_out, K)`` is dL/dcolumns; col2im then adds each
    kernel tap's slice back onto the padded input grid (a loop over the KH * KW taps, each a
    strided slice add over all pixels), and the padding is cut off. This equals the convolution
    of the padded, zero-inserted gradient with the rotated kernel used by the loop kernel.
    """
    N, C_out, H_out, W_out = grad_out.shape
    _, C_in, KH, KW = weight.shape
    (H_in, W_in), (SH, SW), (PH, PW), (DH, DW) = input_hw, stride, padding, dilation
    grad_columns = _grad_rows(grad_out) @ weight.reshape(C_out, -1)
    # (N, C_in, KH, KW, H_out, W_out): each tap's contribution as an image-shaped block.
    taps = grad_columns.reshape(N, H_out, W_out, C_in, KH, KW).transpose(0, 3, 4, 5, 1, 2)
    grad_pad = np.zeros((N, C_in, H_in + 2 * PH, W_in + 2 * PW), dtype=grad_out.dtype)
    for kh in range(KH):
        rows = slice(kh * DH, kh * DH + (H_out - 1) * SH + 1, SH)
        for kw in range(KW):
            cols = slice(kw * DW, kw * DW + (W_out - 1) * SW + 1, SW)
            grad_pad[:, :, rows, cols] += taps[:, :, kh, kw]
    return np.ascontiguousarray(grad_pad[:, :, PH:PH + H_in, PW:PW + W_in])


def conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding, dilation):
    """grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in), kernel_hw (KH, KW) ->
    (C_out, C_in, KH, KW): ``grad_rows.T @ columns``."""
    C_out, C_in = grad_out.shape[1], x.shape[1]
    columns, _ = _columns(x, kernel_hw, stride, padding, dilation)
    grad_w = _grad_rows(grad_out).T @ columns
    return grad_w.reshape(C_out, C_in, *kernel_hw)


def conv2d_backward_bias(grad_out):
    """grad_out (N, C_out, H_out, W_out) -> (C_out,): the sum over batch and pixels."""
    return grad_out.sum(axis=(0, 2, 3))
