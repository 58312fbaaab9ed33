"""Data augmentation of an image batch with NumPy: one gather from the zero-padded batch.

Same function, shapes and equation (U1) as :mod:`mint.kernels.augment`: images (N, C, H, W);
shifts int64 (N, 2), the ``(dy, dx)`` of each image; flips bool (N,).
"""

import numpy as np


def shift_flip(images, shifts, flips):
    """(U1): each image shifted by ``shifts[n]`` with zero fill, then mirrored if ``flips[n]``;
    a new array (N, C, H, W) of the images' dtype."""
    N, C, H, W = images.shape
    pad = int(np.abs(shifts).max(initial=0))
    padded = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # Source row and column of every output pixel, in the padded image: (N, H) and (N, W).
    rows = np.arange(H) + shifts[:, :1] + pad
    columns = np.where(flips[:, None], np.arange(W)[::-1], np.arange(W)) + shifts[:, 1:] + pad
    return padded[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None],
                  rows[:, None, :, None], columns[:, None, None, :]]
