"""A training run's settings: the options of ``mint train``, the settings they give a new run,
those a checkpoint stores (checked again as the options they came from when ``train --resume``
or ``evaluate`` reads them), and what the settings describe: the data, the optimizer, the
learning-rate schedule, the augmentation."""

import argparse
import functools

from mint import data, models, optim
from mint.checkpoint import CheckpointError
from mint.cli.options import (
    _add_data_options,
    _fraction,
    _path,
    _zero_to_one,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from mint.cli.output import _count, _UsageError
from mint.evaluation import nonfinite_parameters
from mint.train import SCHEDULES, check_history, make_schedule

# The choices of --dataset and --optimizer, their help and their defaults come from the
# registries data.DATASETS and optim.OPTIMIZERS.
DEFAULT_OPTIMIZER = "adam"


# The settings of a run, stored in its checkpoint; a resumed run keeps them.
_RUN_SETTINGS = ("dataset", "model", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
                 "schedule", "warmup", "label_smoothing", "seed", "limit", "augment",
                 "image_size", "channels", "val_fraction")
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
                            f"{name} trains with batch {d['batch_size']}, lr {d['lr']:g}, a "
                            f"warm-up of {_count(d['warmup'], 'epoch')} unless told otherwise"
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
    parser.add_argument("--momentum", metavar="X", type=_zero_to_one,
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
    parser.add_argument("--warmup", metavar="EPOCHS", type=nonnegative_float,
                        help="raise the lr linearly from 0 over the first EPOCHS epochs (a "
                             "number, such as 0.5, below --epochs), then follow --schedule over "
                             "the rest (default: 0, none; vit: above)")
    parser.add_argument("--label-smoothing", metavar="X", type=_zero_to_one,
                        help="train towards targets of 1 - X on the true class plus X / "
                             "classes on every class, X in [0, 1) (the test loss is measured "
                             "so too; default: 0)")
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
    return _checked_warmup({
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
        "warmup": model_defaults.get("warmup", 0.0) if args.warmup is None else args.warmup,
        "label_smoothing": 0.0 if args.label_smoothing is None else args.label_smoothing,
        "seed": 0 if args.seed is None else args.seed,
        "limit": args.limit,
        "augment": args.augment or "none",
        **{key: getattr(args, key) for key in _FOLDER_OPTIONS},
        "schedule_start": 0,  # the epoch where the schedule starts (see _resumed_settings)
    })


def _saved_settings(checkpoint):
    """The run settings in ``checkpoint.config``, each checked (and normalised) as the option
    it came from checks it; a value that option refuses is a CheckpointError naming the file
    and the setting. Settings absent from the config stay absent (but for ``augment``,
    ``warmup`` and ``label_smoothing``: runs saved before those options had none, nor the
    options of --dataset folder)."""
    settings = {"augment": "none", "warmup": 0.0, "label_smoothing": 0.0,
                **dict.fromkeys(_FOLDER_OPTIONS), **checkpoint.config}
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
    return _checked_warmup(settings)


def _checked_warmup(settings):
    """``settings``, unless its warm-up does not end before its schedule does (a usage error)."""
    start, warmup = settings["schedule_start"], settings["warmup"]
    length = settings["epochs"] - start
    if warmup >= length:
        over = (f"the run's {_count(length, 'epoch')}" if start == 0 else
                f"the {_count(length, 'epoch')} of the new schedule that extending a finished "
                f"run starts")
        raise _UsageError(f"--warmup {warmup:g} must be shorter than {over}; pass --epochs N > "
                          f"{start + warmup:g}")
    return settings


def _schedule(settings):
    """The run's learning rate at time t: its schedule from epoch ``schedule_start`` to the
    end of the run."""
    start = settings["schedule_start"]
    schedule = make_schedule(settings["schedule"], settings["lr"], settings["epochs"] - start,
                             warmup=settings["warmup"])
    return schedule if start == 0 else lambda t: schedule(t - start)


def _make_optimizer(settings, model):
    """The run's optimizer, with the settings its registry entry lets a user choose."""
    entry = optim.OPTIMIZERS[settings["optimizer"]]
    options = {key: settings[key] for key in ("weight_decay", *entry.defaults)}
    return entry.cls(model.parameters(), **options)


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
