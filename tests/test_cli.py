"""The ``mint`` command end to end: help, argument errors, train, evaluate, resume, fallback."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

import mint
from helpers import no_space, start_interruptible
from mint import cli, data, optim
from mint.checkpoint import load_checkpoint

MNIST_DIR = Path(os.environ["MINT_DATA"]) if os.environ.get("MINT_DATA") else None
requires_mnist = pytest.mark.skipif(
    MNIST_DIR is None or data.missing_mnist_files(MNIST_DIR) != [],
    reason="MNIST not found: set MINT_DATA to a folder with the four MNIST files",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A quick digits run: 200 training and 200 test images.
QUICK = ["train", "--dataset", "digits", "--limit", "200", "--batch-size", "50"]


def run(capsys, *argv):
    """``mint argv...`` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as stop:  # argparse exits on --help and on bad arguments
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def read_metrics(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


# The folder holding this checkout's ``mint`` package, so subprocesses run the same code.
SOURCE = Path(mint.__file__).resolve().parents[1]


def start_mint(*argv, env=None):
    """``python -m mint argv...`` in a subprocess (as CI runs it: no progress bars)."""
    paths = [str(SOURCE), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "CI": "true", "PYTHONPATH": os.pathsep.join(paths),
                   **(env or {})}
    return start_interruptible([sys.executable, "-m", "mint", *map(str, argv)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment)


def wait_for_line(process, prefix, timeout=120):
    """Read the process's output up to a line starting with ``prefix``; the lines read."""
    deadline, lines = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the process ended before printing {prefix!r}: {lines}")
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no line starting with {prefix!r} within {timeout} s: {lines}")


def assert_folder_matches_its_checkpoint(out, epochs):
    """metrics.csv and curves.png describe the model.npz beside them; returns its epoch."""
    saved = load_checkpoint(out / "model.npz")
    assert [int(row["epoch"]) for row in read_metrics(out / "metrics.csv")] == list(
        range(1, saved.epoch + 1))
    assert (out / "curves.png").read_bytes().startswith(PNG_MAGIC)
    assert not list(out.glob(".*.tmp"))
    return saved.epoch


# ------------------------------------------------------------------------- help and bad input


@pytest.mark.parametrize("command, options", [
    ("train", ["--dataset", "--data-dir", "--model", "--epochs", "--batch-size", "--optimizer",
               "--lr", "--momentum", "--weight-decay", "--strategy", "--threads", "--seed",
                "--out", "--overwrite", "--resume", "--schedule", "--warmup", "--limit",
                "--augment", "--label-smoothing"]),
    ("evaluate", ["FILE", "--dataset", "--data-dir", "--split", "--out", "--strategy"]),
])
def test_help_of_each_command_lists_every_option(capsys, command, options):
    status, out, _ = run(capsys, command, "--help")
    assert status == 0
    for option in options:
        assert option in out, option


def test_top_level_help_names_the_commands(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "train" in out and "evaluate" in out


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "--epochs: must be > 0"),
    (["train", "--lr", "-1"], "--lr: must be > 0"),
    (["train", "--lr", "nan"], "--lr: must be > 0"),
    (["train", "--batch-size", "many"], "--batch-size: expected an integer"),
    (["train", "--dataset", "cifar"], "--dataset: invalid choice"),
    (["train", "--momentum", "1.5", "--optimizer", "sgd"], "--momentum: must be in [0, 1)"),
    (["train", "--threads", "100000"], "--threads: must be at most"),
    (["train", "--momentum", "0.5"], "--momentum applies to --optimizer sgd only"),
    (["train", "--augment", "rotate"], "--augment: expected none, or a comma-separated list of "
                                       "crop, crop=N and flip, got 'rotate'"),
    (["train", "--augment", "crop=-1"], "--augment: expected none"),
    (["train", "--augment", "none,flip"], "--augment: none cannot be combined"),
    (["train", "--augment", "crop,crop=3"], "--augment: crop is given twice in 'crop,crop=3'"),
    (["train", "--augment", "flip,crop,flip"], "--augment: flip is given twice"),
    (["train", "--augment", "crop=0"], "--augment: expected none"),
    (["evaluate"], "required: FILE"),
    ([], "required: COMMAND"),
])
def test_bad_arguments_get_a_one_line_error(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_evaluating_a_damaged_checkpoint_is_a_one_line_error(capsys, tmp_path):
    damaged = tmp_path / "model.npz"
    damaged.write_bytes(b"PK\x03\x04 not really a zip file")
    status, _, err = run(capsys, "evaluate", damaged)
    assert status == 1 and "truncated or corrupted" in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ train, evaluate


def test_train_writes_checkpoint_metrics_and_curves_then_evaluate_reads_them(capsys, tmp_path):
    out = tmp_path / "run"
    status, stdout, _ = run(capsys, *QUICK, "--epochs", "2", "--out", out, "--threads", "1")
    assert status == 0
    assert stdout.startswith("digits: 200 training and 200 test images")
    assert "test accuracy" in stdout and str(out / "model.npz") in stdout
    rows = read_metrics(out / "metrics.csv")
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"loss", "train_accuracy", "test_accuracy", "seconds", "images_per_second"} <= set(
        rows[0])
    assert (out / "curves.png").read_bytes().startswith(PNG_MAGIC)
    assert load_checkpoint(out / "model.npz").epoch == 2

    status, stdout, _ = run(capsys, "evaluate", out / "model.npz", "--limit", "200")
    assert status == 0
    accuracy = float(rows[-1]["test_accuracy"])  # training saw the same 200 test images
    assert f"digits test (200 images): accuracy {100 * accuracy:.2f}%" in stdout

    status, stdout, _ = run(capsys, "evaluate", out / "model.npz")
    assert status == 0 and "digits test (359 images): accuracy" in stdout
    assert (out / "confusion.png").read_bytes().startswith(PNG_MAGIC)
    # The printed matrix has one row per class and sums to the number of images.
    matrix = [line.split() for line in stdout.splitlines() if line.startswith("  ")]
    assert len(matrix) == 10 and sum(int(c) for row in matrix for c in row) == 359


@pytest.mark.parametrize("augment", [[], ["--augment", "crop=1,flip"]])
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(capsys, tmp_path,
                                                                     monkeypatch, augment):
    settings = [*QUICK, "--epochs", "3", "--optimizer", "sgd", "--lr", "0.05",
                "--strategy", "vectorized", *augment]
    assert run(capsys, *settings, "--out", tmp_path / "whole")[0] == 0

    def stop_after_epoch_1(rows, path):  # called once the epoch's checkpoint is written
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.train, "write_metrics", stop_after_epoch_1)
    status, _, err = run(capsys, *settings, "--out", tmp_path / "part")
    assert status == 130 and "interrupted" in err
    monkeypatch.undo()
    status, stdout, _ = run(capsys, "train", "--resume", tmp_path / "part" / "model.npz")
    assert status == 0 and "after 3 epochs" in stdout

    whole = load_checkpoint(tmp_path / "whole" / "model.npz")
    resumed = load_checkpoint(tmp_path / "part" / "model.npz")
    assert resumed.epoch == 3
    for name, value in whole.model_state.items():
        np.testing.assert_allclose(resumed.model_state[name], value, rtol=0, atol=1e-6,
                                   err_msg=name)
    assert len(read_metrics(tmp_path / "part" / "metrics.csv")) == 3


def test_resume_refuses_settings_that_differ_from_the_saved_run(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    checkpoint = tmp_path / "model.npz"
    status, _, err = run(capsys, "train", "--resume", checkpoint, "--lr", "0.5")
    assert status == 2 and "--lr 0.5 differs from the resumed run's" in err
    status, _, err = run(capsys, "train", "--resume", checkpoint)
    assert status == 2 and "finished 1 of 1 epochs" in err
    status, _, err = run(capsys, "train", "--resume", checkpoint, "--augment", "crop")
    assert status == 2 and "--augment crop=2 differs from the resumed run's none" in err


def test_augment_changes_the_training_batches_and_is_stored_with_the_run(capsys, tmp_path):
    for name, augment in (("plain", "none"), ("crop", "crop"), ("both", "flip,crop=1")):
        status, stdout, _ = run(capsys, *QUICK, "--epochs", "1", "--strategy", "vectorized",
                                "--augment", augment, "--out", tmp_path / name)
        assert status == 0
    saved = {name: load_checkpoint(tmp_path / name / "model.npz")
             for name in ("plain", "crop", "both")}
    assert [saved[name].config["augment"] for name in saved] == ["none", "crop=2", "crop=1,flip"]
    assert "augment crop=1,flip" in stdout
    plain = saved["plain"].model_state["0.weight"]
    assert not np.array_equal(saved["crop"].model_state["0.weight"], plain)
    assert not np.array_equal(saved["both"].model_state["0.weight"], plain)


def test_a_crop_that_would_leave_the_images_blank_is_refused_before_training(capsys, tmp_path):
    status, out, err = run(capsys, *QUICK, "--augment", "crop=100,flip", "--out", tmp_path / "a")
    assert status == 2 and "epoch" not in out and not (tmp_path / "a").exists()
    assert err.startswith("mint train: error: --augment crop=100 shifts the 8x8 images by up "
                          "to 100 pixels, leaving many of them mostly blank; give crop=N with N "
                          "below 4 (half their side)")
    assert len(err.strip().splitlines()) == 1
    assert run(capsys, *QUICK, "--augment", "crop=4", "--out", tmp_path / "b")[0] == 2
    assert run(capsys, *QUICK, "--epochs", "1", "--augment", "crop=3",
               "--out", tmp_path / "c")[0] == 0


def test_a_diverging_run_stops_with_one_line_and_keeps_its_files(capsys, tmp_path):
    status, _, err = run(capsys, *QUICK, "--epochs", "2", "--optimizer", "sgd", "--lr", "1e12",
                         "--schedule", "constant", "--out", tmp_path)
    assert status == 1
    assert "training stopped" in err and "smaller learning rate" in err
    assert len(err.strip().splitlines()) == 1


def test_auto_falls_back_to_the_digits_when_mnist_is_unreachable(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MINT_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data.mnist, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))
    status, stdout, _ = run(capsys, "train", "--limit", "100", "--epochs", "1",
                            "--out", tmp_path / "run")
    assert status == 0
    first, second = stdout.splitlines()[:2]
    assert "could not be downloaded: using the bundled 8x8 digits" in first
    assert second.startswith("digits:")


def test_mnist_named_but_absent_is_a_one_line_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(data.mnist, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.setattr(data.sources, "DOWNLOAD_TIMEOUT", 2.0)
    status, _, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", tmp_path,
                         "--out", tmp_path / "run")
    assert status == 1 and "could not download" in err and "MINT_DATA" in err


@requires_mnist
def test_mint_train_on_a_few_hundred_mnist_images_as_a_console_command(tmp_path):
    """The installed entry point, on real MNIST (what ``auto`` picks when it is found)."""
    out = tmp_path / "run"
    env = {**os.environ, "MINT_DATA": str(MNIST_DIR), "CI": "true"}
    command = [sys.executable, "-m", "mint", "train", "--limit", "300", "--epochs", "1",
               "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mnist: 300 training and 300 test images")
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "metrics.csv", "model.npz"]
    result = subprocess.run([sys.executable, "-m", "mint", "evaluate", str(out / "model.npz"),
                             "--limit", "500"], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "mnist test (500 images): accuracy" in result.stdout


# ------------------------------------------------------------------------------ output folders


def test_a_folder_holding_a_run_is_refused_unless_overwrite_is_given(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    before = {name: (tmp_path / name).read_bytes() for name in cli.train.RESULT_FILES}
    status, out, err = run(capsys, *QUICK, "--epochs", "1", "--model", "mlp", "--out", tmp_path)
    assert status == 2 and "epoch" not in out
    assert f"{tmp_path} already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert {name: (tmp_path / name).read_bytes() for name in cli.train.RESULT_FILES} == before

    (tmp_path / "confusion.png").write_bytes(PNG_MAGIC)  # from evaluating the old model
    status, _, _ = run(capsys, *QUICK, "--epochs", "1", "--model", "mlp", "--out", tmp_path,
                       "--overwrite")
    assert status == 0
    assert load_checkpoint(tmp_path / "model.npz").architecture["name"] == "mlp"
    assert not (tmp_path / "confusion.png").exists()  # it described the replaced model


def test_resuming_another_checkpoint_never_replaces_the_run_in_its_folder(capsys, tmp_path):
    """In place means the folder's own model.npz: a copy kept beside it is another run."""
    run_folder = tmp_path / "R"
    assert run(capsys, *QUICK, "--epochs", "1", "--out", run_folder)[0] == 0
    backup = run_folder / "epoch1-backup.npz"
    backup.write_bytes((run_folder / "model.npz").read_bytes())
    assert run(capsys, "train", "--resume", run_folder / "model.npz", "--epochs", "3")[0] == 0
    newer = {name: (run_folder / name).read_bytes() for name in cli.train.RESULT_FILES}

    status, out, err = run(capsys, "train", "--resume", backup, "--epochs", "2")
    assert status == 2 and "epoch" not in out
    assert f"{run_folder} already holds a run" in err and "--out" in err
    assert len(err.strip().splitlines()) == 1
    assert {name: (run_folder / name).read_bytes() for name in cli.train.RESULT_FILES} == newer

    status, _, _ = run(capsys, "train", "--resume", backup, "--epochs", "2",
                       "--out", tmp_path / "branch")
    assert status == 0 and load_checkpoint(tmp_path / "branch" / "model.npz").epoch == 2
    assert (run_folder / "model.npz").read_bytes() == newer["model.npz"]


def test_a_second_run_into_a_folder_in_use_fails_at_once_naming_the_first(capsys, tmp_path):
    out = tmp_path / "run"
    first = start_mint("train", "--dataset", "digits", "--epochs", "30", "--out", out)
    try:
        wait_for_line(first, "epoch 1/30")
        writing = out / ".model.npz.live01.tmp"  # as the first run's next save would be
        writing.write_bytes(b"being written")
        started = time.monotonic()
        for argv in ([*QUICK, "--out", out, "--overwrite"],
                     ["train", "--resume", out / "model.npz", "--epochs", "40"]):
            status, stdout, err = run(capsys, *argv)
            assert status == 1 and "epoch" not in stdout
            assert f"{out} is in use by another mint train (pid {first.pid})" in err
        assert time.monotonic() - started < 10
        assert first.poll() is None and writing.exists()  # the first run carries on, untouched
    finally:
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 130 and "mint train --resume" in err


def unwritable_folder(tmp_path):
    """An existing folder this process cannot create files in."""
    if not hasattr(os, "geteuid"):
        pytest.skip("needs POSIX permissions")
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if Path("/proc").is_dir():  # root may write anywhere, except into /proc
        return Path("/proc")
    pytest.skip("running as root without /proc: no folder is unwritable")


def test_an_unwritable_out_is_refused_before_training(capsys, tmp_path):
    folder = unwritable_folder(tmp_path)
    status, out, err = run(capsys, *QUICK, "--epochs", "1", "--out", folder)
    assert status == 2 and "epoch" not in out
    assert f"--out: cannot write to {folder}" in err and len(err.strip().splitlines()) == 1


def test_a_full_disk_names_the_file_and_says_which_epoch_is_safe(capsys, tmp_path, monkeypatch):
    out = tmp_path / "run"
    report = cli.train._report_epoch

    def fill_the_disk_after_epoch_1(rows, epochs, folder):
        report(rows, epochs, folder)
        monkeypatch.setattr(os, "fsync", no_space)

    monkeypatch.setattr(cli.train, "_report_epoch", fill_the_disk_after_epoch_1)
    status, _, err = run(capsys, *QUICK, "--epochs", "3", "--out", out)
    monkeypatch.undo()
    assert status == 1
    assert err == (f"mint train: error: {out / 'model.npz'}: No space left on device; "
                   f"{out / 'model.npz'} holds epoch 1 of 3; continue with: mint train "
                   f"--resume {out / 'model.npz'}\n")
    assert load_checkpoint(out / "model.npz").epoch == 1 and not list(out.glob(".*.tmp"))


def test_outputs_that_cannot_be_written_are_refused_before_the_work(capsys, tmp_path):
    folder = unwritable_folder(tmp_path)
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path / "run")[0] == 0
    status, out, err = run(capsys, "export", tmp_path / "run" / "model.npz",
                           folder / "model.onnx")
    assert status == 2 and out == ""
    assert err.startswith(f"mint export: error: OUT: cannot write {folder / 'model.onnx'} (")
    for option in ("--json", "--plot"):
        status, out, err = run(capsys, "bench", "--ops", "cross_entropy", "--strategies",
                               "vectorized", "--rounds", "1", option, folder / "b.png")
        assert status == 2 and out == ""
        assert err.startswith(f"mint bench: error: {option}: cannot write {folder / 'b.png'} (")
        assert len(err.strip().splitlines()) == 1


def test_a_run_removes_temporary_files_left_by_a_killed_save(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    stale = [tmp_path / ".model.npz.k2j4h6.tmp", tmp_path / ".metrics.csv.a1b2c3.tmp"]
    other = tmp_path / ".notes.txt.x.tmp"  # not one of the run's files: left alone
    for path in (*stale, other):
        path.write_bytes(b"half a file")
    assert run(capsys, "train", "--resume", tmp_path / "model.npz", "--epochs", "2")[0] == 0
    assert not any(path.exists() for path in stale) and other.exists()


def test_the_files_of_a_run_get_the_mode_the_umask_gives(capsys, tmp_path):
    previous = os.umask(0o027)
    try:
        assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    finally:
        os.umask(previous)
    for name in cli.train.RESULT_FILES:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640, name


def test_out_and_resume_paths_expand_the_home_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert run(capsys, *QUICK, "--epochs", "1", "--out=~/run")[0] == 0
    assert (tmp_path / "run" / "model.npz").is_file() and not (tmp_path / "~").exists()
    assert run(capsys, "train", "--resume=~/run/model.npz", "--epochs", "2")[0] == 0
    assert run(capsys, "evaluate", "~/run/model.npz", "--out=~/c.png")[0] == 0
    assert (tmp_path / "c.png").is_file()


# ---------------------------------------------------------------------------------- interrupts


def test_ctrl_c_while_the_command_line_is_read_ends_in_one_line(monkeypatch, capsys):
    """After the imports and before the command runs (building the parser, reading the
    arguments), as the "while starting" case below can hit once the imports are quick."""
    from mint.__main__ import main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    try:
        status = main(["train"])
    except KeyboardInterrupt:  # would stop pytest itself rather than fail this test
        pytest.fail("the Ctrl-C escaped mint's entry point as a traceback")
    assert status == 130
    assert capsys.readouterr().err == "mint: interrupted while starting; nothing was saved\n"


class SwallowsACtrlC(types.ModuleType):
    """A module whose import swallows a Ctrl-C and fails, as NumPy's core does when the SIGINT
    lands while it imports ``datetime`` from C: an ImportError that does not say why."""

    def __getattr__(self, name):
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass
        raise AttributeError(name)


def test_ctrl_c_swallowed_by_an_import_ends_in_one_line(monkeypatch, capsys):
    from mint.__main__ import main

    monkeypatch.setitem(sys.modules, "mint.cli", SwallowsACtrlC("mint.cli"))
    assert main(["train"]) == 130
    assert capsys.readouterr().err == "mint: interrupted while starting; nothing was saved\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_import_error_without_a_ctrl_c_is_not_taken_for_one(monkeypatch):
    from mint.__main__ import main

    monkeypatch.setitem(sys.modules, "mint.cli", None)  # import mint.cli raises ImportError
    with pytest.raises(ImportError):
        main(["train"])


def wait_for_numpy(process, timeout=60):
    """Wait until ``process`` has NumPy's compiled core mapped: mint's command line is then being
    imported (``import mint`` alone loads no NumPy), NumPy and Numba take about a second. A
    fixed sleep sometimes ended before Python itself was up on a busy machine, and the SIGINT
    then landed in Python's own start-up (site's imports), which prints a traceback."""
    maps, deadline = Path(f"/proc/{process.pid}/maps"), time.monotonic() + timeout
    if not maps.exists():  # not Linux: a guess
        time.sleep(0.5)
        return
    while "_multiarray_umath" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.005)


@pytest.mark.parametrize("moment", ["while starting", "before the first checkpoint",
                                    "after the first epoch", "after the last epoch"])
def test_ctrl_c_at_any_moment_ends_in_one_true_line_and_a_consistent_folder(tmp_path, moment):
    out = tmp_path / "run"
    process = start_mint("train", "--dataset", "digits", "--epochs", "3", "--out", out)
    try:
        if moment == "while starting":
            wait_for_numpy(process)
        else:
            wait_for_line(process, {"before the first checkpoint": "digits:",
                                    "after the first epoch": "epoch 1/3",
                                    "after the last epoch": "epoch 3/3"}[moment])
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(("mint train: interrupted", "mint: interrupted while starting"))
    if (out / "model.npz").exists():
        epoch = assert_folder_matches_its_checkpoint(out, 3)
        assert f"{out / 'model.npz'} holds epoch {epoch} of 3" in err
        if epoch < 3:
            assert f"continue with: mint train --resume {out / 'model.npz'}" in err
    else:
        assert "nothing was saved" in err
        assert not out.exists()  # the folder this run created, empty, is gone


def test_a_run_started_where_sigint_is_ignored_can_still_be_interrupted(tmp_path):
    """As when pytest runs as a background job (``pytest &``), whose children inherit an
    ignored SIGINT."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = start_mint("train", "--dataset", "digits", "--epochs", "30",
                             "--out", tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        wait_for_line(process, "epoch 1/30")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 130 and "interrupted" in err


def test_after_kill_9_a_resume_repairs_the_folder_before_training(tmp_path):
    out = tmp_path / "run"
    process = start_mint("train", "--dataset", "digits", "--epochs", "6", "--out", out)
    try:
        wait_for_line(process, "epoch 2/6")
    finally:
        process.kill()
        process.communicate(timeout=60)
    # As a kill between the checkpoint and the metrics would leave it:
    epoch = load_checkpoint(out / "model.npz").epoch
    (out / "metrics.csv").write_text("epoch\n")
    (out / "curves.png").unlink(missing_ok=True)
    (out / ".model.npz.x8f9a1.tmp").write_bytes(b"half a checkpoint")

    process = start_mint("train", "--resume", out / "model.npz")
    try:
        lines = wait_for_line(process, "resuming at epoch")
        assert f"resuming at epoch {epoch} of 6" in lines[-1]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and len(err.strip().splitlines()) == 1, err
    assert assert_folder_matches_its_checkpoint(out, 6) >= epoch


def test_a_reader_that_stops_reading_ends_mint_quietly(capsys, tmp_path):
    """As ``mint evaluate ... | head -1``: here the reader has gone before mint writes."""
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    process = start_mint("evaluate", tmp_path / "model.npz")
    process.stdout.close()
    assert process.stderr.read() == ""
    assert process.wait(timeout=120) == cli.BROKEN_PIPE


def test_python_dash_m_mint_runs_the_command():
    process = start_mint("--version")
    stdout, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert stdout.strip() == f"mint {mint.__version__}"


# ----------------------------------------------------------------------- schedules and resume


def test_the_step_schedule_decays_twice_whatever_the_number_of_epochs(capsys, tmp_path):
    status, out, _ = run(capsys, "train", "--help")
    assert "x0.1 after the first and the second third of the run" in " ".join(out.split())
    assert run(capsys, *QUICK, "--epochs", "4", "--schedule", "step", "--lr", "0.01",
               "--out", tmp_path)[0] == 0
    rates = [float(row["lr"]) for row in read_metrics(tmp_path / "metrics.csv")]
    # lr of the last step of each epoch: t = 0.75, 1.75, 2.75, 3.75; the thirds end at 4/3, 8/3
    assert rates == pytest.approx([0.01, 0.001, 0.0001, 0.0001])


def cut_after_epoch_1(path, to):
    """A copy of the checkpoint at ``path`` in folder ``to``, as if interrupted after epoch 1."""
    to.mkdir()
    arrays = dict(np.load(path))
    meta = json.loads(str(arrays["meta"]))
    meta.update(epoch=1, history=meta["history"][:1])
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(to / "model.npz", **arrays)
    return to / "model.npz"


def lrs(folder):
    return [float(row["lr"]) for row in read_metrics(folder / "metrics.csv")]


def test_a_resumed_run_says_where_it_resumes_and_at_which_learning_rate(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "3", "--out", tmp_path)[0] == 0
    status, out, _ = run(capsys, "train", "--resume",
                         cut_after_epoch_1(tmp_path / "model.npz", tmp_path / "cut"))
    assert status == 0
    lr = 3e-3 * 0.5 * (1 + np.cos(np.pi / 3))
    assert f"resuming at epoch 1 of 3, lr {lr:.3g} (cosine schedule)" in out


def test_extending_a_finished_run_starts_a_new_schedule_and_says_so(capsys, tmp_path,
                                                                     monkeypatch):
    assert run(capsys, *QUICK, "--epochs", "2", "--out", tmp_path / "short")[0] == 0
    status, out, _ = run(capsys, "train", "--resume", tmp_path / "short" / "model.npz",
                         "--epochs", "4")
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("resuming"))
    assert line.startswith("resuming at epoch 2 of 4: the run had finished its 2 epochs (lr "
                           "down to ")
    assert line.endswith("so a new cosine schedule runs over epochs 3-4, from lr 0.003")
    # Epochs 3 and 4 follow the schedule of epochs 1 and 2 again: a warm restart.
    extended = lrs(tmp_path / "short")
    assert extended[2:] == pytest.approx(extended[:2])

    # Interrupted in the extension and resumed, the run keeps the new schedule.
    assert run(capsys, *QUICK, "--epochs", "2", "--out", tmp_path / "again")[0] == 0

    def stop_after_epoch_3(rows, epochs, out):  # called once the epoch's checkpoint is written
        if rows[-1]["epoch"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.train, "_report_epoch", stop_after_epoch_3)
    status, _, err = run(capsys, "train", "--resume", tmp_path / "again" / "model.npz",
                         "--epochs", "4")
    assert status == 130 and "holds epoch 3 of 4" in err
    monkeypatch.undo()
    status, out, _ = run(capsys, "train", "--resume", tmp_path / "again" / "model.npz")
    assert status == 0 and "resuming at epoch 3 of 4, lr" in out
    assert lrs(tmp_path / "again") == pytest.approx(extended)
    for name, value in load_checkpoint(tmp_path / "short" / "model.npz").model_state.items():
        np.testing.assert_array_equal(
            load_checkpoint(tmp_path / "again" / "model.npz").model_state[name], value, name)
    # One more epoch: a range of one.
    status, out, _ = run(capsys, "train", "--resume", tmp_path / "short" / "model.npz",
                         "--epochs", "5")
    assert status == 0 and "so a new cosine schedule runs over epoch 5, from lr 0.003" in out


def test_a_new_total_for_an_unfinished_run_moves_the_end_of_its_schedule(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "3", "--out", tmp_path / "three")[0] == 0
    assert run(capsys, *QUICK, "--epochs", "5", "--out", tmp_path / "five")[0] == 0
    cut = cut_after_epoch_1(tmp_path / "three" / "model.npz", tmp_path / "cut")
    status, out, _ = run(capsys, "train", "--resume", cut, "--epochs", "5")
    assert status == 0
    assert ("resuming at epoch 1 of 5 (the run was planned for 3 epochs): its cosine schedule "
            "now ends at epoch 5, so the lr goes from ") in out
    assert lrs(tmp_path / "cut")[1:] == pytest.approx(lrs(tmp_path / "five")[1:])


def test_a_warm_up_raises_the_lr_first_and_a_resumed_run_keeps_it(capsys, tmp_path):
    # 4 steps an epoch: each epoch's lr is its last step's, at t = 0.75, 1.75, 2.75.
    argv = [*QUICK, "--epochs", "3", "--warmup", "1.5", "--schedule", "constant", "--lr", "0.01"]
    assert run(capsys, *argv, "--out", tmp_path / "full")[0] == 0
    assert lrs(tmp_path / "full") == pytest.approx([0.005, 0.01, 0.01])
    assert load_checkpoint(tmp_path / "full" / "model.npz").config["warmup"] == 1.5
    cut = cut_after_epoch_1(tmp_path / "full" / "model.npz", tmp_path / "cut")
    status, out, _ = run(capsys, "train", "--resume", cut)
    assert status == 0 and "resuming at epoch 1 of 3, lr 0.00667 (constant schedule)" in out
    assert lrs(tmp_path / "cut") == pytest.approx(lrs(tmp_path / "full"))
    status, _, err = run(capsys, "train", "--resume", cut, "--warmup", "0.5", "--epochs", "4")
    assert status == 2 and "--warmup 0.5 differs from the resumed run's 1.5" in err
    # Extended once finished, the run warms up again over its new schedule, if that is longer.
    status, _, err = run(capsys, "train", "--resume", tmp_path / "full" / "model.npz",
                         "--epochs", "4")
    assert status == 2 and ("--warmup 1.5 must be shorter than the 1 epoch of the new schedule "
                            "that extending a finished run starts; pass --epochs N > 4.5") in err
    assert run(capsys, "train", "--resume", tmp_path / "full" / "model.npz",
               "--epochs", "5")[0] == 0
    assert lrs(tmp_path / "full")[3:] == pytest.approx([0.005, 0.01])


def test_the_vit_trains_with_its_own_defaults_unless_told_otherwise(capsys):
    def settings(*argv):
        args = cli.runs._train_option_parser().parse_args(["--model", "vit", *argv])
        return cli.runs._train_settings(args, "mnist")

    chosen = settings()
    assert (chosen["batch_size"], chosen["lr"], chosen["warmup"]) == (32, 2e-3, 0.5)
    chosen = settings("--batch-size", "64", "--lr", "1e-3", "--warmup", "0")
    assert (chosen["batch_size"], chosen["lr"], chosen["warmup"]) == (64, 1e-3, 0)
    chosen = settings("--optimizer", "sgd")  # the lr is the optimizer's, the warm-up the vit's
    assert (chosen["lr"], chosen["warmup"]) == (optim.OPTIMIZERS["sgd"].defaults["lr"], 0.5)
    assert cli.runs._train_settings(cli.runs._train_option_parser().parse_args([]),
                                    "mnist")["warmup"] == 0
    out = " ".join(run(capsys, "train", "--help")[1].split())
    assert "vit trains with batch 32, lr 0.002, a warm-up of 0.5 epochs" in out


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "2", "--warmup", "2"], "--warmup 2 must be shorter than the run's 2 epochs; "
                                         "pass --epochs N > 2"),
    (["--warmup", "-1"], "argument --warmup: must be >= 0, got -1"),
    (["--label-smoothing", "1"], "argument --label-smoothing: must be in [0, 1), got 1"),
])
def test_a_warm_up_or_label_smoothing_out_of_range_is_a_usage_error(capsys, tmp_path, argv,
                                                                    message):
    status, _, err = run(capsys, *QUICK, *argv, "--out", tmp_path / "run")
    assert status == 2 and message in err and not (tmp_path / "run").exists(), err


def test_label_smoothing_reaches_the_loss_and_a_resumed_run_keeps_it(capsys, tmp_path,
                                                                     monkeypatch):
    smoothing = []

    def fit(model, loss_fn, *args, **kwargs):
        smoothing.append(loss_fn.label_smoothing)
        return train_fit(model, loss_fn, *args, **kwargs)

    train_fit = cli.train.fit
    monkeypatch.setattr(cli.train, "fit", fit)
    argv = [*QUICK, "--epochs", "2", "--label-smoothing", "0.3", "--out", tmp_path / "run"]
    assert run(capsys, *argv)[0] == 0
    cut = cut_after_epoch_1(tmp_path / "run" / "model.npz", tmp_path / "cut")
    assert load_checkpoint(cut).config["label_smoothing"] == 0.3
    assert run(capsys, "train", "--resume", cut)[0] == 0
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path / "plain")[0] == 0
    assert smoothing == [0.3, 0.3, 0.0]


def test_a_checkpoint_saved_before_warm_up_and_label_smoothing_resumes_without_them(capsys,
                                                                                     tmp_path):
    assert run(capsys, *QUICK, "--epochs", "3", "--out", tmp_path / "full")[0] == 0
    cut = cut_after_epoch_1(tmp_path / "full" / "model.npz", tmp_path / "cut")
    rewrite_meta(cut, lambda meta: [meta["config"].pop(key)
                                    for key in ("warmup", "label_smoothing")])
    assert run(capsys, "train", "--resume", cut)[0] == 0
    assert lrs(tmp_path / "cut") == pytest.approx(lrs(tmp_path / "full"))
    config = load_checkpoint(cut).config
    assert (config["warmup"], config["label_smoothing"]) == (0.0, 0.0)


# -------------------------------------------------------------------------- smaller rough edges


def test_evaluate_out_names_a_folder_or_a_png_and_nothing_else(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path / "run")[0] == 0
    model = tmp_path / "run" / "model.npz"
    folder = tmp_path / "images"
    folder.mkdir()
    status, out, _ = run(capsys, "evaluate", model, "--out", folder)
    assert status == 0 and f"wrote {folder / 'confusion.png'}" in out
    assert (folder / "confusion.png").read_bytes().startswith(PNG_MAGIC)
    assert not (tmp_path / "images.png").exists()

    status, out, err = run(capsys, "evaluate", model, "--out", tmp_path / "c.txt")
    assert status == 2 and "--out: expected a folder or a file name ending in .png" in err
    assert len(err.strip().splitlines()) == 1 and "accuracy" not in out


def test_evaluate_shows_the_accuracy_even_when_the_image_cannot_be_saved(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    (tmp_path / "file").write_text("a file, not a folder")
    status, out, err = run(capsys, "evaluate", tmp_path / "model.npz", "--out",
                           tmp_path / "file" / "c.png")
    assert status == 1 and "accuracy" in out
    assert f"cannot write {tmp_path / 'file' / 'c.png'}" in err
    assert len(err.strip().splitlines()) == 1


def test_bench_plot_must_be_a_png_and_is_checked_before_timing(capsys, tmp_path):
    status, out, err = run(capsys, "bench", "--ops", "cross_entropy", "--strategies",
                           "vectorized", "--rounds", "1", "--plot", tmp_path / "b.txt")
    assert status == 2 and "--plot: expected a file name ending in .png" in err
    assert out == "" and len(err.strip().splitlines()) == 1


def test_mint_data_that_is_a_file_is_reported_as_not_a_directory(capsys, tmp_path, monkeypatch):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    monkeypatch.setenv("MINT_DATA", str(hosts))
    status, _, err = run(capsys, "train", "--limit", "100", "--epochs", "1",
                         "--out", tmp_path / "run")
    assert status == 1 and f"{hosts} is not a directory" in err
    assert len(err.strip().splitlines()) == 1


def idx_file(path, array):
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
                     + array.astype(np.uint8).tobytes())


def test_train_accepts_mnist_files_of_ones_own_with_a_one_line_warning(capsys, tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        images, labels = data.MNIST_SPLITS[split]
        idx_file(tmp_path / images, rng.integers(0, 256, (40, 28, 28)))
        idx_file(tmp_path / labels, np.arange(40) % 10)
    status, out, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", tmp_path,
                           "--epochs", "1", "--strategy", "vectorized", "--out", tmp_path / "run")
    assert status == 0 and out.startswith("mnist: 40 training and 40 test images")
    warnings = err.strip().splitlines()
    assert len(warnings) == 4
    assert all(line.startswith("mint train: warning: ") and "not the standard" in line
               for line in warnings)


def test_bad_labels_or_shapes_in_data_files_stop_a_run_before_it_trains(capsys, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "data"
    folder.mkdir()
    for split in ("train", "test"):
        images, labels = data.MNIST_SPLITS[split]
        idx_file(folder / images, rng.integers(0, 256, (40, 28, 28)))
        idx_file(folder / labels, np.arange(40) % 10)
    assert run(capsys, "train", "--dataset", "mnist", "--data-dir", folder, "--epochs", "1",
               "--strategy", "vectorized", "--out", tmp_path / "run")[0] == 0
    idx_file(folder / "t10k-labels-idx1-ubyte", np.arange(40) % 13)
    for argv in (["train", "--dataset", "mnist", "--out", tmp_path / "new"],
                 ["evaluate", tmp_path / "run" / "model.npz"]):
        status, out, err = run(capsys, *argv, "--data-dir", folder)
        assert status == 1 and out == "", err
        error = err.strip().splitlines()[-1]
        assert error == (f"mint {argv[0]}: error: {folder / 't10k-labels-idx1-ubyte'} holds "
                         f"label 10 (image 10); MNIST labels are 0 to 9")
    assert not (tmp_path / "new").exists()
    idx_file(folder / "t10k-labels-idx1-ubyte", np.arange(40) % 10)
    idx_file(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (40, 20, 20)))
    status, out, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", folder,
                           "--out", tmp_path / "new")
    assert status == 1 and out == ""
    assert err.strip().splitlines()[-1] == (
        "mint train: error: the mnist training images have shape (1, 28, 28) but its test "
        "images (1, 20, 20); they must match")


def test_a_weight_decay_that_diverges_is_named_in_the_message(capsys, tmp_path):
    status, _, err = run(capsys, *QUICK, "--epochs", "1", "--weight-decay", "1e300",
                         "--out", tmp_path)
    assert status == 1 and "training stopped" in err
    assert "weight decay 1e+300" in err and len(err.strip().splitlines()) == 1


def rewrite_meta(path, edit):
    arrays = dict(np.load(path))
    meta = json.loads(str(arrays["meta"]))
    edit(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


@pytest.mark.parametrize("field", ["architecture", "epoch", "history", "config", "optimizer",
                                   "rng_state"])
def test_a_checkpoint_whose_metadata_lacks_a_field_is_a_one_line_error(capsys, tmp_path, field):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    rewrite_meta(tmp_path / "model.npz", lambda meta: meta.pop(field))
    for argv in (["evaluate", tmp_path / "model.npz"],
                 ["train", "--resume", tmp_path / "model.npz", "--epochs", "2"]):
        status, _, err = run(capsys, *argv)
        assert status == 1 and f"lacks '{field}'" in err, err
        assert len(err.strip().splitlines()) == 1


def set_config(key, value):
    return lambda meta: meta["config"].update({key: value})


def set_history(row, key, value):
    return lambda meta: meta["history"][row].update({key: value})


@pytest.mark.parametrize("edit, message", [
    (set_config("dataset", "cifar"), "'dataset' is 'cifar', which --dataset refuses"),
    (set_config("dataset", "auto"), "'dataset' is 'auto', which --dataset refuses"),
    (set_config("model", "vgg"), "'model' is 'vgg', which --model refuses"),
    (set_config("optimizer", "lbfgs"), "'optimizer' is 'lbfgs', which --optimizer refuses"),
    (set_config("schedule", "linear"), "'schedule' is 'linear', which --schedule refuses"),
    (set_config("lr", "fast"), "'lr' is 'fast', which --lr refuses"),
    (set_config("lr", -1), "'lr' is -1, which --lr refuses (must be > 0, got -1)"),
    (set_config("weight_decay", None), "'weight_decay' is None, which --weight-decay refuses"),
    (set_config("batch_size", 0), "'batch_size' is 0, which --batch-size refuses"),
    (set_config("batch_size", True), "'batch_size' is True, which --batch-size refuses"),
    (set_config("epochs", "ten"), "'epochs' is 'ten', which --epochs refuses"),
    (set_config("seed", [1]), "'seed' is [1], which --seed refuses"),
    (set_config("augment", "rotate"), "'augment' is 'rotate', which --augment refuses"),
    (set_config("limit", -5), "'limit' is -5, which --limit refuses"),
    (set_config("warmup", -1), "'warmup' is -1, which --warmup refuses"),
    (set_config("label_smoothing", 1), "'label_smoothing' is 1, which --label-smoothing refuses"),
    (set_config("schedule_start", 9), "'schedule_start' must be an epoch from 0 to 2, got 9"),
    (lambda meta: meta["history"][0].pop("epoch"), "history row 1: 'epoch' must be an int"),
    (set_history(1, "epoch", 1), "history row 2: 'epoch' must be an int from 2 to 2, got 1"),
    (set_history(0, "loss", "low"), "history row 1: 'loss' must be a number, got 'low'"),
    (set_history(1, "lr", "fast"), "history row 2: 'lr' must be a number, got 'fast'"),
])
def test_every_run_setting_read_from_a_checkpoint_is_checked_as_its_option(capsys, tmp_path,
                                                                           edit, message):
    assert run(capsys, *QUICK, "--epochs", "2", "--out", tmp_path)[0] == 0
    path = tmp_path / "model.npz"
    rewrite_meta(path, edit)
    before = path.read_bytes()
    for argv in (["train", "--resume", path, "--epochs", "3"], ["evaluate", path]):
        status, out, err = run(capsys, *argv)
        assert status == 1 and "epoch" not in out and "accuracy" not in out, err
        assert err.startswith(f"mint {argv[0]}: error: {path}: its "), err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert path.read_bytes() == before


def test_a_checkpoint_with_nan_weights_is_flagged(capsys, tmp_path):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    arrays = dict(np.load(tmp_path / "model.npz"))
    arrays["model/0.weight"] = np.full_like(arrays["model/0.weight"], np.nan)
    np.savez(tmp_path / "model.npz", **arrays)
    status, out, err = run(capsys, "evaluate", tmp_path / "model.npz")
    assert status == 0 and "accuracy" in out
    assert "warning:" in err and "NaN or infinite" in err and "0.weight" in err
    status, _, err = run(capsys, "train", "--resume", tmp_path / "model.npz", "--epochs", "2")
    assert status == 1 and "NaN or infinite" in err and len(err.strip().splitlines()) == 1
    status, out, err = run(capsys, "export", tmp_path / "model.npz", tmp_path / "model.onnx")
    assert status == 1 and out == "" and not (tmp_path / "model.onnx").exists()
    assert err == (f"mint export: error: {tmp_path / 'model.npz'} holds NaN or infinite "
                   f"parameters (0.weight); export an earlier checkpoint or train again\n")


@pytest.mark.parametrize("in_shape", ["abc", [1, 8], [1, 0, 8], None])
def test_a_checkpoint_whose_architecture_cannot_be_built_is_a_one_line_error(capsys, tmp_path,
                                                                            in_shape):
    assert run(capsys, *QUICK, "--epochs", "1", "--out", tmp_path)[0] == 0
    path = tmp_path / "model.npz"
    rewrite_meta(path, lambda meta: meta["architecture"].update(in_shape=in_shape))
    for argv in (["evaluate", path], ["summary", path], ["export", path, tmp_path / "m.onnx"],
                 ["train", "--resume", path, "--epochs", "2"]):
        status, out, err = run(capsys, *argv)
        assert status == 1 and "accuracy" not in out, err
        assert f"{path}: its architecture is not one Mint can build (lenet: in_shape must " \
               f"be (channels, height, width), got {in_shape!r})" in err, err
        assert len(err.strip().splitlines()) == 1


def test_the_loop_strategy_says_it_compiles_before_the_first_epoch(capsys, tmp_path):
    status, out, _ = run(capsys, *QUICK, "--epochs", "1", "--strategy", "loop",
                         "--out", tmp_path)
    assert status == 0
    lines = out.splitlines()
    assert lines[1].startswith("compiling kernels (once") and lines[2].startswith("epoch 1/1")


def test_the_cli_reads_its_data_sets_and_optimizers_from_the_registries(capsys, tmp_path,
                                                                        monkeypatch):
    """A data set or an optimizer is one registry entry: the CLI offers it, with its defaults."""
    images, labels = data.load_digits("all")
    monkeypatch.setitem(data.DATASETS, "tiny", data.DatasetEntry(
        lambda root: ((images[:40], labels[:40]), (images[:40], labels[:40]),
                      data.DIGIT_CLASSES), "40 digits", epochs=1,
        batch_size=20, strategy="vectorized", threads=1))
    monkeypatch.setitem(optim.OPTIMIZERS, "heavy-ball", optim.OptimizerEntry(
        optim.SGD, "SGD with heavy momentum", {"lr": 0.02, "momentum": 0.5}))
    monkeypatch.setenv("COLUMNS", "10000")  # argparse would also wrap at the hyphen of heavy-ball
    status, out, err = run(capsys, "train", "--help")
    out = " ".join(out.split())
    assert "tiny: 40 digits" in out and "heavy-ball: SGD with heavy momentum" in out
    status, out, err = run(capsys, "train", "--dataset", "tiny", "--optimizer", "heavy-ball",
                           "--out", tmp_path / "run")
    assert status == 0, err
    settings = load_checkpoint(tmp_path / "run" / "model.npz").config
    assert (settings["epochs"], settings["batch_size"], settings["lr"], settings["momentum"]) == (
        1, 20, 0.02, 0.5)
    status, out, err = run(capsys, "train", "--dataset", "tiny", "--momentum", "0.5",
                           "--out", tmp_path / "adam")
    assert status == 2 and "--momentum applies to --optimizer sgd or heavy-ball only" in err
