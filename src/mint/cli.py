"""The ``mint`` command: ``mint train``, ``mint evaluate`` and ``mint bench``.

Each subcommand is a pair of functions: ``_add_<name>_parser(subparsers)`` declares its options
and ``run_<name>(args)`` does the work and returns the exit status (0 success, 1 a failure the
message explains, 2 bad arguments, 130 interrupted). Failures a user can fix print one line,
never a traceback.
"""

import argparse
import contextlib
import datetime
import math
import os
import sys
from pathlib import Path

import numba
import numpy as np
from tqdm import tqdm

import mint
from mint import bench, data, distributed, models, nn, optim
from mint.checkpoint import CheckpointError, load_checkpoint
from mint.train import (
    SCHEDULES,
    TrainingDiverged,
    evaluate,
    fit,
    make_schedule,
    save_confusion,
    save_curves,
    write_metrics,
)

DATASETS = ("auto", "mnist", "digits")
OPTIMIZERS = ("sgd", "adam")
# Defaults that differ per data set, used for each option the user does not give. The digits
# train in seconds, less than compiling the Numba loops takes on a first run, so they default
# to the vectorized strategy; and on one thread, as their arrays are too small to share out
# (several threads cost far more than they save, above all on a busy machine).
DATASET_DEFAULTS = {
    "mnist": {"epochs": 1, "batch_size": 64, "lr": {"adam": 3e-3, "sgd": 0.05},
              "strategy": "loop", "threads": None},
    "digits": {"epochs": 10, "batch_size": 32, "lr": {"adam": 3e-3, "sgd": 0.05},
               "strategy": "vectorized", "threads": 1},
}
AUTO_DOWNLOAD_TIMEOUT = 5.0  # seconds: `mint train` offline must fall back to digits quickly
RESULT_FILES = ("model.npz", "metrics.csv", "curves.png")


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


def _momentum(text):
    value = nonnegative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _threads(text):
    value = positive_int(text)
    if value > numba.config.NUMBA_NUM_THREADS:
        raise argparse.ArgumentTypeError(
            f"must be at most {numba.config.NUMBA_NUM_THREADS} on this machine, got {text}"
        )
    return value


# ---------------------------------------------------------------------------------- data sets


def _add_data_options(parser, dataset_help, limit_help):
    parser.add_argument("--dataset", choices=DATASETS, default="auto", help=dataset_help)
    parser.add_argument(
        "--data-dir", metavar="DIR", type=Path,
        help="folder of the MNIST files (default: $MINT_DATA, else ~/.cache/mint/mnist)",
    )
    parser.add_argument(
        "--limit", metavar="N", type=positive_int,
        help=limit_help,
    )
    parser.add_argument("--strategy", choices=sorted(mint.STRATEGIES),
                        help="how ops compute: Numba loops or NumPy/BLAS (default: loop on "
                             "MNIST, vectorized on the digits)")
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for the kernels and BLAS (default: all cores on MNIST, "
                             "1 on the digits)")


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


def _load(dataset, split, data_dir, limit):
    if dataset == "mnist":
        images, labels = data.load_mnist(data_dir, split)
    else:
        images, labels = data.load_digits(split)
    return (images[:limit], labels[:limit]) if limit else (images, labels)


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
                 "schedule", "seed", "limit")


def _add_train_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a network and save it, its metrics and its curves",
        description=(
            "Train a network on MNIST or on scikit-learn's 8x8 digits. Writes model.npz (a "
            "checkpoint), metrics.csv (one row per epoch) and curves.png to --out, and prints "
            "the final test accuracy. Options left out take per-data-set defaults: "
            + "; ".join(
                f"{name}: {_count(d['epochs'], 'epoch')}, batch {d['batch_size']}, lr "
                f"{d['lr']['adam']} (adam) / {d['lr']['sgd']} (sgd)"
                for name, d in DATASET_DEFAULTS.items()
            )
            + "."
        ),
    )
    _add_data_options(parser, "auto (default): MNIST when found in the data folder or "
                              "downloadable, else the bundled digits",
                      "use only the first N training and N test images (for quick checks)")
    parser.add_argument("--model", choices=sorted(models.MODELS), help="default: lenet")
    parser.add_argument("--epochs", metavar="N", type=positive_int,
                        help="total number of epochs (default: per data set, above; with "
                             "--resume: train up to this one)")
    parser.add_argument("--batch-size", metavar="N", type=positive_int,
                        help="images per optimizer step (default: per data set, above)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help="default: adam")
    parser.add_argument("--lr", metavar="X", type=positive_float,
                        help="initial learning rate (default: per data set and optimizer, "
                             "above)")
    parser.add_argument("--momentum", metavar="X", type=_momentum,
                        help="SGD momentum (default: 0.9; sgd only)")
    parser.add_argument("--weight-decay", metavar="X", type=nonnegative_float,
                        help="L2 penalty added to the gradients (default: 0)")
    parser.add_argument("--schedule", choices=SCHEDULES,
                        help="learning rate per step: constant, step (x0.1 every third of the "
                             "run) or cosine (default: cosine, down to 0 at the last step)")
    parser.add_argument("--seed", metavar="N", type=nonnegative_int,
                        help="seeds initialisation and shuffling (default: 0)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="output folder (default: runs/<timestamp>; with --resume: the "
                             "checkpoint's folder)")
    parser.add_argument("--resume", metavar="FILE", type=Path,
                        help="continue the run saved in this model.npz, with its settings")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training over the processes of `mpiexec -n N mint "
                             "train --distributed` (needs mpi4py): --batch-size is per process, "
                             "--threads defaults to cores / processes on each machine")
    parser.set_defaults(handler=run_train)


def _train_settings(args, dataset, processes=1):
    """The run's settings: the arguments given, else the defaults for ``dataset``. Its
    ``batch_size`` is the images of one step over all ``processes``."""
    defaults = DATASET_DEFAULTS[dataset]
    optimizer = args.optimizer or "adam"
    if args.momentum is not None and optimizer != "sgd":
        raise _UsageError("--momentum applies to --optimizer sgd only")
    return {
        "dataset": dataset,
        "model": args.model or "lenet",
        "epochs": args.epochs or defaults["epochs"],
        "batch_size": (args.batch_size or defaults["batch_size"]) * processes,
        "optimizer": optimizer,
        "lr": args.lr or defaults["lr"][optimizer],
        "momentum": 0.9 if args.momentum is None else args.momentum,
        "weight_decay": args.weight_decay or 0.0,
        "schedule": args.schedule or "cosine",
        "seed": 0 if args.seed is None else args.seed,
        "limit": args.limit,
    }


def _resumed_settings(args, checkpoint, processes=1):
    """The checkpoint's settings; an option given that contradicts them is a usage error. Its
    ``batch_size`` (images per step) is shared equally by ``processes``."""
    settings = dict(checkpoint.config)
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
    settings["epochs"] = args.epochs or settings["epochs"]
    if checkpoint.epoch >= settings["epochs"]:
        raise _UsageError(f"{checkpoint.path} has finished {checkpoint.epoch} of "
                          f"{settings['epochs']} epochs; pass --epochs N > {checkpoint.epoch}")
    return settings


def _make_optimizer(settings, model):
    if settings["optimizer"] == "sgd":
        return optim.SGD(model.parameters(), lr=settings["lr"], momentum=settings["momentum"],
                         weight_decay=settings["weight_decay"])
    return optim.Adam(model.parameters(), lr=settings["lr"],
                      weight_decay=settings["weight_decay"])


def _default_out_dir():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out, suffix = Path("runs") / stamp, 1
    while out.exists():
        suffix += 1
        out = Path("runs") / f"{stamp}-{suffix}"
    return out


def run_train(args):
    if not args.distributed:
        return _train(args, processes=1, main=True)
    distributed.init()
    if distributed.is_main():
        return _train(args, distributed.world_size(), main=True)
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # rank 0 prints
            return _train(args, distributed.world_size(), main=False)
    except TrainingDiverged:  # all stop at the same step; rank 0 says why, then ends the job
        distributed.barrier()
        raise


def _train(args, processes, main):
    """``mint train`` as process ``main`` (the one that writes files) or not, of ``processes``."""
    checkpoint = load_checkpoint(args.resume) if args.resume else None
    if checkpoint is None:
        settings = _train_settings(args, _resolve_dataset(args.dataset, args.data_dir),
                                   processes)
    else:
        settings = _resumed_settings(args, checkpoint, processes)
    out = args.out or (checkpoint.path.parent if checkpoint else _default_out_dir())
    strategy = args.strategy or DATASET_DEFAULTS[settings["dataset"]]["strategy"]
    threads = args.threads or DATASET_DEFAULTS[settings["dataset"]]["threads"]
    if args.distributed:
        out = distributed.init().bcast(out, root=0)  # rank 0's default folder name
        threads = threads or distributed.threads_per_process()
    try:
        if main:
            out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _UsageError(f"--out: cannot create {out} ({error.strerror or error})") from None
    train = _load(settings["dataset"], "train", args.data_dir, settings["limit"])
    test = _load(settings["dataset"], "test", args.data_dir, settings["limit"])
    batch = settings["batch_size"]
    threads_used = _count(threads or mint.get_num_threads(), "thread")
    if args.distributed:
        batch = f"{batch} ({batch // processes} per process)"
        threads_used += f" x {_count(processes, 'process', 'processes')}"
    print(f"{settings['dataset']}: {len(train[1])} training and {len(test[1])} test images; "
          f"{settings['model']}, {settings['optimizer']} lr {settings['lr']:g}, batch {batch}, "
          f"{_count(settings['epochs'], 'epoch')}, {strategy} strategy, {threads_used}")

    with _compute_settings(strategy, threads):
        if checkpoint is None:
            mint.manual_seed(settings["seed"])
            architecture = models.architecture(settings["model"], in_shape=train[0].shape[1:],
                                               num_classes=10)
            model = models.build(architecture)
            optimizer = _make_optimizer(settings, model)
            rng, start, history = np.random.default_rng(settings["seed"]), 0, []
        else:
            architecture = checkpoint.architecture
            model = checkpoint.build_model()
            _check_input_shape(checkpoint, train[0])
            optimizer = _make_optimizer(settings, model)
            checkpoint.restore_optimizer(optimizer)
            rng, start, history = checkpoint.generator(), checkpoint.epoch, checkpoint.history
        schedule = make_schedule(settings["schedule"], settings["lr"], settings["epochs"])
        try:
            history = fit(
                model, nn.CrossEntropyLoss(), optimizer, train, settings["epochs"],
                settings["batch_size"] // processes, val=test, schedule=schedule, seed=rng,
                start_epoch=start, history=history, checkpoint=out / "model.npz",
                architecture=architecture, config=settings,
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


def _report_epoch(history, epochs, out):
    """After each epoch: rewrite metrics.csv and print one line of results."""
    write_metrics(history, out / "metrics.csv")
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


def _count(n, noun, plural=None):
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


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
    parser.add_argument("file", metavar="FILE", type=Path, help="checkpoint (model.npz)")
    _add_data_options(parser, "auto (default): the data set the model was trained on",
                      "use only the first N images of the split")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which part of the data set (default: test)")
    parser.add_argument("--out", metavar="PNG", type=Path,
                        help="confusion-matrix image (default: confusion.png beside FILE)")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args):
    checkpoint = load_checkpoint(args.file)
    dataset = args.dataset
    if dataset == "auto":
        in_shape = tuple(checkpoint.architecture.get("in_shape", ()))
        dataset = checkpoint.config.get("dataset") or ("digits" if in_shape == (1, 8, 8)
                                                       else "mnist")
    images, labels = _load(dataset, args.split, args.data_dir, args.limit)
    _check_input_shape(checkpoint, images)
    strategy = args.strategy or DATASET_DEFAULTS[dataset]["strategy"]
    threads = args.threads or DATASET_DEFAULTS[dataset]["threads"]
    with _compute_settings(strategy, threads):
        model = checkpoint.build_model()
        result = evaluate(model, (images, labels))
    num_classes = int(checkpoint.architecture.get("num_classes", 10))
    matrix = np.bincount(labels * num_classes + result["predictions"],
                         minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    out = args.out or checkpoint.path.parent / "confusion.png"
    title = f"{dataset} {args.split}: accuracy {100 * result['accuracy']:.2f}%"
    save_confusion(matrix, out, title)
    print(f"{dataset} {args.split} ({len(labels)} images): accuracy "
          f"{100 * result['accuracy']:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted class):")
    width = len(str(matrix.max()))
    for row in matrix:
        print("  " + " ".join(f"{count:>{width}d}" for count in row))
    print(f"wrote {out}")
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
            "Time each op, forward and forward+backward, and one lenet training step, for each "
            "strategy side by side in this process: every callable is warmed first "
            "(compilation is never timed), then the strategies are timed in turn, round after "
            "round, and the table gives medians, GFLOP/s and the ratio to the fastest. "
            "float32, LeNet-sized shapes (see mint.bench)."
        ),
    )
    parser.add_argument("--ops", type=_comma_list(bench.OPS), default=list(bench.OPS),
                        help=f"comma-separated ops to time (default: {','.join(bench.OPS)})")
    parser.add_argument(
        "--strategies", type=_comma_list(bench.ALL_STRATEGIES),
        help="comma-separated strategies (default: loop,vectorized and torch when installed)",
    )
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for Mint's kernels, BLAS and torch (default: all cores)")
    parser.add_argument("--rounds", metavar="N", type=positive_int, default=15,
                        help="timed calls per strategy and case; medians are reported "
                             "(default: 15)")
    parser.add_argument("--json", metavar="FILE", type=Path,
                        help="also write the results and the machine description as JSON")
    parser.add_argument("--plot", metavar="FILE", type=Path,
                        help="also write a bar chart (PNG) of each strategy's speed "
                             "relative to the fastest")
    parser.set_defaults(handler=run_bench)


def run_bench(args):
    strategies = args.strategies or [
        *bench.MINT_STRATEGIES, *(["torch"] if bench.torch_available() else [])
    ]
    if "torch" in strategies and not bench.torch_available():
        raise _UsageError("torch is not installed (python -m pip install torch==2.13.0)")
    threads = args.threads or numba.config.NUMBA_NUM_THREADS
    mint.set_num_threads(threads)
    if "torch" in strategies:
        import torch

        torch.set_num_threads(threads)
    meta = bench.machine_description(threads)
    print(f"mint bench: {meta['cpu']}, {meta['cores']} cores, {threads} thread(s), float32, "
          f"medians of {args.rounds} interleaved rounds")
    results = bench.run(args.ops, strategies, args.rounds, progress=lambda cases: tqdm(
        cases, desc="timing", unit="case", leave=False, disable=None))
    print(bench.format_table(results))
    if args.json:
        bench.write_json(results, args.json, meta)
        print(f"wrote {args.json}")
    if args.plot:
        bench.plot(results, args.plot)
        print(f"wrote {args.plot}")
    return 0


# --------------------------------------------------------------------------------------- main


class _UsageError(Exception):
    """Arguments that parse but do not fit together (or with a checkpoint)."""


def build_parser():
    parser = _Parser(
        prog="mint",
        description="Train, evaluate and benchmark small convolutional networks with Mint.",
    )
    parser.add_argument("--version", action="version", version=f"mint {mint.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_train_parser(subparsers)
    _add_evaluate_parser(subparsers)
    _add_bench_parser(subparsers)
    return parser


def main(argv=None):
    """Entry point of the ``mint`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    status = _run(args)
    if status and getattr(args, "distributed", False):
        distributed.abort(status)  # the other processes would wait for this one forever
    return status


def _run(args):
    prog = f"mint {args.command}"
    try:
        return args.handler(args)
    except _UsageError as error:
        print(f"{prog}: error: {error} (see {prog} --help)", file=sys.stderr)
        return 2
    except (data.DataError, CheckpointError, TrainingDiverged,
            distributed.DistributedError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # an output folder that cannot be written, a full disk, ...
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kept = " (the checkpoint of the last finished epoch is kept)" if args.command == "train" \
            else ""
        print(f"{prog}: interrupted{kept}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
