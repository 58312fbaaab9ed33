"""Strided window views shared by the vectorized convolution and pooling (im2col without a copy)."""

from numpy.lib.stride_tricks import sliding_window_view


def sliding_windows(x_padded, kernel_hw, stride, dilation):
    """Every window of a padded input, as a read-only view (no copy).

    x_padded (N, C, H_pad, W_pad), already padded by the caller (zeros for convolution, ``-inf``
    for max-pooling). Returns a view (N, C, H_out, W_out, KH, KW) with

        view[n, c, i, j, p, q] = x_padded[n, c, i * SH + p * DH, j * SW + q * DW]

    and ``H_out = (H_pad - DH * (KH - 1) - 1) // SH + 1`` (likewise ``W_out``): only windows that
    fit inside ``x_padded`` exist.
    """
    (KH, KW), (SH, SW), (DH, DW) = kernel_hw, stride, dilation
    span_h, span_w = DH * (KH - 1) + 1, DW * (KW - 1) + 1
    # A window of the full span, then every DH-th / DW-th tap of it and every SH-th / SW-th window.
    spans = sliding_window_view(x_padded, (span_h, span_w), axis=(2, 3))
    return spans[:, :, ::SH, ::SW, ::DH, ::DW]
