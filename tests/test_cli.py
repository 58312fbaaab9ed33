"""The ``mint`` command end to end: help, argument errors, train, evaluate, resume, fallback."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mint import cli, data
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


# ------------------------------------------------------------------------- help and bad input


@pytest.mark.parametrize("command, options", [
    ("train", ["--dataset", "--data-dir", "--model", "--epochs", "--batch-size", "--optimizer",
               "--lr", "--momentum", "--weight-decay", "--strategy", "--threads", "--seed",
               "--out", "--resume", "--schedule", "--limit", "--augment"]),
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

    monkeypatch.setattr(cli, "write_metrics", stop_after_epoch_1)
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


def test_a_diverging_run_stops_with_one_line_and_keeps_its_files(capsys, tmp_path):
    status, _, err = run(capsys, *QUICK, "--epochs", "2", "--optimizer", "sgd", "--lr", "1e12",
                         "--schedule", "constant", "--out", tmp_path)
    assert status == 1
    assert "training stopped" in err and "smaller learning rate" in err
    assert len(err.strip().splitlines()) == 1


def test_auto_falls_back_to_the_digits_when_mnist_is_unreachable(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MINT_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))
    status, stdout, _ = run(capsys, "train", "--limit", "100", "--epochs", "1",
                            "--out", tmp_path / "run")
    assert status == 0
    first, second = stdout.splitlines()[:2]
    assert "could not be downloaded: using the bundled 8x8 digits" in first
    assert second.startswith("digits:")


def test_mnist_named_but_absent_is_a_one_line_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT", 2.0)
    status, _, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", tmp_path,
                         "--out", tmp_path / "run")
    assert status == 1 and "could not download" in err and "MINT_DATA" in err


@requires_mnist
def test_mint_train_on_a_few_hundred_mnist_images_as_a_console_command(tmp_path):
    """The installed entry point, on real MNIST (what ``auto`` picks when it is found)."""
    out = tmp_path / "run"
    env = {**os.environ, "MINT_DATA": str(MNIST_DIR), "CI": "true"}
    command = [sys.executable, "-m", "mint.cli", "train", "--limit", "300", "--epochs", "1",
               "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mnist: 300 training and 300 test images")
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "metrics.csv", "model.npz"]
    result = subprocess.run([sys.executable, "-m", "mint.cli", "evaluate", str(out / "model.npz"),
                             "--limit", "500"], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "mnist test (500 images): accuracy" in result.stdout
