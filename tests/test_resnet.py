"""models.resnet against the same network in PyTorch (weights and running statistics loaded
with load_state_dict), in train and eval mode; train()/eval() in fit and evaluate; the command
line on a ResNet (train, checkpoint, exact resume, evaluate); lenet's optional dropout."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mint
from helpers import STRATEGY_NAMES, TOLERANCES, assert_close, requires_torch, torch
from mint import cli, models, nn, optim
from mint.bench.specs import torch_resnet
from mint.checkpoint import load_checkpoint
from mint.data import load_digits
from mint.train import evaluate, fit

TRAIN = tuple(a[:192] for a in load_digits("train"))
TEST = tuple(a[:96] for a in load_digits("test"))


def twins(in_shape, widths, blocks, dtype, seed):
    """A torch ResNet with random weights and running statistics, and the Mint ResNet that
    loaded its state_dict."""
    torch.manual_seed(seed)
    reference = torch_resnet(in_shape, 10, widths, blocks).to(getattr(torch, dtype.__name__))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buffer in reference.named_buffers():
            if name.endswith("running_mean"):
                buffer.normal_(0, 0.5, generator=generator)
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 2, generator=generator)
            elif name.endswith("num_batches_tracked"):
                buffer.fill_(7)
        for name, parameter in reference.named_parameters():
            if ".bn" in f".{name}" and name.endswith("weight"):  # BatchNorm scale, not 1
                parameter.uniform_(0.5, 1.5, generator=generator)
            elif ".bn" in f".{name}":
                parameter.normal_(0, 0.3, generator=generator)
    model = models.resnet(in_shape, 10, widths, blocks).to(dtype)
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    return model, reference


def compare(model, reference, x, tolerances, train):
    """Outputs (and in train mode every gradient and the updated buffers) of the twins."""
    model.train(train)
    reference.train(train)
    out = model(x)
    x_torch = torch.tensor(x, requires_grad=True)
    expected = reference(x_torch)
    assert_close(out, expected.detach().numpy(), tolerances, "output")
    if not train:
        return
    grad_out = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype)
    grad_x = model.backward(grad_out)
    expected.backward(torch.tensor(grad_out))
    assert_close(grad_x, x_torch.grad.numpy(), tolerances, "input gradient")
    torch_parameters = dict(reference.named_parameters())
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, torch_parameters[name].grad.numpy(), tolerances, name)
    torch_buffers = dict(reference.named_buffers())
    for name, buffer in model.named_buffers():
        if buffer.dtype.kind == "i":  # num_batches_tracked
            np.testing.assert_array_equal(buffer.data, torch_buffers[name].numpy(), name)
        else:
            assert_close(buffer.data, torch_buffers[name].numpy(), tolerances, name)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@settings(max_examples=4)
@given(n=st.integers(2, 4), channels=st.integers(1, 3), height=st.integers(5, 12),
       width=st.integers(5, 12), widths=st.sampled_from([(4,), (3, 5), (4, 4, 6)]),
       seed=st.integers(0, 2**16))
def test_resnet_with_pytorchs_weights_gives_pytorchs_outputs_and_gradients(
        strategy, dtype, n, channels, height, width, widths, seed):
    blocks = (1, 2, 1)[:len(widths)]
    model, reference = twins((channels, height, width), widths, blocks, dtype, seed)
    tolerances = TOLERANCES  # one layer's: measured worst 2e-6 (float32), 5e-15 (float64)
    x = np.random.default_rng(seed).standard_normal((n, channels, height, width)).astype(dtype)
    with mint.use_strategy(strategy):
        compare(model, reference, x, tolerances, train=False)  # running statistics
        compare(model, reference, x, tolerances, train=True)   # batch statistics, updates
        compare(model, reference, x, tolerances, train=False)  # the updated ones


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_resnet_input_gradient_matches_finite_differences(strategy):
    mint.manual_seed(0)
    model = models.resnet((2, 7, 6), 3, widths=(3, 4), blocks=(1, 1), strategy=strategy)
    model.to(np.float64)
    rng = np.random.default_rng(2)
    x, direction = rng.standard_normal((3, 2, 7, 6)), rng.standard_normal((3, 2, 7, 6))
    grad_out = rng.standard_normal((3, 3))
    model(x)
    grad_x = model.backward(grad_out)

    def objective(t):
        return float(np.sum(model(x + t * direction) * grad_out))
    numeric = (objective(1e-6) - objective(-1e-6)) / 2e-6
    assert math.isclose(numeric, float(np.sum(grad_x * direction)), rel_tol=1e-6, abs_tol=1e-8)


def test_resnet_layout_keys_and_bad_arguments():
    model = models.resnet(widths=(8, 16), blocks=(1, 2))
    keys = list(model.state_dict())
    assert keys[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert "layer2.0.residual.shortcut.conv.weight" in keys  # the stage's first block projects
    assert "layer1.0.residual.shortcut.conv.weight" not in keys  # same shape: identity
    assert "layer2.1.residual.shortcut.conv.weight" not in keys
    assert [name for name, _ in model.named_parameters()][-2:] == ["fc.weight", "fc.bias"]
    assert keys[-1] == "layer2.1.residual.body.bn2.num_batches_tracked"  # buffers come last
    assert model(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    assert models.resnet((3, 32, 32), 5)(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 5)
    with pytest.raises(ValueError, match="resnet: widths and blocks must have one entry per "
                                         "stage, got 2 widths and 3 block counts"):
        models.resnet(widths=(8, 16), blocks=(1, 1, 1))
    with pytest.raises(ValueError, match="resnet: blocks must be a non-empty list of positive"):
        models.resnet(blocks=(2, 0, 2))
    with pytest.raises(ValueError, match="resnet: in_shape must be"):
        models.resnet(in_shape=(28, 28))


# ----------------------------------------------------------------- train/eval in fit, evaluate


def _batch_norms(model):
    return [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]


def test_fit_trains_in_train_mode_and_evaluate_uses_the_running_statistics():
    mint.manual_seed(0)
    model = models.resnet((1, 8, 8), 10, widths=(4, 8), blocks=(1, 1), strategy="vectorized")
    model.eval()  # fit must switch it back
    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3), TRAIN, 1, 32,
        progress=False)
    batches = math.ceil(len(TRAIN[1]) / 32)
    assert all(int(bn.num_batches_tracked.data) == batches for bn in _batch_norms(model))
    assert model.training

    state = model.state_dict()
    result = evaluate(model, TEST)
    assert model.training  # given back its mode
    for name, value in model.state_dict().items():  # evaluating moved no running statistic
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    model.eval()
    eval_logits = model(TEST[0])
    np.testing.assert_array_equal(result["predictions"], np.argmax(eval_logits, axis=1))
    # Batch statistics give other logits, so the check above tells the modes apart.
    assert not np.allclose(model.train()(TEST[0]), eval_logits, rtol=1e-3)


def test_lenet_dropout_is_off_by_default_and_sits_before_the_classifier():
    plain = models.lenet()
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())
    assert list(plain.state_dict())[-2:] == ["9.weight", "9.bias"]  # checkpoints keep loading
    dropped = models.lenet(dropout=0.5)
    assert isinstance(dropped[9], nn.Dropout) and dropped[9].p == 0.5
    assert list(dropped.state_dict())[-2:] == ["10.weight", "10.bias"]
    model = models.build(models.architecture("lenet", in_shape=(1, 8, 8), dropout=0.25))
    assert model[9].p == 0.25
    with pytest.raises(ValueError, match="dropout"):
        models.lenet(dropout=1.5)


def test_lenet_with_dropout_trains_the_same_twice_under_a_seed():
    def run():
        mint.manual_seed(3)
        model = models.lenet((1, 8, 8), dropout=0.5, strategy="vectorized")
        fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3), TRAIN, 2, 32,
            progress=False, seed=3)
        return model.state_dict(), evaluate(model, TEST)["accuracy"]
    (first, accuracy), (second, again) = run(), run()
    for name, value in first.items():
        np.testing.assert_array_equal(second[name], value, err_msg=name)
    assert accuracy == again


# ----------------------------------------------------------------------------- command line


def run_cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_mint_train_resnet_resumes_exactly_and_evaluates(capsys, tmp_path, monkeypatch):
    settings = ["train", "--dataset", "digits", "--model", "resnet", "--limit", "160",
                "--batch-size", "40", "--epochs", "2", "--threads", "1"]
    assert run_cli(capsys, *settings, "--out", tmp_path / "whole")[0] == 0

    def stop_after_epoch_1(rows, path):  # called once the epoch's checkpoint is written
        raise KeyboardInterrupt
    monkeypatch.setattr(cli.train, "write_metrics", stop_after_epoch_1)
    assert run_cli(capsys, *settings, "--out", tmp_path / "part")[0] == 130
    monkeypatch.undo()
    status, stdout, _ = run_cli(capsys, "train", "--resume", tmp_path / "part" / "model.npz")
    assert status == 0 and "after 2 epochs" in stdout

    whole = load_checkpoint(tmp_path / "whole" / "model.npz")
    resumed = load_checkpoint(tmp_path / "part" / "model.npz")
    assert whole.architecture["name"] == "resnet"
    assert any(key.endswith("running_var") for key in whole.model_state)
    for name, value in whole.model_state.items():  # parameters and running statistics
        np.testing.assert_array_equal(resumed.model_state[name], value, err_msg=name)

    status, stdout, _ = run_cli(capsys, "evaluate", tmp_path / "whole" / "model.npz",
                                "--limit", "160")
    accuracy = whole.history[-1]["test_accuracy"]
    assert status == 0 and f"accuracy {100 * accuracy:.2f}%" in stdout
