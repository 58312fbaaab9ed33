"""scikit-learn's bundled 8x8 digits, offline, in a fixed seeded train/test split."""

import numpy as np

from mint.data.transforms import _as_images

DIGITS_TEST_FRACTION = 0.2
_DIGITS_SPLIT_SEED = 0


def load_digits(split="train"):
    """scikit-learn's bundled 8x8 digits (1797 images) as ``(images, labels)``, offline.

    images: float32 (N, 1, 8, 8) in [0, 1]; labels: int64 (N,). The ``"train"`` and ``"test"``
    splits are a fixed, seeded 80/20 partition; ``"all"`` returns every image in sklearn's order.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"load_digits: split must be 'train', 'test' or 'all', got {split!r}")
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images, labels = _as_images(bunch.images, 16.0), bunch.target.astype(np.int64)
    if split == "all":
        return images, labels
    order = np.random.default_rng(_DIGITS_SPLIT_SEED).permutation(len(labels))
    n_test = int(round(DIGITS_TEST_FRACTION * len(labels)))
    chosen = order[:n_test] if split == "test" else order[n_test:]
    chosen.sort()
    return images[chosen], labels[chosen]
