"""Data augmentation of image batches: shift with zero fill, and horizontal mirror.

Not an op of a network (nothing flows back through it): :func:`mint.data.augment` draws the
random shifts and mirrors and calls :func:`shift_flip`, which validates them and dispatches to
the kernels like every op.
"""

import numpy as np

from mint import _checks as check
from mint.strategy import resolve


def shift_flip(images, shifts, flips, *, strategy=None):
    """Each image shifted by ``shifts[n] = (dy, dx)`` pixels with zero fill, then mirrored
    left-right where ``flips[n]``: (U1), ``out[n, c, y, x] = images[n, c, y + dy, x' + dx]``
    with ``x' = W - 1 - x`` for a mirrored image, else ``x``, and 0 outside the image.

    images (N, C, H, W) float32/float64; shifts (N, 2) integers; flips (N,) bool. Returns a new
    array like images. A shift by ``(dy, dx)`` is the H x W crop at ``(P + dy, P + dx)`` of the
    image zero-padded by ``P >= |dy|, |dx|``.
    """
    kernels = resolve(strategy)
    images = check.float_array("shift_flip", "images", images, ndim=4)
    n = images.shape[0]
    for name, array, kinds, shape, what in (("shifts", shifts, "iu", (n, 2), "integers"),
                                            ("flips", flips, "b", (n,), "bools")):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"shift_flip: {name} must be a numpy.ndarray, got "
                            f"{type(array).__name__}")
        if array.dtype.kind not in kinds:
            raise TypeError(f"shift_flip: {name} must hold {what}, got dtype {array.dtype}")
        if array.shape != shape:
            raise ValueError(f"shift_flip: {name} must have shape {shape} for {n} images, got "
                             f"{array.shape}")
    shifts = np.ascontiguousarray(shifts, dtype=np.int64)
    return kernels.augment.shift_flip(images, shifts, np.ascontiguousarray(flips))
