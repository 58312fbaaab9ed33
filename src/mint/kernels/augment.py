"""Data augmentation of an image batch, as Numba loops: per image, a shift with zero fill (a
random crop of the zero-padded image) and a horizontal mirror.

Shapes (see :mod:`mint.kernels`): images and out (N, C, H, W); shifts int64 (N, 2), the
``(dy, dx)`` of each image; flips bool (N,). The equation, (U1) in ``docs/backprop.md``, is

    out[n, c, y, x] = images[n, c, y + dy_n, x' + dx_n],   x' = W - 1 - x if flips[n] else x

with 0 where ``(y + dy_n, x' + dx_n)`` falls outside the image. The H x W crop at offset
``(P + dy, P + dx)`` of an image zero-padded by P pixels on each side is this shift, and the
mirror is applied to the crop, as torchvision's ``RandomCrop`` then ``RandomHorizontalFlip``.
"""

import numpy as np
from numba import njit, prange


def shift_flip(images, shifts, flips):
    """(U1): each image shifted by ``shifts[n]`` with zero fill, then mirrored if ``flips[n]``;
    a new array (N, C, H, W) of the images' dtype."""
    out = np.empty_like(images)
    _shift_flip(images, shifts, flips, out)
    return out


@njit(parallel=True, cache=True)
def _shift_flip(images, shifts, flips, out):
    N, C, H, W = images.shape
    for n in prange(N):  # an iteration writes only image n
        dy, dx = shifts[n, 0], shifts[n, 1]
        for c in range(C):
            for y in range(H):
                source_y = y + dy
                row_inside = source_y >= 0 and source_y < H
                for x in range(W):
                    source_x = (W - 1 - x if flips[n] else x) + dx
                    if row_inside and source_x >= 0 and source_x < W:
                        out[n, c, y, x] = images[n, c, source_y, source_x]
                    else:
                        out[n, c, y, x] = 0
