"""Evaluation: the accuracy and mean loss of a model on ``(images, labels)``
(:func:`evaluate`, which :func:`mint.train.fit` runs after each epoch and
:func:`mint.distributed.evaluate` splits over processes), and the checks of such data against
a model's outputs.
"""

import warnings

import numpy as np

from mint.data import Batches


def check_data(caller, name, data):
    """``data`` as ``(images, labels)``: arrays of one length, float32/float64 images with a
    batch axis, integer labels (N,) >= 0; else a TypeError or ValueError saying what ``caller``
    expects of its argument ``name``. :func:`check_labels` checks them against the model."""
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(
            f"{caller}: {name} must be a pair (images, labels) of numpy arrays, images float "
            f"(N, C, H, W) and labels int (N,); got {type(data).__name__}"
        )
    images, labels = data
    for part, value in (("images", images), ("labels", labels)):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{caller}: {name} {part} must be a numpy.ndarray, got "
                            f"{type(value).__name__} (convert it with numpy.asarray)")
    if images.ndim < 2 or images.dtype not in (np.float32, np.float64):
        raise TypeError(f"{caller}: {name} images must be float32 or float64 with a batch axis, "
                        f"shape (N, ...); got {images.dtype} of shape {images.shape} (scale "
                        f"pixels to [0, 1] as mint.data does)")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise TypeError(f"{caller}: {name} labels must hold integers, shape (N,); got "
                        f"{labels.dtype} of shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{caller}: {name} has {len(images)} images but {len(labels)} labels")
    check_labels(caller, name, labels, None)
    return images, labels


def check_labels(caller, name, labels, classes):
    """Raise ValueError unless every label is a class index from 0 to ``classes - 1`` (the
    model's outputs; ``None``: only >= 0), naming the first one that is not."""
    bad = np.flatnonzero(labels < 0 if classes is None else (labels < 0) | (labels >= classes))
    if len(bad):
        allowed = ">= 0" if classes is None else (f"from 0 to {classes - 1} (the model has "
                                                  f"{classes} outputs)")
        raise ValueError(f"{caller}: {name} labels must be class indices {allowed}; label "
                         f"{bad[0]} is {labels[bad[0]]}")


def nonfinite_parameters(model):
    """Names of the parameters of ``model`` that hold a NaN or an infinity."""
    return [name for name, p in model.named_parameters() if not np.isfinite(p.data).all()]


def evaluate(model, data, loss_fn=None, batch_size=500):
    """Accuracy (and mean loss, given ``loss_fn``) of ``model`` on ``data = (images, labels)``.

    Runs in eval mode (no activations kept) and restores the model's mode. Returns a dict with
    ``accuracy``, ``loss`` (``None`` without ``loss_fn``) and ``predictions`` (int64 (N,)).
    Warns (RuntimeWarning) when a parameter is NaN or infinite: the predictions mean nothing.
    """
    images, labels = check_data("evaluate", "data", data)
    if len(labels) == 0:
        raise ValueError("evaluate: the data set is empty")
    nonfinite = nonfinite_parameters(model)
    if nonfinite:
        warnings.warn(f"evaluate: the model has NaN or infinite parameters "
                      f"({', '.join(nonfinite)}); its predictions mean nothing",
                      RuntimeWarning, stacklevel=2)
    was_training = model.training
    model.eval()
    predictions, total_loss = [], 0.0
    try:
        for x, y in Batches(images, labels, batch_size):
            logits = model(x)
            if not predictions:
                check_labels("evaluate", "data", labels, logits.shape[1])
            predictions.append(np.argmax(logits, axis=1))
            if loss_fn is not None:
                loss = loss_fn(logits, y)
                total_loss += loss * len(y) if getattr(loss_fn, "reduction", "mean") == "mean" \
                    else loss
    finally:
        model.train(was_training)
    predictions = np.concatenate(predictions).astype(np.int64)
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "loss": None if loss_fn is None else total_loss / len(labels),
        "predictions": predictions,
    }
