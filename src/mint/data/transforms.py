"""What is done to image arrays: pixels scaled to floats in [0, 1], each channel standardised
by a training split's statistics, random augmentation of a batch."""

import numpy as np

from mint import _checks as check
from mint.functional import shift_flip


def _as_images(pixels: np.ndarray, peak: float) -> np.ndarray:
    """(N, H, W) pixel values in [0, peak] -> float32 (N, 1, H, W) in [0, 1]."""
    return (pixels.astype(np.float32) / np.float32(peak))[:, None, :, :]


def channel_statistics(images):
    """``{"mean": [...], "std": [...]}``: the per-channel mean and standard deviation of
    ``images`` (N, C, H, W), as floats, for :func:`normalize` (a channel that never varies gets
    a deviation of 1, so that normalising leaves it finite)."""
    mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
    std = images.std(axis=(0, 2, 3), dtype=np.float64)
    return {"mean": mean.tolist(), "std": np.where(std > 0, std, 1.0).tolist()}


def normalize(images, mean, std):
    """``(images - mean) / std`` per channel, float32."""
    shape = (1, -1, 1, 1)
    mean, std = (np.asarray(v, np.float32).reshape(shape) for v in (mean, std))
    return (images - mean) / std


def augment(images, rng, crop_padding=0, flip=False, *, strategy=None):
    """A randomly augmented copy of the image batch ``images`` (N, C, H, W), drawn from ``rng``.

    ``crop_padding=P`` takes from each image zero-padded by P pixels a random H x W crop
    (torchvision's ``RandomCrop(size, padding=P)``): a shift by ``dy, dx`` uniform in
    ``[-P, P]``, filled with zeros. ``flip`` mirrors each image left-right with probability
    1/2 (``RandomHorizontalFlip``): right for photographs, wrong for digits (a mirrored 3 is no
    digit). The draws come from the ``numpy.random.Generator`` ``rng`` (the shifts, (N, 2),
    then the N coin flips; only what is asked for), so a generator in the same state gives the
    same batch. With the defaults nothing is drawn and ``images`` itself is returned. The work
    is :func:`mint.functional.shift_flip`, a Numba kernel (or its NumPy twin).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"augment: rng must be a numpy.random.Generator, got "
                        f"{type(rng).__name__}")
    images = check.float_array("augment", "images", images, ndim=4)
    crop_padding = check.integer("augment", "crop_padding", crop_padding, 0)
    flip = check.boolean("augment", "flip", flip)
    if crop_padding == 0 and not flip:
        return images
    n = images.shape[0]
    shifts = (rng.integers(-crop_padding, crop_padding, size=(n, 2), endpoint=True)
              if crop_padding else np.zeros((n, 2), np.int64))
    flips = rng.random(n) < 0.5 if flip else np.zeros(n, bool)
    return shift_flip(images, shifts, flips, strategy=strategy)
