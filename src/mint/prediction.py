"""``mint.predict``: the classes a saved model gives image files, read as its training read them."""

from pathlib import Path

import numpy as np

from mint import data
from mint.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from mint.functional import softmax


def predict(model, paths, top=1):
    """The ``top`` most probable classes of each image file in ``paths`` (a folder stands for
    the images in it and below) for the model saved in ``model`` (a checkpoint path, or a
    :class:`~mint.checkpoint.Checkpoint`).

    Each image is read as its training set was: converted to grayscale or RGB as the model
    takes, cropped to the model's aspect ratio around the centre and resized to its input
    size, standardised by the statistics the checkpoint stores. Returns a list of ``(path,
    [(class name, probability), ...])``, most probable first; the class names are the ones
    the checkpoint stores, else the class numbers. A file that is no image, or has transparent
    pixels, raises :class:`mint.data.DataError` naming it.
    """
    checkpoint = model if isinstance(model, Checkpoint) else load_checkpoint(model)
    network = checkpoint.build_model()
    classes, normalize = checkpoint.data_settings()
    num_classes = checkpoint.architecture.get("num_classes")
    classes = classes or [str(number) for number in range(num_classes)]
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= len(classes):
        raise ValueError(f"predict: top must be an int from 1 to the model's {len(classes)} "
                         f"classes, got {top!r}")
    in_shape = checkpoint.architecture.get("in_shape")
    if not in_shape:
        raise CheckpointError(f"{checkpoint.path}: its architecture has no in_shape")
    files = [file for path in ([paths] if isinstance(paths, str | Path) else paths)
             for file in data.image_files(path)]
    if not files:
        raise ValueError("predict: paths names no image")
    images = data.read_images(files, in_shape)
    if normalize:
        images = data.normalize(images, **normalize)
    network.eval()
    probabilities = softmax(network(images), 1)
    ranks = np.argsort(-probabilities, axis=1, kind="stable")[:, :top]
    return [(file, [(classes[k], float(row[k])) for k in order])
            for file, row, order in zip(files, probabilities, ranks, strict=True)]
