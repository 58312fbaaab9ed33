"""Layouts the convolution kernels (direct and Winograd) share: zero-padded and channels-last
copies of a batch, made into arrays kept from call to call, and how to cut output channels into
parts for the parallel loops.

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
    C). Each image's planes are read in order, so the reads stream from memory; NumPy's
    transposed assignment read across the planes, and took 1.8x as long on a cold cache."""
    N, C, H, W = x.shape
    # Race-free: iteration n writes only out[n].
    for n in prange(N):
        for c in range(C):
            for h in range(H):
                for w in range(W):
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
