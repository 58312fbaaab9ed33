"""Batching: :class:`Batches` iterates over a data set in (shuffled, augmented) batches."""

import numpy as np


class Batches:
    """Iterate over ``(images[i:j], labels[i:j])`` batches, reshuffled on every pass.

    ``seed`` is an int, ``None`` (fresh entropy) or a ``numpy.random.Generator``, which is used
    as it is (so a caller that owns the generator can save and restore its state). With
    ``drop_last`` a final batch smaller than ``batch_size`` is skipped. ``augment``, a function
    ``(images, rng) -> images`` such as ``functools.partial(augment, crop_padding=2)``, is
    applied to each batch's images with the batches' generator (after the epoch's shuffle).
    """

    def __init__(self, images, labels, batch_size, shuffle=False, seed=None, drop_last=False,
                 augment=None):
        if len(images) != len(labels):
            raise ValueError(
                f"Batches: images and labels must have the same length, got {len(images)} "
                f"and {len(labels)}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Batches: batch_size must be a positive int, got {batch_size!r}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, bool(shuffle), bool(drop_last)
        if augment is not None and not callable(augment):
            raise TypeError(f"Batches: augment must be None or a function (images, rng) -> "
                            f"images, got {type(augment).__name__}")
        self.rng = np.random.default_rng(seed)
        self.augment = augment

    def __len__(self):
        full, rest = divmod(len(self.labels), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        n = len(self.labels)
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            index = slice(start, stop) if order is None else order[start:stop]
            images = self.images[index]
            if self.augment is not None:
                images = self.augment(images, self.rng)
            yield images, self.labels[index]
