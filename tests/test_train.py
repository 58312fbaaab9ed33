"""mint.models, mint.train and mint.checkpoint: schedules, fit/evaluate, the NaN stop,
checkpoints (round trip, atomic writes, damaged files) and resume equivalence."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref

import numpy as np
import pytest

import mint
from helpers import no_space
from mint import files, models, nn, optim
from mint.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mint.data import load_digits
from mint.train import (
    HISTORY_FIELDS,
    TrainingDiverged,
    cosine_schedule,
    evaluate,
    fit,
    make_schedule,
    step_schedule,
    write_metrics,
)

TRAIN = tuple(a[:240] for a in load_digits("train"))
TEST = tuple(a[:120] for a in load_digits("test"))
DIGITS_LENET = models.architecture("lenet", in_shape=(1, 8, 8), num_classes=10)


@pytest.fixture(autouse=True)
def one_thread():
    """These arrays are tiny: one thread is faster than sharing them out, and keeps runs short
    on a busy machine."""
    previous = mint.get_num_threads()
    mint.set_num_threads(1)
    yield
    mint.set_num_threads(previous)


def make_run(architecture=DIGITS_LENET, lr=3e-3, seed=0):
    mint.manual_seed(seed)
    model = models.build(architecture, strategy="vectorized")
    return model, nn.CrossEntropyLoss(strategy="vectorized"), optim.Adam(model.parameters(), lr)


# ------------------------------------------------------------------------------------- models


def test_lenet_has_the_layers_and_shapes_of_the_issue():
    model = models.lenet()
    shapes = {name: p.shape for name, p in model.named_parameters()}
    assert shapes == {
        "0.weight": (32, 1, 3, 3), "0.bias": (32,),
        "3.weight": (64, 32, 3, 3), "3.bias": (64,),
        "7.weight": (128, 64 * 7 * 7), "7.bias": (128,),
        "9.weight": (10, 128), "9.bias": (10,),
    }
    assert models.lenet((1, 8, 8), strategy="vectorized")(TRAIN[0][:3]).shape == (3, 10)


def test_mlp_and_build_from_a_description():
    description = models.architecture("mlp", in_shape=(1, 8, 8), num_classes=10, hidden=(16,))
    assert description == {"name": "mlp", "in_shape": [1, 8, 8], "num_classes": 10,
                           "hidden": [16]}
    model = models.build(description)
    assert model(TRAIN[0][:4]).shape == (4, 10)
    assert [p.shape for p in model.parameters()] == [(16, 64), (16,), (10, 16), (10,)]


@pytest.mark.parametrize("bad", [{"name": "vgg"}, {"name": "lenet", "depth": 3}, "lenet"])
def test_build_rejects_an_unknown_description(bad):
    with pytest.raises(ValueError, match="architecture"):
        models.build(bad)


@pytest.mark.parametrize("name", ["lenet", "mlp"])
@pytest.mark.parametrize("strategy", sorted(mint.STRATEGIES))
def test_an_empty_batch_gives_an_empty_output(name, strategy):
    model = models.build(models.architecture(name, in_shape=(1, 28, 28), num_classes=10),
                         strategy=strategy)
    out = model(np.zeros((0, 1, 28, 28), dtype=np.float32))
    assert out.shape == (0, 10) and out.dtype == np.float32


def test_lenet_rejects_images_too_small_to_pool_twice():
    with pytest.raises(ValueError, match="at least 4"):
        models.lenet((1, 3, 8))


# ---------------------------------------------------------------------------------- schedules


def test_cosine_schedule_runs_from_lr_to_zero_through_half():
    schedule = cosine_schedule(0.1, epochs=4)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(2) == pytest.approx(0.05)
    assert schedule(4) == pytest.approx(0.0, abs=1e-12)
    values = [schedule(t / 10) for t in range(41)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


@pytest.mark.parametrize("epochs", range(1, 10))
def test_the_step_schedule_multiplies_by_a_tenth_after_each_third_of_the_run(epochs):
    schedule = make_schedule("step", 1.0, epochs)
    times = np.linspace(0, epochs, 600, endpoint=False)
    expected = [1.0 if t < epochs / 3 else 0.1 if t < 2 * epochs / 3 else 0.01 for t in times]
    assert [schedule(t) for t in times] == pytest.approx(expected)


def test_step_schedule_decays_every_step_size_epochs():
    schedule = step_schedule(1.0, step_size=2, gamma=0.5)
    assert [schedule(t) for t in (0, 1.9, 2, 3.5, 4)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert make_schedule("constant", 0.3, 5)(4.9) == 0.3
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_schedule("linear", 0.1, 3)


def test_a_warm_up_rises_linearly_to_lr_then_the_schedule_runs_over_the_epochs_left():
    schedule = make_schedule("cosine", 0.1, 3, warmup=0.5)
    assert [schedule(t) for t in (0, 0.25, 0.5)] == pytest.approx([0.0, 0.05, 0.1])
    rest = cosine_schedule(0.1, epochs=2.5)
    for t in (0.5, 1, 1.75, 2.9, 3):
        assert schedule(t) == pytest.approx(rest(t - 0.5), abs=1e-12), t
    step = make_schedule("step", 1.0, 4, warmup=1)  # decays after a third of the 3 epochs left
    assert [step(t) for t in (0.5, 1, 1.9, 2, 3, 3.9)] == pytest.approx(
        [0.5, 1, 1, 0.1, 0.01, 0.01])
    assert make_schedule("constant", 0.3, 2, warmup=1.5)(1.5) == 0.3
    assert make_schedule("cosine", 0.1, 3, warmup=0)(1) == cosine_schedule(0.1, 3)(1)


@pytest.mark.parametrize("warmup", [-0.5, 3, 4])
def test_a_warm_up_must_end_before_the_schedule_does(warmup):
    with pytest.raises(ValueError, match=f"warmup must be >= 0 and shorter than the 3 epochs "
                                         f"of the schedule, got {warmup}"):
        make_schedule("cosine", 0.1, 3, warmup=warmup)


# --------------------------------------------------------------------------------- fit, evaluate


def test_fit_learns_the_digits_and_records_every_epoch(tmp_path):
    model, loss_fn, optimizer = make_run()
    seen = []
    history = fit(model, loss_fn, optimizer, load_digits("train"), 3, 32, val=TEST,
                  progress=False, schedule=make_schedule("cosine", 3e-3, 3),
                  on_epoch=lambda h: seen.append(len(h)))
    assert seen == [1, 2, 3]
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert all(set(row) == set(HISTORY_FIELDS) for row in history)
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["test_accuracy"] > 0.85
    assert history[-1]["lr"] < 3e-3 / 10  # the cosine has nearly reached zero
    result = evaluate(model, TEST, loss_fn)
    assert result["accuracy"] == pytest.approx(history[-1]["test_accuracy"])
    assert result["loss"] == pytest.approx(history[-1]["test_loss"])
    assert model.training  # evaluate restores the mode
    write_metrics(history, tmp_path / "metrics.csv")
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == ",".join(HISTORY_FIELDS) and len(lines) == 4


def test_evaluate_counts_correct_predictions():
    model = models.build(models.architecture("mlp", in_shape=(1, 8, 8), num_classes=10,
                                             hidden=()))
    last = model[-1]
    last.weight.data[...] = 0
    last.bias.data[...] = np.eye(10, dtype=np.float32)[3]  # always predicts class 3
    result = evaluate(model, TEST, batch_size=7)
    assert result["accuracy"] == pytest.approx(np.mean(TEST[1] == 3))
    assert result["loss"] is None and (result["predictions"] == 3).all()


class NanAfter(nn.CrossEntropyLoss):
    """Cross-entropy that returns NaN from call number ``calls`` on."""

    def __init__(self, calls):
        super().__init__(strategy="vectorized")
        self.calls, self.count = calls, 0

    def forward(self, logits, target):
        self.count += 1
        loss = super().forward(logits, target)
        return math.nan if self.count >= self.calls else loss


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    model, _, optimizer = make_run()
    path = tmp_path / "model.npz"
    batches_per_epoch = len(TRAIN[1]) // 32 + 1
    warm_up = 1  # fit calls the loss once before the first epoch, to compile the kernels
    snapshots = []
    with pytest.raises(TrainingDiverged, match="nan at epoch 2, batch 3") as info:
        fit(model, NanAfter(warm_up + batches_per_epoch + 3), optimizer, TRAIN, 5, 32,
            progress=False, checkpoint=path, architecture=DIGITS_LENET,
            on_epoch=lambda h: snapshots.append(model.state_dict()))
    assert f"checkpoint of epoch 1 is kept at {path}" in str(info.value)
    assert [row["epoch"] for row in info.value.history] == [1]
    saved = load_checkpoint(path)
    assert saved.epoch == 1
    for name, value in snapshots[0].items():
        np.testing.assert_array_equal(saved.model_state[name], value)


class CountsAndDraws(nn.Module):
    """The identity, which counts its training forward passes in a buffer and draws a number
    from Mint's generator in each, as BatchNorm's counter and Dropout's masks do."""

    def __init__(self):
        self.calls = nn.Buffer(np.array(0, np.int64))
        self.draws = []

    def forward(self, x):
        if self.training:
            self.calls.data += 1
            self.draws.append(mint.runtime.default_generator().random())
        self.save_for_backward(x.shape)
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        return grad_out


def test_the_warm_up_leaves_buffers_and_mints_generator_as_they_were():
    counter = CountsAndDraws()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), counter)
    mint.manual_seed(5)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, 1, 32,
        progress=False)
    batches = math.ceil(len(TRAIN[1]) / 32)
    assert int(counter.calls.data) == batches  # not one more for the warm-up's forward
    # The epoch draws what it would have drawn without the warm-up (whose draw is given back).
    assert counter.draws[-batches:] == list(np.random.default_rng(5).random(batches))


class SlowFirstCall(nn.Module):
    """The identity, whose first call takes a second, as a kernel that compiles on first use."""

    calls = 0

    def forward(self, x):
        type(self).calls += 1
        if type(self).calls == 1:
            time.sleep(1.0)
        self.save_for_backward(x.shape)
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        return grad_out


def test_compiling_on_the_first_call_is_kept_out_of_the_epoch_time():
    mint.manual_seed(0)
    model = nn.Sequential(SlowFirstCall(), nn.Flatten(), nn.Linear(64, 10, strategy="vectorized"))
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), TRAIN, 1,
                  32, progress=False)
    assert SlowFirstCall.calls > 1 and history[0]["seconds"] < 0.5


class CtrlCInACallback(nn.Module):
    """The identity, where a Ctrl-C lands in a weakref callback on the 5th call, as it landed
    once in WeakKeyDictionary's: Python prints "Exception ignored in ..." and goes on."""

    calls = 0

    def forward(self, x):
        CtrlCInACallback.calls += 1
        if CtrlCInACallback.calls == 5:
            doomed = nn.Identity()
            reference = weakref.ref(doomed, lambda _: signal.raise_signal(signal.SIGINT))
            del doomed  # the callback runs, and its KeyboardInterrupt is swallowed
            assert reference() is None
        self.save_for_backward(x.shape)
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        return grad_out


def test_a_ctrl_c_that_python_swallows_still_stops_training_at_the_next_step(monkeypatch):
    model, loss_fn, optimizer = make_run()
    model = nn.Sequential(CtrlCInACallback(), model)
    steps, unraisable = [], []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    schedule = lambda t: steps.append(t) or 3e-3  # noqa: E731 (called once a step)
    with pytest.raises(KeyboardInterrupt):
        fit(model, loss_fn, optimizer, TRAIN, 5, 32, schedule=schedule, progress=False)
    assert len(steps) == 3  # the warm-up's two calls, then three steps: the third stops
    assert unraisable == []  # no "Exception ignored in ..." printed beside mint's one line
    assert sys.unraisablehook == unraisable.append  # and the hook is given back


def test_a_ctrl_c_swallowed_after_the_last_step_still_ends_the_run_as_interrupted():
    model, loss_fn, optimizer = make_run()

    def ctrl_c_in_a_callback(history):
        doomed = nn.Identity()
        reference = weakref.ref(doomed, lambda _: signal.raise_signal(signal.SIGINT))
        del doomed
        assert reference() is None

    with pytest.raises(KeyboardInterrupt):
        fit(model, loss_fn, optimizer, TRAIN, 1, 32, on_epoch=ctrl_c_in_a_callback,
            progress=False)


def test_fit_and_evaluate_say_what_data_they_expect():
    model, loss_fn, optimizer = make_run()
    images, labels = TRAIN
    with pytest.raises(TypeError, match=r"evaluate: data must be a pair \(images, labels\)"):
        evaluate(model, images)
    with pytest.raises(TypeError, match=r"fit: train images must be a numpy.ndarray"):
        fit(model, loss_fn, optimizer, (images.tolist(), labels.tolist()), 1, 32)
    with pytest.raises(TypeError, match=r"fit: val labels must be a numpy.ndarray"):
        fit(model, loss_fn, optimizer, TRAIN, 1, 32, val=(images, list(labels)))
    with pytest.raises(ValueError, match=r"evaluate: data has 240 images but 10 labels"):
        evaluate(model, (images, labels[:10]))
    with pytest.raises(TypeError, match=r"evaluate: data labels must hold integers"):
        evaluate(model, (images, labels.astype(np.float32)))
    with pytest.raises(TypeError, match=r"fit: train images must be float32 or float64 with a "
                                        r"batch axis, shape \(N, ...\); got uint8"):
        fit(model, loss_fn, optimizer, ((images * 255).astype(np.uint8), labels), 1, 32)
    with pytest.raises(TypeError, match=r"evaluate: data images must be float32 or float64"):
        evaluate(model, (images[:, 0, 0, 0], labels))
    with pytest.raises(ValueError, match=r"fit: val images have shape \(1, 4, 4\), but train "):
        fit(model, loss_fn, optimizer, TRAIN, 1, 32, val=(images[:, :, :4, :4], labels))


def test_labels_outside_the_models_classes_are_refused_before_any_work():
    model, loss_fn, optimizer = make_run()
    images, labels = TRAIN
    wrong = labels.copy()
    wrong[7] = 12
    with pytest.raises(ValueError, match=r"evaluate: data labels must be class indices from 0 "
                                         r"to 9 \(the model has 10 outputs\); label 7 is 12"):
        evaluate(model, (images, wrong))
    before = model.state_dict()
    epochs = []
    for train, val, name in (((images, wrong), None, "train"), (TRAIN, (images, wrong), "val"),
                             (TRAIN, (images, -labels), "val")):
        with pytest.raises(ValueError, match=rf"fit: {name} labels must be class indices"):
            fit(model, loss_fn, optimizer, train, 1, 32, val=val, on_epoch=epochs.append)
    assert epochs == []
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_evaluating_a_model_with_nan_parameters_warns():
    model, _, _ = make_run()
    model[0].weight.data[0, 0, 0, 0] = np.nan
    with pytest.warns(RuntimeWarning, match=r"NaN or infinite parameters \(0.weight\)"):
        evaluate(model, TEST)


def test_a_large_weight_decay_is_named_when_training_diverges():
    mint.manual_seed(0)
    model = models.build(DIGITS_LENET, strategy="vectorized")
    optimizer = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e300)
    with pytest.raises(TrainingDiverged, match="smaller learning rate or weight decay"):
        fit(model, nn.CrossEntropyLoss(), optimizer, TRAIN, 1, 32, progress=False)


def test_a_learning_rate_far_too_large_diverges_with_a_clear_message():
    mint.manual_seed(0)
    model = models.build(DIGITS_LENET, strategy="vectorized")
    optimizer = optim.SGD(model.parameters(), lr=1e12)
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        fit(model, nn.CrossEntropyLoss(), optimizer, TRAIN, 3, 32, progress=False)


# -------------------------------------------------------------------------------- checkpoints


def saved_run(tmp_path, epochs=1):
    model, loss_fn, optimizer = make_run()
    path = tmp_path / "model.npz"
    rng = np.random.default_rng(5)
    history = fit(model, loss_fn, optimizer, TRAIN, epochs, 32, progress=False, seed=rng,
                  checkpoint=path, architecture=DIGITS_LENET, config={"note": "x"})
    return model, optimizer, rng, history, path


def test_a_checkpoint_restores_model_optimizer_generator_and_history(tmp_path):
    model, optimizer, rng, history, path = saved_run(tmp_path)
    saved = load_checkpoint(path)
    assert saved.epoch == 1 and saved.history == history and saved.config == {"note": "x"}
    restored = saved.build_model()
    for (name, a), (_, b) in zip(model.named_parameters(), restored.named_parameters(),
                                 strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    fresh = optim.Adam(restored.parameters(), 1.0)
    saved.restore_optimizer(fresh)
    for key, value in optimizer.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value, err_msg=key)
    assert saved.generator().random() == rng.random()
    with np.load(path, allow_pickle=False) as archive:  # readable without pickle
        assert "meta" in archive.files


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    model, optimizer, _, _, path = saved_run(tmp_path)
    before = path.read_bytes()
    original_savez = np.savez

    def savez_then_crash(file, **arrays):
        original_savez(file, **arrays)
        file.truncate(file.tell() // 2)  # half of the new archive is on disk ...
        raise KeyboardInterrupt  # ... when the process is stopped

    monkeypatch.setattr("mint.checkpoint.np.savez", savez_then_crash)
    for parameter in model.parameters():
        parameter.data += 1
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, DIGITS_LENET, optimizer=optimizer, epoch=2)
    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


_SAVE_FOREVER = textwrap.dedent("""
    import sys
    import mint
    from mint import models
    from mint.checkpoint import save_checkpoint
    architecture = models.architecture("mlp", in_shape=[1, 28, 28], num_classes=10,
                                       hidden=[512, 512])
    model = models.build(architecture)
    epoch = 0
    while True:
        for parameter in model.parameters():
            parameter.data[...] = epoch
        save_checkpoint(sys.argv[1], model, architecture, epoch=epoch)
        print(epoch, flush=True)
        epoch += 1
""")


def test_killing_the_process_while_it_saves_never_damages_the_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    process = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, str(path)],
                               stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(3):  # three completed saves, then a kill at some moment of the fourth
            assert process.stdout.readline(), "the saving process died"
        time.sleep(np.random.default_rng().uniform(0, 0.05))
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    saved = load_checkpoint(path)
    assert saved.epoch >= 2
    assert all((value == saved.epoch).all() for value in saved.model_state.values())


def test_write_atomically_gives_the_mode_of_an_ordinary_file(tmp_path):
    previous = os.umask(0o022)
    try:
        files.write_atomically(tmp_path / "new", lambda file: file.write(b"x"))
        os.umask(0o077)
        files.write_atomically(tmp_path / "private", lambda file: file.write(b"x"))
        (tmp_path / "kept").write_bytes(b"old")
        (tmp_path / "kept").chmod(0o604)
        files.write_atomically(tmp_path / "kept", lambda file: file.write(b"new"))
    finally:
        os.umask(previous)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "kept").stat().st_mode & 0o777 == 0o604  # a rewrite keeps the mode


def test_write_atomically_names_the_file_it_could_not_write(tmp_path, monkeypatch):
    (tmp_path / "kept").write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match=r"No space left on device: '.*kept'") as raised:
        files.write_atomically(tmp_path / "kept", lambda file: file.write(b"new"))
    assert raised.value.errno == 28 and raised.value.filename == str(tmp_path / "kept")
    assert (tmp_path / "kept").read_bytes() == b"old" and os.listdir(tmp_path) == ["kept"]
    monkeypatch.undo()
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as raised:
        files.check_writable(folder)
    assert raised.value.filename == str(folder)
    below_a_file = tmp_path / "kept" / "x"
    for write in (files.check_writable,
                  lambda path: files.write_atomically(path, lambda file: file.write(b"x"))):
        with pytest.raises(OSError) as raised:
            write(below_a_file)
        assert raised.value.filename == str(below_a_file)  # not the temporary file's name
    files.check_writable(tmp_path / "new" / "deeper" / "file")  # folders it would create
    assert sorted(os.listdir(tmp_path)) == ["folder", "kept"]


@pytest.mark.parametrize("edit, message", [
    (lambda meta: meta.pop("architecture"), "lacks 'architecture'"),
    (lambda meta: meta.pop("history"), "lacks 'history'"),
    (lambda meta: meta.update(epoch="two"), "'epoch' must be an int >= 0"),
    (lambda meta: meta.update(history={"epoch": 1}), "'history' must be a list of dicts"),
    (lambda meta: meta.update(config=[]), "'config' must be a dict"),
    (lambda meta: meta.update(architecture="lenet"), "'architecture' must be a dict"),
])
def test_a_checkpoint_with_edited_metadata_is_refused_naming_the_field(tmp_path, edit, message):
    *_, path = saved_run(tmp_path)
    arrays = dict(np.load(path))
    meta = json.loads(str(arrays["meta"]))
    edit(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_a_truncated_checkpoint_raises_a_clear_error(tmp_path):
    *_, path = saved_run(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(path)


def test_a_corrupted_checkpoint_raises_a_clear_error(tmp_path):
    *_, path = saved_run(tmp_path)
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle: middle + 64] = bytes(64)  # zeroes in the middle of a parameter
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(path)


def test_files_that_are_not_checkpoints_are_rejected(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a Mint checkpoint"):
        load_checkpoint(other)


def test_a_checkpoint_whose_parameters_do_not_match_its_architecture_is_rejected(tmp_path):
    model, _, optimizer = make_run()
    path = tmp_path / "model.npz"
    wrong = models.architecture("lenet", in_shape=(1, 28, 28), num_classes=10)
    save_checkpoint(path, model, wrong, optimizer=optimizer)
    saved = load_checkpoint(path)
    with pytest.raises(CheckpointError, match="do not match its architecture.*7.weight"):
        saved.build_model()
    with pytest.raises(CheckpointError, match="optimizer Adam, not SGD"):
        saved.restore_optimizer(optim.SGD(model.parameters(), lr=0.1))


# -------------------------------------------------------------------------------------- resume


@pytest.mark.parametrize("optimizer_name", ["adam", "sgd"])
def test_resuming_from_epoch_k_gives_the_weights_of_an_uninterrupted_run(tmp_path,
                                                                          optimizer_name):
    epochs, k, lr = 4, 2, 0.01

    def start():
        mint.manual_seed(3)
        model = models.build(DIGITS_LENET, strategy="vectorized")
        optimizer = (optim.Adam(model.parameters(), lr) if optimizer_name == "adam"
                     else optim.SGD(model.parameters(), lr, momentum=0.9, weight_decay=1e-4))
        return model, optimizer

    def run(model, optimizer, stop, **kwargs):
        return fit(model, nn.CrossEntropyLoss(), optimizer, TRAIN, stop, 32, val=TEST,
                   schedule=make_schedule("cosine", lr, epochs), progress=False,
                   architecture=DIGITS_LENET, **kwargs)

    whole, whole_optimizer = start()
    whole_history = run(whole, whole_optimizer, epochs, seed=7)

    first, first_optimizer = start()
    run(first, first_optimizer, k, seed=7, checkpoint=tmp_path / "model.npz")
    del first, first_optimizer
    saved = load_checkpoint(tmp_path / "model.npz")
    resumed = saved.build_model(strategy="vectorized")
    resumed_optimizer = (optim.Adam(resumed.parameters(), lr) if optimizer_name == "adam"
                         else optim.SGD(resumed.parameters(), lr, momentum=0.9,
                                        weight_decay=1e-4))
    saved.restore_optimizer(resumed_optimizer)
    resumed_history = run(resumed, resumed_optimizer, epochs, seed=saved.generator(),
                          start_epoch=saved.epoch, history=saved.history)

    for (name, a), (_, b) in zip(whole.named_parameters(), resumed.named_parameters(),
                                 strict=True):
        np.testing.assert_allclose(b.data, a.data, rtol=0, atol=1e-6, err_msg=name)
    assert [row["loss"] for row in resumed_history] == pytest.approx(
        [row["loss"] for row in whole_history], abs=1e-9)
