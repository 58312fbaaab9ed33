"""Data-parallel training over MPI (``mint.distributed``, ``mint train --distributed``).

The MPI tests start ``mpiexec -n 2`` (or 3) on this machine, as a user does, and compare the
weights each run saved with those of one process taking the same global batches. They run the
digits on the vectorized strategy (no Numba compilation per process) to stay quick.
"""

import functools
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import start_interruptible
from mint import cli, data, distributed, models, nn, optim
from mint.checkpoint import load_checkpoint
from mint.data import Batches
from mint.train import fit

# mpich's wheel puts mpiexec beside the interpreter, which may not be on PATH.
_BESIDE_PYTHON = Path(sys.executable).parent / "mpiexec"
MPIEXEC = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.is_file() else shutil.which("mpiexec")
MPI_MISSING = importlib.util.find_spec("mpi4py") is None or MPIEXEC is None
if MPI_MISSING and os.environ.get("CI"):
    raise RuntimeError("CI must run the MPI tests: .ci/run installs mpi4py and mpich")
requires_mpi = pytest.mark.skipif(
    MPI_MISSING, reason="needs mpi4py and mpiexec: python -m pip install mpi4py mpich"
)
TIMEOUT = 180  # seconds for one mpiexec run: a hang fails the test instead of blocking CI
DIGITS = ["--dataset", "digits", "--seed", "3"]
# A resumed run keeps its schedule's length, so runs resumed for more epochs than they were
# started with follow an uninterrupted one only with a learning rate that does not depend on it.
CONSTANT = ["--schedule", "constant"]
# float32 weights of N processes x batch B vs 1 process x batch N*B. They differ by rounding
# (the gradient sums run in another order), about 2e-7 after 2 epochs, unless that difference
# flips the winner of a max-pooling window whose two largest inputs are within rounding of each
# other: the gradient then takes another path, which Adam (dividing by the root of tiny second
# moments) grows to ~6e-4 within an epoch. On lenet with Adam that happened in 2 of 4 three-
# process runs tried, in none of 5 two-process runs, and never with SGD, which does not grow it.
RELATIVE_ERROR = 1e-5


def mpiexec(processes, *argv, timeout=TIMEOUT):
    """Run ``python argv...`` on ``processes`` MPI processes; the finished process."""
    command = [MPIEXEC, "-n", str(processes), sys.executable, *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def mint_train(processes, *argv):
    """``mpiexec -n processes mint train --distributed argv...``, which must succeed."""
    done = mpiexec(processes, "-m", "mint", "train", "--distributed", *argv)
    assert done.returncode == 0, done.stderr
    return done


def train_here(*argv):
    """``mint train argv...`` in this process (no MPI), which must succeed."""
    assert cli.main(["train", *map(str, argv)]) == 0


def weight_errors(path, reference):
    """Per parameter, |w - w_ref| / |w_ref| (Frobenius norms) of two checkpoints' weights."""
    weights, expected = load_checkpoint(path).model_state, load_checkpoint(reference).model_state
    assert weights.keys() == expected.keys()
    return {name: float(np.linalg.norm(weights[name] - expected[name])
                        / np.linalg.norm(expected[name])) for name in expected}


def assert_same_weights(path, reference):
    errors = weight_errors(path, reference)
    assert max(errors.values()) <= RELATIVE_ERROR, errors


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """``run(name, *argv)``: the folder of a plain 1-process ``mint train`` run, done once."""
    runs = {}

    def run(name, *argv):
        if name not in runs:
            runs[name] = tmp_path_factory.mktemp(name)
            train_here(*DIGITS, *argv, "--out", runs[name])
        return runs[name]

    return run


# ------------------------------------------------------------------------------ without MPI


@given(n=st.integers(1, 300), batch_size=st.integers(1, 40), world=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_the_shards_of_each_step_make_up_the_global_batch(n, batch_size, world, seed):
    images, labels = np.arange(n, dtype=np.float32) * 10, np.arange(n)
    whole = list(Batches(images, labels, batch_size * world, shuffle=True, seed=seed))
    shards = [distributed.ShardedBatches(images, labels, batch_size, shuffle=True, seed=seed,
                                         rank=rank, world_size=world) for rank in range(world)]
    assert all(len(batches) == len(whole) for batches in shards)
    parts_per_step = zip(*(list(batches) for batches in shards), strict=True)
    for step, (parts, (x, y)) in enumerate(zip(parts_per_step, whole, strict=True)):
        sizes = [len(labels) for _, labels in parts]
        assert max(sizes) - min(sizes) <= 1
        assert all(size == batch_size for size in sizes) or step == len(whole) - 1
        assert sum(sizes) == shards[0].global_size(step) == len(y)
        np.testing.assert_array_equal(np.concatenate([labels for _, labels in parts]), y)
        np.testing.assert_array_equal(np.concatenate([images for images, _ in parts]), x)


@pytest.mark.parametrize("world", [2, 3])
def test_augmented_shards_make_up_the_augmented_global_batch(world):
    images = np.random.default_rng(0).random((23, 1, 5, 4), dtype=np.float32)
    labels = np.arange(23)
    augment = functools.partial(data.augment, crop_padding=1, flip=True)
    whole = list(Batches(images, labels, 4 * world, shuffle=True, seed=7, augment=augment))
    shards = [list(distributed.ShardedBatches(images, labels, 4, shuffle=True, seed=7, rank=rank,
                                              world_size=world, augment=augment))
              for rank in range(world)]
    for parts, (x, y) in zip(zip(*shards, strict=True), whole, strict=True):
        np.testing.assert_array_equal(np.concatenate([labels for _, labels in parts]), y)
        np.testing.assert_array_equal(np.concatenate([images for images, _ in parts]), x)


@pytest.mark.parametrize("rank, world", [(-1, 2), (2, 2)])
def test_a_rank_outside_the_world_is_an_error(rank, world):
    with pytest.raises(ValueError, match="rank must be in"):
        distributed.ShardedBatches(np.zeros(4), np.zeros(4), 2, rank=rank, world_size=world)


def test_importing_mint_never_imports_mpi4py():
    code = "import sys, mint, mint.cli, mint.train; print('mpi4py' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_without_mpi4py_distributed_says_what_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    monkeypatch.setattr(distributed, "_world", None)
    status = cli.main(["train", "--distributed", *DIGITS, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert len(err.strip().splitlines()) == 1 and "pip install" in err and "mpi4py" in err


def test_train_help_offers_distributed(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "--distributed" in capsys.readouterr().out


def test_distributed_fit_needs_a_loss_averaged_over_the_batch():
    model = models.mlp((1, 2, 2), hidden=())
    data = (np.zeros((4, 1, 2, 2), np.float32), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="averages over the batch"):
        fit(model, nn.CrossEntropyLoss(reduction="sum"), optim.SGD(model.parameters(), lr=0.1),
            data, epochs=1, batch_size=2, distributed=True)


# -------------------------------------------------------------------------------- under MPI


@requires_mpi
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_processes_take_the_steps_of_one_with_twice_the_batch(one_process, tmp_path,
                                                                 optimizer):
    reference = one_process(f"{optimizer}64", "--epochs", "2", "--batch-size", "64",
                            "--optimizer", optimizer)
    done = mint_train(2, *DIGITS, "--epochs", "2", "--batch-size", "32", "--optimizer",
                      optimizer, "--out", tmp_path)
    assert_same_weights(tmp_path / "model.npz", reference / "model.npz")
    # Only rank 0 prints: one header, one line per epoch, with the world size.
    assert "batch 64 (32 per process)" in done.stdout
    epoch_lines = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all("on 2 processes" in line for line in epoch_lines)
    assert load_checkpoint(tmp_path / "model.npz").config["batch_size"] == 64
    # The comparison can fail: one process with batch 32 ends far from it.
    smaller = one_process(f"{optimizer}32", "--epochs", "2", "--batch-size", "32",
                          "--optimizer", optimizer)
    assert max(weight_errors(smaller / "model.npz", reference / "model.npz").values()) > 1e-3


@requires_mpi
def test_a_two_process_checkpoint_resumes_on_one_process(one_process, tmp_path):
    reference = one_process("constant", *CONSTANT, "--epochs", "2", "--batch-size", "64")
    mint_train(2, *DIGITS, *CONSTANT, "--epochs", "1", "--batch-size", "32", "--out", tmp_path)
    train_here("--resume", tmp_path / "model.npz", "--epochs", "2")
    assert_same_weights(tmp_path / "model.npz", reference / "model.npz")


@requires_mpi
def test_a_one_process_checkpoint_resumes_on_two_processes(one_process, tmp_path):
    reference = one_process("constant", *CONSTANT, "--epochs", "2", "--batch-size", "64")
    train_here(*DIGITS, *CONSTANT, "--epochs", "1", "--batch-size", "64", "--out", tmp_path)
    done = mint_train(2, "--resume", tmp_path / "model.npz", "--epochs", "2")
    assert "batch 64 (32 per process)" in done.stdout
    assert_same_weights(tmp_path / "model.npz", reference / "model.npz")


@requires_mpi
@pytest.mark.parametrize("limit", [1000, 961])  # last global batch of 96: 40 images, and 1
def test_three_processes_on_a_data_set_no_batch_divides(one_process, tmp_path, limit):
    sgd = ["--optimizer", "sgd"]  # see RELATIVE_ERROR
    reference = one_process(f"limit{limit}", *sgd, "--epochs", "2", "--batch-size", "96",
                            "--limit", limit)
    mint_train(3, *DIGITS, *sgd, "--epochs", "2", "--batch-size", "32", "--limit", limit,
               "--out", tmp_path)
    assert_same_weights(tmp_path / "model.npz", reference / "model.npz")
    saved, expected = (load_checkpoint(path / "model.npz").history[-1]
                       for path in (tmp_path, reference))
    assert saved["test_accuracy"] == expected["test_accuracy"]  # evaluation split over 3
    assert saved["processes"] == 3


FAILING_SCRIPT = """
    import time
    from mint import distributed, models, nn, optim
    from mint.data import load_digits
    from mint.train import fit

    class FailingLoss(nn.CrossEntropyLoss):
        calls = 0

        def forward(self, logits, target):
            self.calls += 1
            if distributed.rank() == 1 and self.calls == 5:
                raise RuntimeError(f"bad batch on process 1 at {time.time()}")
            return super().forward(logits, target)

    distributed.init()
    model = models.mlp((1, 8, 8), hidden=(16,))
    fit(model, FailingLoss(), optim.SGD(model.parameters(), lr=0.1), load_digits(), epochs=1000,
        batch_size=8, progress=False, distributed=True)
"""


@requires_mpi
def test_one_process_raising_mid_epoch_ends_the_job_quickly_with_its_error(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(textwrap.dedent(FAILING_SCRIPT))
    done = mpiexec(2, script)
    ended = time.time()
    assert done.returncode != 0
    assert "RuntimeError: bad batch on process 1" in done.stderr
    failed = float(re.search(r"RuntimeError: bad batch on process 1 at (\S+)", done.stderr)[1])
    assert ended - failed < 15  # seconds: the other process does not wait for it forever


@requires_mpi
def test_a_usage_error_on_every_process_ends_the_job_with_its_message(one_process):
    checkpoint = one_process("constant", *CONSTANT, "--epochs", "2", "--batch-size",
                             "64") / "model.npz"
    done = mpiexec(3, "-m", "mint", "train", "--distributed", "--resume", checkpoint,
                   "--epochs", "3")
    assert done.returncode == 2
    assert "64 images per step, which 3 processes cannot share equally" in done.stderr
    assert "Traceback" not in done.stderr


@requires_mpi
def test_the_nan_stop_ends_every_process_and_is_reported_once(tmp_path):
    done = mpiexec(2, "-m", "mint", "train", "--distributed", *DIGITS, "--optimizer", "sgd",
                   "--lr", "1e4", "--epochs", "2", "--out", tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("training stopped: the loss became nan") == 1, done.stderr


@requires_mpi
def test_ctrl_c_ends_every_process_and_keeps_the_last_checkpoint(tmp_path):
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "mint", "train", "--distributed",
               *DIGITS, "--epochs", "1000", "--out", str(tmp_path)]
    job = start_interruptible(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        for line in job.stdout:  # wait for the first epoch's checkpoint
            if line.startswith("epoch 1/"):
                break
        # Ctrl-C in a terminal: SIGINT to every process of the job, mpiexec and the ranks
        os.killpg(job.pid, signal.SIGINT)
        start = time.monotonic()
        _, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
    assert time.monotonic() - start < 15
    assert job.returncode == 130, err
    # Rank 0 says what it saved, as a single process does, and leaves a clean folder.
    epoch = load_checkpoint(tmp_path / "model.npz").epoch
    assert epoch >= 1
    assert (f"mint train: interrupted; {tmp_path / 'model.npz'} holds epoch {epoch} of 1000, "
            f"and metrics.csv and curves.png beside it match it; continue with: mint train "
            f"--resume {tmp_path / 'model.npz'}") in err, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["curves.png", "metrics.csv",
                                                               "model.npz"]
