"""The training loop: :func:`fit`, learning-rate schedules, the NaN stop, the files a run
writes; :func:`evaluate` (of :mod:`mint.evaluation`) is imported here too.

Data sets are ``(images, labels)`` pairs of arrays. A schedule is a function from the training
time in epochs (a float: 2.5 is half-way through the third epoch) to a learning rate, so a run
resumed at any epoch boundary follows exactly the schedule of an uninterrupted one.
"""

import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from mint import distributed as dist
from mint.checkpoint import save_checkpoint
from mint.data import Batches
from mint.evaluation import check_data, check_labels, evaluate, nonfinite_parameters
from mint.files import write_atomically
from mint.interrupts import noting_interrupts
from mint.runtime import default_generator

HISTORY_FIELDS = (
    "epoch", "loss", "train_accuracy", "test_loss", "test_accuracy", "seconds",
    "images_per_second", "lr", "processes", "allreduce_ms",
)


# The history fields that may be None or absent (no test set, a run of one process, ...).
_OPTIONAL_FIELDS = ("test_loss", "test_accuracy", "lr", "processes", "allreduce_ms")


def check_history(history, epoch):
    """Raise ValueError, saying which row and field, unless ``history`` is what :func:`fit`
    records for a run that finished ``epoch`` epochs: rows of :data:`HISTORY_FIELDS` whose
    ``epoch`` counts up from 1 to at most ``epoch`` and whose other fields are numbers (or
    None, or absent, where a row may lack them)."""
    previous = 0
    for index, row in enumerate(history, 1):
        number = row.get("epoch")
        if isinstance(number, bool) or not isinstance(number, int) \
                or not previous < number <= epoch:
            raise ValueError(f"row {index}: 'epoch' must be an int from {previous + 1} to "
                             f"{epoch}, got {number!r:.40}")
        previous = number
        for key in HISTORY_FIELDS[1:]:
            value = row.get(key)
            if value is None and key in _OPTIONAL_FIELDS:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"row {index}: {key!r} must be a number, got {value!r:.40}")


class TrainingDiverged(RuntimeError):
    """The loss (or a parameter) became NaN or infinite; ``history`` holds the good epochs."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


# ------------------------------------------------------------------------------------ schedules


def constant_schedule(lr):
    """The same learning rate throughout."""
    return lambda t: lr


def step_schedule(lr, step_size, gamma=0.1):
    """``lr * gamma ** floor(t / step_size)``: multiply by ``gamma`` every ``step_size`` epochs
    (a float: 4 / 3 decays after a third and two thirds of a 4-epoch run)."""
    if step_size <= 0:
        raise ValueError(f"step_schedule: step_size must be > 0, got {step_size}")
    return lambda t: lr * gamma ** math.floor(t / step_size)


def cosine_schedule(lr, epochs, min_lr=0.0):
    """Half a cosine from ``lr`` at t = 0 down to ``min_lr`` at t = ``epochs``, per batch."""
    if epochs <= 0:
        raise ValueError(f"cosine_schedule: epochs must be > 0, got {epochs}")
    return lambda t: min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * min(t / epochs, 1)))


SCHEDULES = ("constant", "step", "cosine")


def make_schedule(name, lr, epochs, step_size=None, gamma=0.1, warmup=0.0):
    """One of :data:`SCHEDULES` by name, for a run of ``epochs``; "step" multiplies by
    ``gamma`` every ``step_size`` epochs (default: a third of the run, so twice). With
    ``warmup`` > 0 the lr first rises linearly from 0 to ``lr`` over ``warmup`` epochs (a float,
    shorter than the run), and the named schedule runs over the epochs left."""
    if not 0 <= warmup < epochs:
        raise ValueError(f"make_schedule: warmup must be >= 0 and shorter than the {epochs} "
                         f"epochs of the schedule, got {warmup}")
    epochs -= warmup
    if name == "constant":
        schedule = constant_schedule(lr)
    elif name == "step":
        schedule = step_schedule(lr, step_size or epochs / 3, gamma)
    elif name == "cosine":
        schedule = cosine_schedule(lr, epochs)
    else:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")
    if not warmup:
        return schedule
    return lambda t: lr * t / warmup if t < warmup else schedule(t - warmup)


# -------------------------------------------------------------------------------------- training


def _progress_disabled(progress):
    """tqdm's ``disable``: never in CI, else only on a terminal (``None`` lets tqdm check)."""
    return True if not progress or os.environ.get("CI") else None


def _warm_up(model, loss_fn, train, val):
    """A forward and backward pass on two images, and an eval-mode forward, so that kernels
    compiled on first use are compiled before an epoch's clock starts. Zeroes the gradients;
    the parameters are unchanged, and so are the buffers (BatchNorm's running statistics and
    counter) and Mint's generator (Dropout's masks): a run, or its resumption, trains as if
    the warm-up had not happened. The first forward's outputs (classes) are what the labels
    of ``train`` and ``val`` are checked against, before any work is spent."""
    images, labels = train
    buffers = [(buffer, buffer.data.copy()) for buffer in model.buffers()]
    generator = default_generator().bit_generator
    state = generator.state
    try:
        logits = model(images[:2])
        for name, data in (("train", train), ("val", val)):
            if data is not None:
                check_labels("fit", name, data[1], logits.shape[1])
        loss_fn(logits, labels[:2])
        model.backward_parameters(loss_fn.backward())
        model.zero_grad()
        model.eval()
        model(images[:2])
    finally:
        model.train()
        for buffer, data in buffers:
            buffer.data = data
        generator.state = state


def fit(model, loss_fn, optimizer, train, epochs, batch_size, val=None, *, schedule=None,
        seed=0, start_epoch=0, history=(), checkpoint=None, architecture=None, config=None,
        on_epoch=None, progress=True, augment=None, distributed=False):
    """Train ``model`` on ``train = (images, labels)`` up to epoch ``epochs``; returns the history.

    Each epoch shuffles ``train`` with ``seed`` (an int, or a ``numpy.random.Generator`` whose
    state a resumed run restores), takes an optimizer step per batch of ``batch_size``, then
    evaluates on ``val`` if given. ``schedule(t)`` sets ``optimizer.lr`` before every step.
    ``augment(images, rng)`` (e.g. ``functools.partial(mint.data.augment, crop_padding=2)``)
    transforms each training batch, drawing from the shuffling generator.
    Kernels are compiled (on two images) before the first epoch, out of its time.
    ``start_epoch`` and ``history`` continue a run that finished that many epochs.

    After each epoch, ``history`` (a list of dicts with :data:`HISTORY_FIELDS`) gains a row,
    ``on_epoch(history)`` is called, and, given a ``checkpoint`` path and the ``architecture``
    dict, a checkpoint is written there. If the loss or a parameter becomes NaN or infinite,
    training stops with :class:`TrainingDiverged`; the last checkpoint written stays as it was.

    With ``distributed`` (processes started by ``mpiexec``, see :mod:`mint.distributed`),
    ``batch_size`` is per process and each step is one over the global batch of all processes:
    rank 0's parameters are first copied to all, gradients are averaged over the global batch,
    ``val`` is split over the processes, and only rank 0 shows progress, calls ``on_epoch`` and
    writes the checkpoint; ``loss_fn`` must average over the batch. History rows give the
    number of ``processes`` and the mean time per step in ``Allreduce`` (``allreduce_ms``).
    """
    # Overflow on the way to a NaN is what the NaN stop reports, in one clear message.
    with np.errstate(over="ignore", invalid="ignore"), \
            noting_interrupts(raise_at_once=not distributed) as interrupted:
        history = _fit(model, loss_fn, optimizer, train, epochs, batch_size, val, schedule, seed,
                       start_epoch, history, checkpoint, architecture, config, on_epoch,
                       progress, augment, distributed, interrupted)
        if interrupted and not distributed:  # swallowed after the last step's check
            raise KeyboardInterrupt
        return history


def _fit(model, loss_fn, optimizer, train, epochs, batch_size, val, schedule, seed,
         start_epoch, history, checkpoint, architecture, config, on_epoch, progress, augment,
         distributed, interrupted):
    from tqdm import tqdm

    if checkpoint is not None and architecture is None:
        raise ValueError("fit: saving a checkpoint needs the model's architecture dict")
    train = check_data("fit", "train", train)
    if val is not None:
        check_data("fit", "val", val)
        if val[0].shape[1:] != train[0].shape[1:]:
            raise ValueError(f"fit: val images have shape {val[0].shape[1:]}, but train images "
                             f"{train[0].shape[1:]}; they must match")
    if len(train[1]) == 0:
        raise ValueError("fit: the training set is empty")
    rng = np.random.default_rng(seed)
    if distributed:
        if getattr(loss_fn, "reduction", "mean") != "mean":
            raise ValueError("fit: distributed training needs a loss_fn that averages over the "
                             "batch (reduction 'mean')")
        dist.broadcast_parameters(model)
        batches = dist.ShardedBatches(*train, batch_size, shuffle=True, seed=rng,
                                       augment=augment)
        main, processes = dist.is_main(), dist.world_size()
    else:
        batches = Batches(*train, batch_size, shuffle=True, seed=rng, augment=augment)
        main, processes = True, 1
    history = list(history)
    saved = None  # (epoch, path) of the last checkpoint this call wrote
    model.train()
    if start_epoch < epochs:
        _warm_up(model, loss_fn, train, val)
    for epoch in range(start_epoch, epochs):
        running_loss, correct, seen, allreduce_seconds = 0.0, 0, 0, 0.0
        start = time.perf_counter()
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False,
                   disable=_progress_disabled(progress and main), file=sys.stderr,
                   dynamic_ncols=True)
        for index, (x, y) in enumerate(bar):
            if schedule is not None:
                optimizer.lr = schedule(epoch + index / len(batches))
            optimizer.zero_grad()
            loss, right, count = *_forward_backward(model, loss_fn, x, y), len(y)
            stop = bool(interrupted)
            if distributed:
                started = time.perf_counter()
                loss, right, count, stop = dist.reduce_step(model, loss, right, count,
                                                            batches.global_size(index), stop)
                allreduce_seconds += time.perf_counter() - started
            if stop:  # a Ctrl-C swallowed on the way, or one of a distributed run
                bar.close()
                raise KeyboardInterrupt
            if not math.isfinite(loss):
                bar.close()
                raise _diverged(f"the loss became {loss} at epoch {epoch + 1}, batch "
                                f"{index + 1}", history, saved, optimizer)
            optimizer.step()
            running_loss += loss * count
            correct += right
            seen += count
            elapsed = time.perf_counter() - start
            bar.set_postfix({"loss": f"{running_loss / seen:.4f}", "acc": f"{correct / seen:.4f}",
                             "img/s": f"{seen / max(elapsed, 1e-9):.0f}"}, refresh=False)
        bar.close()
        seconds = time.perf_counter() - start
        if nonfinite_parameters(model):
            raise _diverged(f"a parameter became NaN or infinite in epoch {epoch + 1}", history,
                            saved, optimizer)
        row = {
            "epoch": epoch + 1,
            "loss": running_loss / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "test_loss": None,
            "test_accuracy": None,
            "seconds": seconds,
            "images_per_second": seen / max(seconds, 1e-9),
            "lr": optimizer.lr,
            "processes": processes,
            "allreduce_ms": 1000 * allreduce_seconds / len(batches) if distributed else None,
        }
        if val is not None:
            result = (dist.evaluate if distributed else evaluate)(model, val, loss_fn)
            row["test_loss"], row["test_accuracy"] = result["loss"], result["accuracy"]
        history.append(row)
        if checkpoint is not None and main:
            save_checkpoint(checkpoint, model, architecture, optimizer=optimizer,
                            epoch=epoch + 1, rng=rng, history=history, config=config)
            saved = (epoch + 1, checkpoint)
        if on_epoch is not None and main:
            on_epoch(history)
    return history


def _forward_backward(model, loss_fn, x, y):
    """Forward and backward pass of one batch: ``(mean loss, images classified right)``, with
    the loss's gradient added into the parameters' ``grad``. An empty batch (a process's part
    of a short last batch) adds nothing and gives ``(0.0, 0)``."""
    if len(y) == 0:
        return 0.0, 0
    logits = model(x)
    loss = loss_fn(logits, y)
    model.backward_parameters(loss_fn.backward())  # the data needs no gradient
    return loss, int(np.sum(np.argmax(logits, axis=1) == y))


def _diverged(what, history, saved, optimizer):
    if saved is None:
        kept = "this run wrote no checkpoint"
    else:
        kept = f"the checkpoint of epoch {saved[0]} is kept at {saved[1]}"
    advice = "Try a smaller learning rate"
    weight_decay = getattr(optimizer, "weight_decay", 0)
    if weight_decay:
        advice += f" or weight decay (lr {optimizer.lr:g}, weight decay {weight_decay:g})"
    return TrainingDiverged(f"training stopped: {what}; {kept}. {advice}.", history)


# ------------------------------------------------------------------------------------- reporting


def write_metrics(history, path):
    """Write ``history`` as CSV, one row per epoch with :data:`HISTORY_FIELDS` as columns
    (atomically: a reader sees the old file or the new one)."""
    lines = [",".join(HISTORY_FIELDS)]
    for row in history:
        cells = ("" if row.get(key) is None else f"{row[key]:.6g}" for key in HISTORY_FIELDS)
        lines.append(",".join(cells))
    text = "\n".join(lines) + "\n"
    write_atomically(path, lambda file: file.write(text.encode()))


def load_pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported only when plotting)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_curves(history, path):
    """Plot loss and accuracy per epoch (training and test) side by side into ``path``."""
    plt = load_pyplot()
    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for axes, key, label in ((loss_axes, "loss", "loss"), (accuracy_axes, "accuracy", "accuracy")):
        train_key = "loss" if key == "loss" else "train_accuracy"
        axes.plot(epochs, [row[train_key] for row in history], "o-",
                  label=f"training {label} (mean over the epoch)")
        tested = [row for row in history if row.get(f"test_{key}") is not None]
        if tested:
            axes.plot([row["epoch"] for row in tested], [row[f"test_{key}"] for row in tested],
                      "s-", label=f"test {label}")
        axes.set_xlabel("epoch")
        axes.set_ylabel("cross-entropy loss" if key == "loss" else "accuracy")
        axes.set_title(f"{label} per epoch")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend()
    loss_axes.set_yscale("log")
    _save_figure(plt, figure, path)


def save_confusion(matrix, path, title):
    """Draw a confusion matrix (rows: true class, columns: predicted) with counts into ``path``."""
    plt = load_pyplot()
    matrix = np.asarray(matrix)
    classes = range(matrix.shape[0])
    figure, axes = plt.subplots(figsize=(6, 5.4), layout="constrained")
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, label="images")
    threshold = matrix.max() / 2
    for true in classes:
        for predicted in classes:
            count = matrix[true, predicted]
            axes.text(predicted, true, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > threshold else "black")
    axes.set_xticks(list(classes))
    axes.set_yticks(list(classes))
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title)
    _save_figure(plt, figure, path)


def _save_figure(plt, figure, path):
    """Save ``figure`` atomically to ``path``, in the format its suffix names (default PNG)."""
    try:
        write_atomically(path, lambda file: figure.savefig(
            file, dpi=120, format=Path(path).suffix.lstrip(".") or "png"))
    finally:
        plt.close(figure)
