"""``mint train``: train a network, and keep its run folder consistent whatever happens (a
folder that holds another run is refused, one run at a time writes to a folder, Ctrl-C and a
full disk end in one line saying which epoch ``model.npz`` holds and how to continue)."""

import contextlib
import datetime
import os
import signal
import threading
from pathlib import Path

import numpy as np

import mint
from mint import data, distributed, files, models, nn, optim
from mint.checkpoint import load_checkpoint
from mint.cli.options import _compute_settings
from mint.cli.output import _count, _Failure, _Interrupted, _os_error, _UsageError
from mint.cli.runs import (
    _add_train_options,
    _augmentation,
    _check_input_shape,
    _finite_model,
    _load,
    _make_optimizer,
    _resumed_settings,
    _schedule,
    _train_settings,
)
from mint.train import TrainingDiverged, fit, load_pyplot, save_curves, write_metrics

AUTO_DOWNLOAD_TIMEOUT = 5.0  # seconds: `mint train` offline must fall back to digits quickly
RESULT_FILES = ("model.npz", "metrics.csv", "curves.png")


def add_parser(subparsers):
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
    parser.set_defaults(handler=run)


def run(args):
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


def _default_out_dir():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out, suffix = Path("runs") / stamp, 1
    while out.exists():
        suffix += 1
        out = Path("runs") / f"{stamp}-{suffix}"
    return out


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
            loss_fn = nn.CrossEntropyLoss(label_smoothing=settings["label_smoothing"])
            history = fit(
                model, loss_fn, optimizer, train, settings["epochs"],
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
