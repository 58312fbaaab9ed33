"""Layouts the convolution kernels (direct and Winograd) share: zero-padded and channels-last
copies of a batch, made into arrays kept from call to call, how to cut output channels into
parts for the parallel loops, and the direct convolution's transposed patch matrices (columns).

Shapes use the notation of :mod:`mint.kernels`. ``channels_last`` turns x (N, C, H, W) into
(N, rows, cols, C), so that each receptive field is a few contiguous runs of C values.
"""

import threading
from collections import OrderedDict

import numba
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def copy_channels_last(x, top, left, out):
    """``out[n, top + h, left + w, c] = x[n, c, h, w]``: x (N, C, H, W) into out (N, rows, cols,
    C). With few channels each image's planes are read in order, so the reads stream from
    memory (NumPy's transposed assignment read across the planes, and took 1.8x as long on a
    cold cache); with 8 or more, each pixel's channels are written in order instead, a
    contiguous run of ``out`` per pixel (reads of C planes at once): one thread, 64 x 16 x 28 x
    28 1.4x and 8 x 512 x 7 x 7 4.7x faster than plane by plane, 1 or 3 channels 1.2-3x slower.
    """
    N, C, H, W = x.shape
    # Race-free: iteration n writes only out[n].
    for n in prange(N):
        if C < 8:
            for c in range(C):
                for h in range(H):
                    for w in range(W):
                        out[n, top + h, left + w, c] = x[n, c, h, w]
        else:
            for h in range(H):
                for w in range(W):
                    for c in range(C):
                        out[n, top + h, left + w, c] = x[n, c, h, w]


# The padded and channels-last copies (and Winograd's transformed kernels) are made into arrays
# kept from call to call, per Python thread: a fresh 2 MB array took ~500 page faults when first
# written, which cost more than the copy itself (lenet's second forward 6.2 -> 4.9 ms on 2
# threads). The most recent ones are kept up to _KEPT_BYTES in all: a network's layers take
# their turns, so a budget smaller than one step's arrays would keep none of them (a ResNet-18
# step on 8 images uses 20 of them, 105 MB; a budget of 12 arrays made every call a new one).
_kept = threading.local()
_KEPT_BYTES = 512 * 2**20


def kept_zeros(key, shape, dtype):
    """An array of zeros made once per ``(key, shape, dtype)`` and handed out again on later
    calls. ``key`` names the region every caller overwrites in full; outside it the array stays
    zero, because nothing else writes to it (the kernels only read these copies, and no returned
    array is a view of one).
    """
    arrays = getattr(_kept, "arrays", None)
    if arrays is None:
        arrays = _kept.arrays = OrderedDict()
    key = (key, shape, np.dtype(dtype))
    array = arrays.pop(key, None)
    if array is None:
        array = np.zeros(shape, dtype=dtype)
    arrays[key] = array
    while len(arrays) > 1 and sum(kept.nbytes for kept in arrays.values()) > _KEPT_BYTES:
        arrays.popitem(last=False)
    return array


def padded(x, padding):
    """x (N, C, H, W) with ``padding`` (PH, PW) zero rows and columns on each side."""
    (N, C, H, W), (PH, PW) = x.shape, padding
    if PH == PW == 0:
        return x
    x_pad = kept_zeros(("padded", PH, PW), (N, C, H + 2 * PH, W + 2 * PW), x.dtype)
    x_pad[:, :, PH:PH + H, PW:PW + W] = x
    return x_pad


def channels_last(x, before_hw, rows_cols):
    """x (N, C, H, W) copied to zeros (N, rows, cols, C) at offset ``before_hw``:
    ``out[n, before_h + h, before_w + w, c] = x[n, c, h, w]``."""
    (N, C, H, W), (top, left) = x.shape, before_hw
    out = kept_zeros(("channels_last", top, left, H, W), (N, *rows_cols, C), x.dtype)
    copy_channels_last(x, top, left, out)
    return out


def channel_parts(channels, tasks, smallest):
    """How many equal parts to cut a kernel's ``channels`` output channels into, so that its
    ``tasks`` parallel iterations times the parts give every thread two or more: doubled while
    each part keeps at least ``smallest`` channels. 1 when the tasks suffice (a batch of large
    maps); more for a few small maps of many channels (ResNet-18's 512 x 7 x 7 at batch 8).
    Results do not depend on it: every output is the same sum, in the same order."""
    parts = 1
    while (tasks * parts < 2 * numba.get_num_threads() and channels % (2 * parts) == 0
           and channels // (2 * parts) >= smallest):
        parts *= 2
    return parts


@njit(cache=True)
def gather_columns(image_pad, top, kernel_hw, stride, dilation, columns, b):
    """Fill slot b of columns (C_in * KH * KW, B, H_out, W_out) with the transposed patch matrix
    of one padded image image_pad (C_in, H_in + 2 * PH, W_in + 2 * PW), from its row ``top``::

        columns[(ci, kh, kw), b, oh, ow] = image_pad[ci, top + oh * SH + kh * DH,
                                                     ow * SW + kw * DW]

    Indexed by b and top here rather than handed the views ``columns[:, b]`` or
    ``image_pad[:, top:]``: copies into or out of such strided views compiled to scalar loads
    and stores (a weight gradient's gathers 1.1-2.3x slower).
    """
    C_in = image_pad.shape[0]
    (KH, KW), (SH, SW), (DH, DW) = kernel_hw, stride, dilation
    H_out, W_out = columns.shape[2], columns.shape[3]
    for ci in range(C_in):
        for kh in range(KH):
            for kw in range(KW):
                k = (ci * KH + kh) * KW + kw
                if SW == 1:
                    # Each output row reads a contiguous run of the input row: a slice, which
                    # LLVM copies with vector loads and stores (1.4x faster than the view below).
                    for oh in range(H_out):
                        run = image_pad[ci, top + oh * SH + kh * DH, kw * DW:kw * DW + W_out]
                        row = columns[k, b, oh]
                        for ow in range(W_out):
                            row[ow] = run[ow]
                    continue
                # Tap (kh, kw) of every window, as a strided view indexed by (oh, ow) themselves:
                # computed indices would get Numba's negative-index checks, 1.5x slower here.
                taps = image_pad[ci, top + kh * DH:top + kh * DH + (H_out - 1) * SH + 1:SH,
                                 kw * DW:kw * DW + (W_out - 1) * SW + 1:SW]
                for oh in range(H_out):
                    for ow in range(W_out):
                        columns[k, b, oh, ow] = taps[oh, ow]


# Copies and fills as loops: a slice assignment (``a[:, b] = c``) takes seconds to compile.
@njit(cache=True)
def copy_image(src, first, dst, b):
    """dst[i, b, j, k] = src[first + i, j, k]: channels first, ... of src (C, H, W) into slot b
    of dst (C_part, B, H, W)."""
    for i in range(dst.shape[0]):
        for j in range(dst.shape[2]):
            for k in range(dst.shape[3]):
                dst[i, b, j, k] = src[first + i, j, k]


@njit(cache=True)
def zero_image(dst, b):
    """dst[i, b, j, k] = 0: slot b of dst (C, B, H, W)."""
    for i in range(dst.shape[0]):
        for j in range(dst.shape[2]):
            for k in range(dst.shape[3]):
                dst[i, b, j, k] = 0
