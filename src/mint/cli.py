"""The ``mint`` command: ``mint train``, ``evaluate``, ``predict``, ``bench``, ``export`` and
``summary``.

Each subcommand is a pair of functions: ``_add_<name>_parser(subparsers)`` declares its options
and ``run_<name>(args)`` does the work and returns the exit status (0 success, 1 a failure the
message explains, 2 bad arguments, 130 interrupted, 141 quietly when the reader of the
output went away, as in ``mint evaluate ... | head -1``). Failures a user can fix print one
line, never a traceback; so do warnings, and an interrupt, which says what was saved.
"""

import argparse
import contextlib
import csv
import datetime
import functools
import io
import math
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

import numba
import numpy as np
from tqdm import tqdm

import mint
import mint.onnx
from mint import bench, data, distributed, files, models, nn, optim
from mint.checkpoint import CheckpointError, load_checkpoint
from mint.train import (
    SCHEDULES,
    TrainingDiverged,
    check_history,
    evaluate,
    fit,
    load_pyplot,
    make_schedule,
    nonfinite_parameters,
    save_confusion,
    save_curves,
    write_metrics,
)

# The choices of --dataset and --optimizer, their help and their defaults come from the
# registries data.DATASETS and optim.OPTIMIZERS.
DEFAULT_OPTIMIZER = "adam"
AUTO_DOWNLOAD_TIMEOUT = 5.0  # seconds: `mint train` offline must fall back to digits quickly
RESULT_FILES = ("model.npz", "metrics.csv", "curves.png")
BROKEN_PIPE = 141  # the exit status when stdout's reader went away: 128 + SIGPIPE, as shells say


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, pointing at ``--help``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------------- argument value types


def _number(kind, minimum, strict):
    """An argparse ``type``: a ``kind`` (int/float) > or >= ``minimum``, finite."""
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'} {bound}, got {text!r}"
            ) from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


positive_int = _number(int, 0, strict=True)
nonnegative_int = _number(int, 0, strict=False)
positive_float = _number(float, 0.0, strict=True)
nonnegative_float = _number(float, 0.0, strict=False)


def _below_one(number, interval):
    """An argparse ``type``: ``number`` (an argparse type) that must also be below 1, the error
    naming ``interval``."""
    def parse(text):
        value = number(text)
        if value >= 1:
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value

    return parse


_momentum = _below_one(nonnegative_float, "[0, 1)")
_fraction = _below_one(positive_float, "(0, 1)")


def _path(text):
    """An argparse ``type``: a path, ``~`` expanded (shells leave ``--out=~/x`` as it is)."""
    return Path(text).expanduser()


def _png_file(text):
    """An argparse ``type``: the path of a PNG file to write."""
    path = _path(text)
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"expected a file name ending in .png, got {text!r}")
    return path


def _png_file_or_folder(text):
    """An argparse ``type``: the path of a PNG file to write, or an existing folder."""
    path = _path(text)
    if path.suffix.lower() != ".png" and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"expected a folder or a file name ending in .png, got {text!r}"
        )
    return path


def _threads(text):
    value = positive_int(text)
    if value > numba.config.NUMBA_NUM_THREADS:
        raise argparse.ArgumentTypeError(
            f"must be at most {numba.config.NUMBA_NUM_THREADS} on this machine, got {text}"
        )
    return value


# ---------------------------------------------------------------------------------- data sets


def _add_data_options(parser, dataset_help, limit_help):
    parser.add_argument("--dataset", choices=("auto", *data.DATASETS), default="auto",
                        help=dataset_help + "; " + "; ".join(
                            f"{name}: {entry.summary}" for name, entry in data.DATASETS.items()))
    parser.add_argument(
        "--data-dir", metavar="DIR", type=_path,
        help="folder of the data set's files: the MNIST files (default: $MINT_DATA, else "
             "~/.cache/mint/mnist), Fashion-MNIST's (default: ~/.cache/mint/fashion-mnist), "
             "cifar-10-binary.tar.gz (default: ~/.cache/mint/cifar10), or for --dataset "
             "folder your images",
    )
    parser.add_argument(
        "--limit", metavar="N", type=positive_int,
        help=limit_help,
    )
    parser.add_argument("--strategy", choices=sorted(mint.STRATEGIES),
                        help="how ops compute: Numba loops or NumPy/BLAS (default: "
                             + ", ".join(f"{d.strategy} on {name}"
                                         for name, d in data.DATASETS.items()) + ")")
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for the kernels and BLAS (default: " + ", ".join(
                            f"{'all cores' if d.threads is None else d.threads} on {name}"
                            for name, d in data.DATASETS.items()) + ")")


def _resolve_dataset(name, data_dir):
    """``name`` itself, or for "auto": "mnist" when found or downloadable, else "digits"."""
    if name != "auto":
        return name
    if not data.missing_mnist_files(data_dir):
        return "mnist"
    try:
        for split in data.MNIST_SPLITS:
            data.load_mnist(data_dir, split, timeout=AUTO_DOWNLOAD_TIMEOUT)
    except data.DataError:
        print(f"MNIST is not in {data.mnist_dir(data_dir)} and could not be downloaded: "
              f"using the bundled 8x8 digits (--dataset mnist says why)")
        return "digits"
    return "mnist"


def _load(settings, data_dir, limit, checkpoint=None):
    """The training and test ``(images, labels)`` of the run ``settings`` describe (its data
    set, and for a folder its options): the first ``limit`` of each, standardised by
    ``settings["normalize"]``. A new run records its class names and, if its data set asks for
    it, the training split's statistics in ``settings``; a saved one (``checkpoint``) must find
    the classes it was trained on."""
    dataset = settings["dataset"]
    options = {}
    if dataset == "folder":
        options = {key: settings.get(key) for key in _FOLDER_OPTIONS}
        options["seed"] = settings.get("seed", 0)
    train, test, classes = data.DATASETS[dataset].load(data_dir, **options)
    if limit:
        train, test = ((images[:limit], labels[:limit]) for images, labels in (train, test))
    if checkpoint is None:
        settings["classes"] = list(classes)
        settings["normalize"] = (data.channel_statistics(train[0])
                                 if data.DATASETS[dataset].normalize else None)
    elif settings.get("classes", classes) != list(classes):
        raise data.DataError(f"{data_dir or dataset} holds the classes {', '.join(classes)}, but "
                             f"{checkpoint.path} was trained on "
                             f"{', '.join(settings['classes'])}")
    if settings.get("normalize"):
        train, test = ((data.normalize(images, **settings["normalize"]), labels)
                       for images, labels in (train, test))
    return train, test


@contextlib.contextmanager
def _compute_settings(strategy, threads):
    """Use ``strategy`` and ``threads`` inside the block, then restore the previous ones."""
    previous_threads = mint.get_num_threads()
    if threads is not None:
        mint.set_num_threads(threads)
    try:
        with mint.use_strategy(strategy):
            yield
    finally:
        if threads is not None:
            mint.set_num_threads(previous_threads)


# -------------------------------------------------------------------------------------- train

# The settings of a run, stored in its checkpoint; a resumed run keeps them.
_RUN_SETTINGS = ("dataset", "model", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
                 "schedule", "seed", "limit", "augment", "image_size", "channels", "val_fraction")
_FOLDER_OPTIONS = ("image_size", "channels", "val_fraction")  # of --dataset folder only
CROP_PADDING = 2  # pixels, for --augment crop: MNIST digits shifted by up to 2 pixels each way


def _augment_spec(text):
    """``--augment``: "none", or a comma-separated list of "crop", "crop=N" and "flip", as the
    canonical string a checkpoint stores ("crop=2,flip")."""
    parts = {}
    for item in (part.strip() for part in text.split(",")):
        name, _, value = item.partition("=")
        if name in parts:
            raise argparse.ArgumentTypeError(f"{name} is given twice in {text!r}")
        if name == "crop" and (not value or value.isdigit() and int(value) > 0):
            parts["crop"] = f"crop={int(value) if value else CROP_PADDING}"
        elif item in ("flip", "none"):
            parts[item] = item
        else:
            raise argparse.ArgumentTypeError(
                f"expected none, or a comma-separated list of crop, crop=N and flip, got {text!r}"
            )
    if "none" in parts and len(parts) > 1:
        raise argparse.ArgumentTypeError(f"none cannot be combined with other items: {text!r}")
    return ",".join(parts.get(key) for key in ("none", "crop", "flip") if key in parts)


def _augmentation(spec, images):
    """The ``augment`` function of :func:`mint.train.fit` that ``--augment spec`` asks for, on
    ``images`` (N, C, H, W); a crop that shifts them by half their side or more (leaving them
    mostly blank) is a usage error."""
    items = dict(item.partition("=")[::2] for item in spec.split(","))
    if "none" in items:
        return None
    crop, side = int(items.get("crop") or 0), min(images.shape[2:])
    if 2 * crop >= side:
        raise _UsageError(f"--augment crop={crop} shifts the {images.shape[2]}x{images.shape[3]} "
                          f"images by up to {crop} pixels, leaving many of them mostly blank; "
                          f"give crop=N with N below {-(-side // 2)} (half their side)")
    return functools.partial(data.augment, crop_padding=crop, flip="flip" in items)


def _add_train_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a network and save it, its metrics and its curves",
        description=(
            "Train a network on MNIST, Fashion-MNIST, CIFAR-10, scikit-learn's 8x8 digits or a "
            "folder of your own images (--dataset folder --data-dir DIR). Writes model.npz (a "
            "checkpoint), metrics.csv (one row per epoch) and curves.png to --out, and prints "
            "the final test accuracy. Options left out take per-data-set defaults: "
            + "; ".join(f"{name}: {_count(d.epochs, 'epoch')}, batch {d.batch_size}"
                        for name, d in data.DATASETS.items())
            + "; lr " + ", ".join(f"{entry.defaults['lr']:g} ({name})"
                                  for name, entry in optim.OPTIMIZERS.items())
            + "."
        ),
    )
    _add_train_options(parser)
    parser.set_defaults(handler=run_train)


def _add_train_options(parser):
    _add_data_options(parser, "auto (default): MNIST when found in the data folder or "
                              "downloadable, else the bundled digits",
                      "use only the first N training and N test images (for quick checks)")
    parser.add_argument("--image-size", metavar="N", type=positive_int,
                        help="--dataset folder: crop each image to its largest centred square "
                             "and resize it to N x N (default: the images as they are, which "
                             "must then have one size)")
    parser.add_argument("--channels", type=int, choices=(1, 3),
                        help="--dataset folder: 1 (grayscale) or 3 (RGB) (default: 1 when "
                             "every image is grayscale, else 3)")
    parser.add_argument("--val-fraction", metavar="X", type=_fraction,
                        help="--dataset folder without train/ and val/ sub-folders: the "
                             f"fraction of images kept for validation (default: "
                             f"{data.VAL_FRACTION:g}, drawn with --seed)")
    parser.add_argument("--model", choices=sorted(models.MODELS),
                        help="default: lenet; " + "; ".join(
                            f"{name} trains with batch {d['batch_size']}, lr {d['lr']:g} "
                            "unless told otherwise"
                            for name, d in models.TRAINING_DEFAULTS.items()))
    parser.add_argument("--epochs", metavar="N", type=positive_int,
                        help="total number of epochs (default: per data set, above; with "
                             "--resume: train up to this one; a finished run starts its "
                             "schedule again over the added epochs, an unfinished one's "
                             "schedule ends at the new total)")
    parser.add_argument("--batch-size", metavar="N", type=positive_int,
                        help="images per optimizer step (default: per data set, above)")
    parser.add_argument("--optimizer", choices=tuple(optim.OPTIMIZERS),
                        help="; ".join(f"{name}: {entry.summary}"
                                       for name, entry in optim.OPTIMIZERS.items())
                             + f" (default: {DEFAULT_OPTIMIZER})")
    parser.add_argument("--lr", metavar="X", type=positive_float,
                        help="initial learning rate (default: per optimizer, above)")
    parser.add_argument("--momentum", metavar="X", type=_momentum,
                        help="momentum (for " + ", ".join(
                            f"{name}: default {entry.defaults['momentum']:g}"
                            for name, entry in optim.OPTIMIZERS.items()
                            if "momentum" in entry.defaults) + "; the others take none)")
    parser.add_argument("--weight-decay", metavar="X", type=nonnegative_float,
                        help="weight decay: an L2 penalty added to the gradients, decoupled "
                        "from them for adamw (default: 0; adamw: 0.01, as PyTorch)")
    parser.add_argument("--schedule", choices=SCHEDULES,
                        help="learning rate per step: constant, step (x0.1 after the first and "
                             "the second third of the run) or cosine (default: cosine, down to "
                             "0 at the last step)")
    parser.add_argument("--seed", metavar="N", type=nonnegative_int,
                        help="seeds initialisation and shuffling (default: 0)")
    parser.add_argument("--augment", metavar="SPEC", type=_augment_spec,
                        help="random changes to each training batch, drawn from the seeded "
                             "shuffling generator: crop (shift by up to "
                             f"{CROP_PADDING} pixels each way with zero fill: a random crop of "
                             "the zero-padded image; crop=N for N pixels, N > 0 and below "
                             "half the image side), flip (mirror "
                             "left-right with probability 1/2: not for digits, a mirrored 3 is "
                             "no digit), e.g. crop or crop,flip (default: none)")
    parser.add_argument("--out", metavar="DIR", type=_path,
                        help="output folder (default: runs/<timestamp>; with --resume: the "
                             "checkpoint's folder); one that holds a run is refused")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run in --out (its files are deleted first)")
    parser.add_argument("--resume", metavar="FILE", type=_path,
                        help="continue the run saved in this model.npz, with its settings")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training over the processes of `mpiexec -n N mint "
                             "train --distributed` (needs mpi4py): --batch-size is per process, "
                             "--threads defaults to cores / processes on each machine")


@functools.cache
def _train_option_parser():
    """mint train's options alone, in a parser that raises ``argparse.ArgumentError`` on a bad
    value: what checks a setting read from a checkpoint (:func:`_saved_settings`)."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    _add_train_options(parser)
    return parser


def _train_settings(args, dataset, processes=1):
    """The run's settings: the arguments given, else the defaults for ``dataset``. Its
    ``batch_size`` is the images of one step over all ``processes``."""
    defaults = data.DATASETS[dataset]
    model_defaults = models.TRAINING_DEFAULTS.get(args.model or "lenet", {})
    optimizer = args.optimizer or DEFAULT_OPTIMIZER
    options = optim.OPTIMIZERS[optimizer].defaults
    if args.momentum is not None and "momentum" not in options:
        takers = [name for name, entry in optim.OPTIMIZERS.items() if "momentum" in entry.defaults]
        raise _UsageError(f"--momentum applies to --optimizer {' or '.join(takers)} only")
    for key in _FOLDER_OPTIONS:
        if getattr(args, key) is not None and dataset != "folder":
            raise _UsageError(f"--{key.replace('_', '-')} applies to --dataset folder only")
    return {
        "dataset": dataset,
        "model": args.model or "lenet",
        "epochs": args.epochs or defaults.epochs,
        "batch_size": (args.batch_size or model_defaults.get("batch_size")
                       or defaults.batch_size) * processes,
        "optimizer": optimizer,
        "lr": (args.lr or (None if args.optimizer else model_defaults.get("lr"))
               or options["lr"]),
        "momentum": options.get("momentum") if args.momentum is None else args.momentum,
        "weight_decay": (options.get("weight_decay", 0.0) if args.weight_decay is None
                         else args.weight_decay),
        "schedule": args.schedule or "cosine",
        "seed": 0 if args.seed is None else args.seed,
        "limit": args.limit,
        "augment": args.augment or "none",
        **{key: getattr(args, key) for key in _FOLDER_OPTIONS},
        "schedule_start": 0,  # the epoch where the schedule starts (see _resumed_settings)
    }


def _saved_settings(checkpoint):
    """The run settings in ``checkpoint.config``, each checked (and normalised) as the option
    it came from checks it; a value that option refuses is a CheckpointError naming the file
    and the setting. Settings absent from the config stay absent (but for ``augment``: runs
    saved before --augment had none, nor the options of --dataset folder)."""
    settings = {"augment": "none", **dict.fromkeys(_FOLDER_OPTIONS), **checkpoint.config}
    for key in (*_RUN_SETTINGS, "epochs"):
        value = settings.get(key)
        optional = key in ("limit", *_FOLDER_OPTIONS) or (
            key == "momentum" and "momentum" not in getattr(
                optim.OPTIMIZERS.get(settings.get("optimizer")), "defaults", ()))  # checked
        if key not in settings or (value is None and optional):
            continue
        option = "--" + key.replace("_", "-")
        try:
            if key == "dataset" and value not in data.DATASETS:  # "auto" is no data set
                raise argparse.ArgumentError(None, f"expected one of {', '.join(data.DATASETS)}")
            settings[key] = getattr(_train_option_parser().parse_args([f"{option}={value}"]),
                                    key)
        except argparse.ArgumentError as error:
            raise CheckpointError(
                f"{checkpoint.path}: its run setting {key!r} is {value!r}, which {option} "
                f"refuses ({error.message}); the file was edited or written by another tool"
            ) from None
    checkpoint.data_settings()
    start = settings.get("schedule_start", 0)
    if not (isinstance(start, int) and not isinstance(start, bool)
            and 0 <= start <= checkpoint.epoch):
        raise CheckpointError(f"{checkpoint.path}: its run setting 'schedule_start' must be an "
                              f"epoch from 0 to {checkpoint.epoch}, got {start!r}")
    try:
        check_history(checkpoint.history, checkpoint.epoch)
    except ValueError as error:
        raise CheckpointError(f"{checkpoint.path}: its history {error}") from None
    return settings


def _resumed_settings(args, checkpoint, processes=1):
    """The checkpoint's settings; an option given that contradicts them is a usage error. Its
    ``batch_size`` (images per step) is shared equally by ``processes``."""
    settings = _saved_settings(checkpoint)
    if not all(key in settings for key in (*_RUN_SETTINGS, "epochs")):
        raise CheckpointError(f"{checkpoint.path} holds no run settings, so it cannot be resumed")
    given = {"dataset": None if args.dataset == "auto" else args.dataset}
    given.update({key: getattr(args, key) for key in _RUN_SETTINGS if key != "dataset"})
    per_process, rest = divmod(settings["batch_size"], processes)
    if rest:
        raise _UsageError(f"the resumed run takes {settings['batch_size']} images per step, which "
                          f"{processes} processes cannot share equally")
    if processes > 1 and given.pop("batch_size") not in (None, per_process):
        raise _UsageError(f"--batch-size {args.batch_size} differs from the resumed run's "
                          f"{per_process} per process ({settings['batch_size']} images per step "
                          f"over {processes} processes); a resumed run keeps its settings")
    for key, value in given.items():
        if value is not None and value != settings[key]:
            option = "--" + key.replace("_", "-")
            raise _UsageError(f"{option} {value} differs from the resumed run's {settings[key]}; "
                              f"a resumed run keeps its settings")
    finished = checkpoint.epoch >= settings["epochs"]
    settings["epochs"] = args.epochs or settings["epochs"]
    if checkpoint.epoch >= settings["epochs"]:
        raise _UsageError(f"{checkpoint.path} has finished {checkpoint.epoch} of "
                          f"{settings['epochs']} epochs; pass --epochs N > {checkpoint.epoch}")
    # A finished run, extended, starts its schedule again over the added epochs (a warm
    # restart: on the digits, 2 epochs then 2 more reach 95.5%, as many as 4 planned ones, and
    # 93.3% with the schedule stretched over 4). An unfinished run's schedule ends at the new
    # total instead; either way a resumed extension keeps the schedule it started.
    settings["schedule_start"] = (checkpoint.epoch if finished
                                  else settings.get("schedule_start", 0))
    return settings


def _schedule(settings):
    """The run's learning rate at time t: its schedule from epoch ``schedule_start`` to the
    end of the run."""
    start = settings["schedule_start"]
    schedule = make_schedule(settings["schedule"], settings["lr"], settings["epochs"] - start)
    return schedule if start == 0 else lambda t: schedule(t - start)


def _make_optimizer(settings, model):
    """The run's optimizer, with the settings its registry entry lets a user choose."""
    entry = optim.OPTIMIZERS[settings["optimizer"]]
    options = {key: settings[key] for key in ("weight_decay", *entry.defaults)}
    return entry.cls(model.parameters(), **options)


def _default_out_dir():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out, suffix = Path("runs") / stamp, 1
    while out.exists():
        suffix += 1
        out = Path("runs") / f"{stamp}-{suffix}"
    return out


def run_train(args):
    if not args.distributed:
        return _run_train(args, processes=1, main=True)
    distributed.init()
    if distributed.is_main():
        return _run_train(args, distributed.world_size(), main=True)
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # rank 0 prints
            return _run_train(args, distributed.world_size(), main=False)
    except TrainingDiverged:  # all stop at the same step; rank 0 says why, then ends the job
        distributed.barrier()
        raise


def _run_train(args, processes, main):
    """``mint train`` as process ``main`` (the one that writes files) or not, of ``processes``."""
    checkpoint = load_checkpoint(args.resume) if args.resume else None
    load_pyplot()  # now: an interrupt inside this import later on would break it for good
    out = args.out or (checkpoint.path.parent if checkpoint else _default_out_dir())
    if args.distributed:
        out = distributed.init().bcast(out, root=0)  # rank 0's default folder name
    folder = _output_folder(out, checkpoint, args.overwrite) if main else contextlib.nullcontext()
    with folder:
        settings = None
        try:
            settings = _settings(args, checkpoint, processes)
            return _train(args, checkpoint, settings, out, processes, main)
        except KeyboardInterrupt:
            report = _after_interrupt(out, checkpoint, settings) if main else "interrupted"
            raise _Interrupted(report) from None
        except OSError as error:  # a full disk, ...: say what is safe
            if not main:
                raise
            raise _Failure(f"{_os_error(error)}; {_saved_report(out, checkpoint, settings)}"
                           ) from None


def _settings(args, checkpoint, processes):
    if checkpoint is None:
        return _train_settings(args, _resolve_dataset(args.dataset, args.data_dir), processes)
    return _resumed_settings(args, checkpoint, processes)


def _in_place(out, checkpoint):
    """Whether the run continues in place: ``out``'s model.npz is the very file it resumes
    (any other checkpoint, such as a copy kept beside the run, belongs to another run)."""
    target = out / "model.npz"
    return target.is_file() and os.path.samefile(target, checkpoint.path)


@contextlib.contextmanager
def _output_folder(out, checkpoint, overwrite):
    """Create ``out`` if needed and lock it for this run. Refuse a folder that holds another
    run unless ``overwrite`` (then delete that run's files); remove temporary files a killed
    run left. On leaving, unlock it, and remove it if this run created it and left it empty."""
    in_place = checkpoint is not None and _in_place(out, checkpoint)
    if overwrite and in_place:
        raise _UsageError("--overwrite would delete the checkpoint that --resume continues")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _UsageError(f"--out: cannot create {out} ({error.strerror or error})") from None
    try:
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(files.locked_folder(out))
            except files.FolderInUse as error:
                raise _Failure(f"{out} is in use by another mint train (pid "
                               f"{error.pid or 'unknown'}); wait for it to end, or pick "
                               f"another --out") from None
            except OSError as error:
                raise _UsageError(f"--out: cannot write to {out} "
                                  f"({error.strerror or error})") from None
            held = [name for name in RESULT_FILES if (out / name).exists()]
            if held and not in_place and not overwrite:
                resume = (f"continue it with --resume {out / 'model.npz'}, "
                          if "model.npz" in held else "")
                raise _UsageError(f"{out} already holds a run ({', '.join(held)}); {resume}"
                                  f"replace it with --overwrite, or pick another --out")
            if overwrite:
                for name in (*RESULT_FILES, "confusion.png"):
                    (out / name).unlink(missing_ok=True)
            files.remove_temporaries(out, RESULT_FILES)
            yield
    finally:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()


def _train(args, checkpoint, settings, out, processes, main):
    strategy = args.strategy or data.DATASETS[settings["dataset"]].strategy
    threads = args.threads or data.DATASETS[settings["dataset"]].threads
    if args.distributed:
        threads = threads or distributed.threads_per_process()
    train, test = _load(settings, args.data_dir, settings["limit"], checkpoint)
    if train[0].shape[1:] != test[0].shape[1:]:
        raise data.DataError(f"the {settings['dataset']} training images have shape "
                             f"{train[0].shape[1:]} but its test images {test[0].shape[1:]}; "
                             f"they must match")
    augment = _augmentation(settings["augment"], train[0])
    batch = settings["batch_size"]
    threads_used = _count(threads or mint.get_num_threads(), "thread")
    if args.distributed:
        batch = f"{batch} ({batch // processes} per process)"
        threads_used += f" x {_count(processes, 'process', 'processes')}"
    print(f"{settings['dataset']}: {len(train[1])} training and {len(test[1])} test images; "
          f"{settings['model']}, {settings['optimizer']} lr {settings['lr']:g}, batch {batch}, "
          f"{_count(settings['epochs'], 'epoch')}, augment {settings['augment']}, "
          f"{strategy} strategy, {threads_used}")

    schedule = _schedule(settings)
    with _compute_settings(strategy, threads):
        if checkpoint is None:
            mint.manual_seed(settings["seed"])
            architecture = models.architecture(settings["model"], in_shape=train[0].shape[1:],
                                               num_classes=len(settings["classes"]))
            model = models.build(architecture)
            optimizer = _make_optimizer(settings, model)
            rng, start, history = np.random.default_rng(settings["seed"]), 0, []
        else:
            architecture = checkpoint.architecture
            model = _finite_model(checkpoint, "resume from")
            _check_input_shape(checkpoint, train[0])
            optimizer = _make_optimizer(settings, model)
            checkpoint.restore_optimizer(optimizer)
            rng, start, history = checkpoint.generator(), checkpoint.epoch, checkpoint.history
            if main and _in_place(out, checkpoint):  # a kill -9 may have left these behind
                write_metrics(history, out / "metrics.csv")
                save_curves(history, out / "curves.png")
            print(_resuming(checkpoint, settings, schedule))
        if strategy == "loop":
            print("compiling kernels (once; Numba caches them for later runs)...", flush=True)
        try:
            history = fit(
                model, nn.CrossEntropyLoss(), optimizer, train, settings["epochs"],
                settings["batch_size"] // processes, val=test, schedule=schedule, seed=rng,
                start_epoch=start, history=history, checkpoint=out / "model.npz",
                architecture=architecture, config=settings,
                augment=augment,
                on_epoch=lambda rows: _report_epoch(rows, settings["epochs"], out),
                distributed=args.distributed,
            )
        except TrainingDiverged as error:
            if error.history and main:
                save_curves(error.history, out / "curves.png")
            raise
    if main:
        save_curves(history, out / "curves.png")
    last = history[-1]
    seconds = sum(row["seconds"] for row in history[start:])
    print(f"test accuracy {100 * last['test_accuracy']:.2f}% after "
          f"{_count(last['epoch'], 'epoch')} ({seconds:.1f} s of training, "
          f"{last['images_per_second']:.0f} images/s)")
    print(f"wrote {', '.join(str(out / name) for name in RESULT_FILES)}")
    return 0


def _resuming(checkpoint, settings, schedule):
    """The line a resumed run prints: where it starts, and at which learning rate."""
    start, epochs, name = checkpoint.epoch, settings["epochs"], settings["schedule"]
    planned = checkpoint.config["epochs"]
    line, lr = f"resuming at epoch {start} of {epochs}", schedule(start)
    if epochs == planned or name == "constant":
        return f"{line}, lr {lr:.3g} ({name} schedule)"
    last = checkpoint.history[-1].get("lr") if checkpoint.history else None
    if settings["schedule_start"] == start:
        ended = "" if last is None else f" (lr down to {last:.3g})"
        return (f"{line}: the run had finished its {_count(planned, 'epoch')}{ended}, so a new "
                f"{name} schedule runs over {_epoch_range(start + 1, epochs)}, from lr "
                f"{lr:.3g}")
    came = "" if last is None else f"from {last:.3g} "
    return (f"{line} (the run was planned for {_count(planned, 'epoch')}): its {name} schedule "
            f"now ends at epoch {epochs}, so the lr goes {came}to {lr:.3g}")


def _after_interrupt(out, checkpoint, settings):
    """Make metrics.csv and curves.png match the model.npz in ``out``, and say what it holds."""
    with _interrupts_ignored():  # a second Ctrl-C must not leave the files half way
        path = out / "model.npz"
        if not path.is_file():
            return f"interrupted before an epoch ended; {_saved_report(out, checkpoint, settings)}"
        saved = load_checkpoint(path)
        write_metrics(saved.history, out / "metrics.csv")
        save_curves(saved.history, out / "curves.png")
        beside = ", and metrics.csv and curves.png beside it match it"
        return f"interrupted; {_saved_report(out, checkpoint, settings, beside)}"


def _saved_report(out, checkpoint, settings, beside=""):
    """What the run in ``out`` has saved: "<out>/model.npz holds epoch k of N<beside>; continue
    with: mint train --resume ..." (while k < N), or that nothing was saved."""
    path = out / "model.npz"
    if not path.is_file():
        unchanged = f"; {checkpoint.path} is unchanged" if checkpoint else ""
        return f"nothing was saved in {out}{unchanged}"
    saved = load_checkpoint(path)
    epochs = settings["epochs"] if settings else saved.config.get("epochs", saved.epoch)
    report = f"{path} holds epoch {saved.epoch} of {epochs}{beside}"
    if saved.epoch < epochs:
        more = "" if saved.config.get("epochs") == epochs else f" --epochs {epochs}"
        report += f"; continue with: mint train --resume {path}{more}"
    return report


@contextlib.contextmanager
def _interrupts_ignored():
    """Ignore SIGINT inside the block (where Python can set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _report_epoch(history, epochs, out):
    """After each epoch's checkpoint: rewrite metrics.csv, remove the curves.png of an earlier
    epoch (the run draws it when it ends), and print one line of results."""
    write_metrics(history, out / "metrics.csv")
    (out / "curves.png").unlink(missing_ok=True)
    row = history[-1]
    print(f"epoch {row['epoch']}/{epochs}: loss {row['loss']:.4f}, train accuracy "
          f"{100 * row['train_accuracy']:.2f}%, test accuracy {100 * row['test_accuracy']:.2f}%, "
          f"{row['seconds']:.1f} s, {row['images_per_second']:.0f} images/s"
          f"{_processes(row)}", flush=True)


def _processes(row):
    """" on 2 processes (Allreduce 1.2 ms/step)" for a distributed epoch, else nothing."""
    if row.get("allreduce_ms") is None:
        return ""
    processes = _count(row["processes"], "process", "processes")
    return f" on {processes} (Allreduce {row['allreduce_ms']:.1f} ms/step)"


def _epoch_range(first, last):
    """"epoch 5" or "epochs 5-7"."""
    return f"epoch {first}" if first == last else f"epochs {first}-{last}"


def _count(n, noun, plural=None):
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _finite_model(checkpoint, use):
    """The checkpoint's model, unless a parameter is NaN or infinite: then a CheckpointError
    advising to ``use`` ("resume from", "export") an earlier checkpoint."""
    model = checkpoint.build_model()
    nonfinite = nonfinite_parameters(model)
    if nonfinite:
        raise CheckpointError(f"{checkpoint.path} holds NaN or infinite parameters "
                              f"({', '.join(nonfinite)}); {use} an earlier checkpoint or train "
                              f"again")
    return model


def _check_input_shape(checkpoint, images):
    expected = tuple(checkpoint.architecture.get("in_shape", ()))
    if tuple(images.shape[1:]) != expected:
        raise CheckpointError(
            f"{checkpoint.path} holds a model for images of shape {expected}, but the data set "
            f"has images of shape {tuple(images.shape[1:])}; pick the matching --dataset"
        )


# ----------------------------------------------------------------------------------- evaluate


def _add_evaluate_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="accuracy and confusion matrix of a saved model",
        description=(
            "Evaluate the model saved in FILE (a model.npz from mint train) on a data set: "
            "prints the accuracy and the confusion matrix, and saves the matrix as a PNG."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=_path, help="checkpoint (model.npz)")
    _add_data_options(parser, "auto (default): the data set the model was trained on",
                      "use only the first N images of the split")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which part of the data set (default: test)")
    parser.add_argument("--out", metavar="PNG", type=_png_file_or_folder,
                        help="confusion-matrix image: a .png file, or a folder to write "
                             "confusion.png in (default: confusion.png beside FILE)")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args):
    checkpoint = load_checkpoint(args.file)
    model = checkpoint.build_model()
    settings = _saved_settings(checkpoint)
    dataset = args.dataset
    if dataset == "auto":
        in_shape = tuple(checkpoint.architecture.get("in_shape", ()))
        dataset = settings.get("dataset") or ("digits" if in_shape == (1, 8, 8) else "mnist")
    train, test = _load({**settings, "dataset": dataset}, args.data_dir, args.limit, checkpoint)
    images, labels = test if args.split == "test" else train
    _check_input_shape(checkpoint, images)
    strategy = args.strategy or data.DATASETS[dataset].strategy
    threads = args.threads or data.DATASETS[dataset].threads
    with _compute_settings(strategy, threads):
        result = evaluate(model, (images, labels))
    num_classes = int(checkpoint.architecture.get("num_classes", 10))
    matrix = np.bincount(labels * num_classes + result["predictions"],
                         minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    print(f"{dataset} {args.split} ({len(labels)} images): accuracy "
          f"{100 * result['accuracy']:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted class):")
    width = len(str(matrix.max()))
    for row in matrix:
        print("  " + " ".join(f"{count:>{width}d}" for count in row))
    out = args.out or checkpoint.path.parent
    if out.is_dir():
        out = out / "confusion.png"
    title = f"{dataset} {args.split}: accuracy {100 * result['accuracy']:.2f}%"
    try:
        save_confusion(matrix, out, title)
    except OSError as error:
        raise _Failure(f"cannot write {out} ({error.strerror or error})") from None
    print(f"wrote {out}")
    return 0


# ------------------------------------------------------------------------------------ predict


def _add_predict_parser(subparsers):
    parser = subparsers.add_parser(
        "predict", help="the classes a saved model gives image files",
        description=(
            "For each image file in PATH (a folder: every .png, .jpg, .jpeg and .bmp file in it "
            "and below), print the class the model saved in FILE gives it and its probability, "
            "one line per image. Each image is read as the training images were: converted "
            "to grayscale or RGB as the model takes, cropped to its aspect ratio around the "
            "centre and resized to its input size, standardised by the statistics the "
            "checkpoint stores."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=_path, help="checkpoint (model.npz)")
    parser.add_argument("paths", metavar="PATH", type=_path, nargs="+",
                        help="image files, or folders of them")
    parser.add_argument("--top", metavar="K", type=positive_int, default=1,
                        help="print the K most probable classes of each image (default: 1)")
    parser.add_argument("--csv", metavar="FILE", type=_path,
                        help="also write a table: path, then class and probability for each "
                             "of the top K")
    parser.add_argument("--strategy", choices=sorted(mint.STRATEGIES), default="vectorized",
                        help="how ops compute (default: vectorized: for one pass, compiling "
                             "the loops would take longer than the pass)")
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for the kernels and BLAS (default: all cores)")
    parser.set_defaults(handler=run_predict)


def run_predict(args):
    _check_writable("--csv", args.csv)
    checkpoint = load_checkpoint(args.file)
    num_classes = checkpoint.architecture.get("num_classes")
    if args.top > num_classes:
        classes = _count(num_classes, "class", "classes")
        raise _UsageError(f"--top {args.top}: the model has {classes}")
    with _compute_settings(args.strategy, args.threads):
        results = mint.predict(checkpoint, args.paths, top=args.top)
    rows = []
    for path, ranked in results:
        print(f"{path}: " + ", ".join(f"{name} {100 * p:.1f}%" for name, p in ranked))
        rows.append([path, *(cell for name, p in ranked for cell in (name, f"{p:.6f}"))])
    if args.csv:
        header = ["path", *(f"{cell}_{k}" for k in range(1, args.top + 1)
                            for cell in ("class", "probability"))]
        table = io.StringIO()
        csv.writer(table, lineterminator="\n").writerows([header, *rows])
        files.write_atomically(args.csv, lambda file: file.write(table.getvalue().encode()))
        print(f"wrote {args.csv}")
    return 0


# -------------------------------------------------------------------------------------- bench


def _comma_list(choices):
    """An argparse ``type``: a comma-separated list of some of ``choices``, in the given order."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {', '.join(choices)}, got {text!r}"
            )
        return list(dict.fromkeys(names))

    parse.__name__ = "list"
    return parse


def _add_bench_parser(subparsers):
    parser = subparsers.add_parser(
        "bench", help="time every op for each strategy (and PyTorch) side by side",
        description=(
            "Time each op, forward and forward+backward, one training step and one inference "
            "pass of lenet and resnet, for each strategy side by side in this process: every "
            "callable is warmed first (compilation is never timed), then the strategies are "
            "timed in turn, round after round, and the table gives medians, GFLOP/s and the "
            "ratio to the fastest. torch is PyTorch eager, torch-cl the same with 4-D tensors "
            "in channels_last memory. float32, LeNet-sized shapes (see mint.bench)."
        ),
    )
    work = parser.add_mutually_exclusive_group()
    work.add_argument("--ops", type=_comma_list(bench.OPS),
                      help=f"comma-separated ops to time (default: {','.join(bench.OPS)})")
    work.add_argument(
        "--sweep", choices=("batch",),
        help="instead of the ops: images/s of the lenet training step and inference for batch "
             f"sizes {', '.join(map(str, bench.SWEEP_BATCHES))} with "
             f"{' and '.join(map(str, bench.SWEEP_THREADS))} thread(s) (~3 min on 2 cores); "
             "--plot draws lines",
    )
    parser.add_argument(
        "--strategies", type=_comma_list(bench.ALL_STRATEGIES),
        help="comma-separated strategies (default: loop,vectorized and torch,torch-cl when "
             "installed)",
    )
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for Mint's kernels, BLAS and torch (default: all cores; "
                             "with --sweep: only N instead of each sweep count)")
    parser.add_argument("--rounds", metavar="N", type=positive_int, default=15,
                        help="timed calls per strategy and case; medians are reported "
                             "(default: 15)")
    parser.add_argument("--json", metavar="FILE", type=_path,
                        help="also write the results and the machine description as JSON")
    parser.add_argument("--plot", metavar="FILE", type=_png_file,
                        help="also write a bar chart (PNG) of each strategy's speed "
                             "relative to the fastest (with --sweep: images/s against the "
                             "batch size)")
    parser.set_defaults(handler=run_bench)


def run_bench(args):
    strategies = args.strategies or [
        *bench.MINT_STRATEGIES, *(bench.TORCH_STRATEGIES if bench.torch_available() else ())
    ]
    uses_torch = any(s in bench.TORCH_STRATEGIES for s in strategies)
    if uses_torch and not bench.torch_available():
        raise _UsageError("torch is not installed (python -m pip install torch==2.13.0)")
    if args.sweep:
        threads = [args.threads] if args.threads else [
            n for n in bench.SWEEP_THREADS if n <= numba.config.NUMBA_NUM_THREADS]
    else:
        threads = [args.threads or numba.config.NUMBA_NUM_THREADS]
        bench.set_threads(threads[0], strategies)
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        _check_writable(option, path)
    meta = bench.machine_description(threads if args.sweep else threads[0])
    print(f"mint bench: {meta['cpu']}, {meta['cores']} cores, "
          f"{' and '.join(map(str, threads))} thread(s), float32, "
          f"medians of {args.rounds} interleaved rounds")
    progress = functools.partial(tqdm, desc="timing", unit="case", leave=False, disable=None)
    if args.sweep:
        results = bench.sweep(strategies, threads, bench.SWEEP_BATCHES, args.rounds,
                              progress=progress)
    else:
        results = bench.run(args.ops or bench.OPS, strategies, args.rounds, progress=progress)
    print(bench.format_table(results))
    if args.json:
        bench.write_json(results, args.json, meta)
        print(f"wrote {args.json}")
    if args.plot:
        (bench.plot_sweep if args.sweep else bench.plot)(results, args.plot)
        print(f"wrote {args.plot}")
    return 0


# ------------------------------------------------------------------------------------- export


def _add_export_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="write a saved model as an ONNX file",
        description=(
            "Export the model saved in FILE (a model.npz from mint train) to the ONNX file OUT, "
            "as it computes in eval mode, for ONNX Runtime and other runtimes. The file is "
            "checked with onnx.checker and, when onnxruntime is installed, run in ONNX Runtime "
            "on a random batch and compared with Mint. Needs the onnx package "
            f"({mint.onnx.INSTALL['onnx']}; with onnxruntime: {mint.onnx.INSTALL['onnxruntime']})."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="checkpoint (model.npz)")
    parser.add_argument("out", metavar="OUT", type=Path, help="ONNX file to write (model.onnx)")
    parser.add_argument("--opset", metavar="N", type=positive_int, default=mint.onnx.DEFAULT_OPSET,
                        help=f"ONNX operator set version (default: {mint.onnx.DEFAULT_OPSET})")
    parser.add_argument("--batch", metavar="N", type=positive_int,
                        help="fix the batch size to N (default: any batch size)")
    parser.set_defaults(handler=run_export)


def run_export(args):
    _check_writable("OUT", args.out)
    checkpoint = load_checkpoint(args.file)
    model = _finite_model(checkpoint, "export")
    in_shape = tuple(checkpoint.architecture.get("in_shape", ()))
    try:
        proto = mint.onnx.export(model, args.out, (args.batch or 1, *in_shape), opset=args.opset,
                                 dynamic_batch=args.batch is None)
    except ImportError as error:
        print(f"mint export: error: {error}", file=sys.stderr)
        return 1
    except ValueError as error:  # an opset the installed onnx does not know, or too old
        raise _UsageError(error) from None
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, opset {args.opset}): "
          f"{mint.onnx.signature(proto)}")
    check_shape = (args.batch or 7, *in_shape)
    try:
        difference = mint.onnx.onnxruntime_difference(model, args.out, check_shape)
    except ImportError:
        print(f"onnxruntime is not installed, so the file was not run in it (to check it: "
              f"{mint.onnx.INSTALL['onnxruntime']})")
    else:
        print(f"ONNX Runtime on a random batch {check_shape}: largest difference from Mint "
              f"{difference:.1e} of the largest output")
    return 0


# ------------------------------------------------------------------------------------ summary


def _image_shape(text):
    """An argparse ``type``: "C,H,W" as a tuple of three positive ints."""
    try:
        shape = tuple(positive_int(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        shape = ()
    if len(shape) != 3:
        raise argparse.ArgumentTypeError(
            f"expected channels,height,width as positive integers (as 1,28,28), got {text!r}"
        )
    return shape


def _add_summary_parser(subparsers):
    parser = subparsers.add_parser(
        "summary", help="layers, output shapes, parameters and multiply-adds of a model",
        description=(
            "Print the layers of the model saved in FILE, or of --model built for --input "
            "images, with each layer's output shape, parameters, multiply-adds and the bytes it "
            "keeps for backward, and their totals, for a batch of --batch images (definitions "
            "in mint.summarize)."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, nargs="?",
                        help="checkpoint (model.npz); or give --model")
    parser.add_argument("--model", choices=sorted(models.MODELS),
                        help="a model of mint.models instead of a checkpoint")
    parser.add_argument("--input", metavar="C,H,W", type=_image_shape,
                        help="shape of one input image for --model (default: 1,28,28)")
    parser.add_argument("--batch", metavar="N", type=positive_int, default=1,
                        help="images per batch, for the multiply-adds and activations "
                             "(default: 1)")
    parser.set_defaults(handler=run_summary)


def run_summary(args):
    if (args.file is None) == (args.model is None):
        raise _UsageError("give either a checkpoint FILE or --model NAME")
    if args.file is not None:
        if args.input is not None:
            raise _UsageError("--input applies to --model; a checkpoint's model takes the "
                              "images it was trained on")
        checkpoint = load_checkpoint(args.file)
        model = checkpoint.build_model()
        in_shape = tuple(checkpoint.architecture.get("in_shape", ()))
        title = f"{args.file}: {checkpoint.architecture['name']}"
    else:
        in_shape = args.input or (1, 28, 28)
        try:
            model = models.build(models.architecture(args.model, in_shape=in_shape))
        except ValueError as error:
            raise _UsageError(f"--input: {error}") from None
        title = args.model
    print(f"{title}, input batch {(args.batch, *in_shape)}")
    print(mint.summary(model, (args.batch, *in_shape)))
    return 0


# --------------------------------------------------------------------------------------- main


def _check_writable(option, path):
    """Refuse (usage error) an output ``path`` (of ``option``; ``None``: none asked for) that
    cannot be written, before any work is done."""
    if path is None:
        return
    try:
        files.check_writable(path)
    except OSError as error:
        raise _UsageError(f"{option}: cannot write {path} ({error.strerror})") from None


def _os_error(error):
    """An OSError in one line: "file: reason" when it names a file."""
    return f"{error.filename}: {error.strerror}" if error.filename and error.strerror \
        else str(error)


class _UsageError(Exception):
    """Arguments that parse but do not fit together (or with a checkpoint)."""


class _Failure(Exception):
    """A failure the message explains (exit status 1)."""


class _Interrupted(Exception):
    """Ctrl-C, once the command has said what it saved (the message)."""


def build_parser():
    parser = _Parser(
        prog="mint",
        description="Train, evaluate and benchmark small convolutional networks with Mint.",
    )
    parser.add_argument("--version", action="version", version=f"mint {mint.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_train_parser(subparsers)
    _add_evaluate_parser(subparsers)
    _add_predict_parser(subparsers)
    _add_bench_parser(subparsers)
    _add_export_parser(subparsers)
    _add_summary_parser(subparsers)
    return parser


def main(argv=None):
    """Entry point of the ``mint`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    status = _run(args)
    if status == 130 and getattr(args, "distributed", False):
        distributed.barrier()  # all stopped at one step (fit): end together once rank 0 has
        # said what it saved (a process that ended first would make mpiexec kill the others)
    elif status and getattr(args, "distributed", False):
        distributed.abort(status)  # the other processes would wait for this one forever
    return status


def _run(args):
    prog = f"mint {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, *_, **__: print(
                f"{prog}: warning: {message}", file=sys.stderr)
            status = args.handler(args)
            sys.stdout.flush()  # a reader gone (below) shows here, not as Python exits
            return status
    except BrokenPipeError:  # `mint evaluate ... | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return BROKEN_PIPE
    except _UsageError as error:
        print(f"{prog}: error: {error} (see {prog} --help)", file=sys.stderr)
        return 2
    except (_Failure, data.DataError, CheckpointError, TrainingDiverged,
            distributed.DistributedError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, ...
        print(f"{prog}: error: {_os_error(error)}", file=sys.stderr)
        return 1
    except _Interrupted as report:
        print(f"{prog}: {report}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # mint train says what it saved, by _Interrupted, once it can
        nothing = "; nothing was saved" if args.command == "train" else ""
        print(f"{prog}: interrupted{nothing}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
