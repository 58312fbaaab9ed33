"""How Sequential runs its modules. A ReLU that precedes a MaxPool2d runs after the pool
(``execution_order``): the outputs and every gradient must equal, bit for bit, those of the
layers run one by one in the listed order. In eval mode a large batch runs in chunks when every
module treats samples independently: the same outputs as the whole batch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import STRATEGY_NAMES
from mint import models, nn
from mint.nn import containers


def run_listed_order(layers, x, grad_out):
    """Forward through ``layers`` in order, then backward in reverse: the unfused reference."""
    for layer in layers:
        x = layer(x)
    out = x
    for layer in reversed(layers):
        grad_out = layer.backward(grad_out)
    return out, grad_out


def parameter_grads(model):
    grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    return grads


def assert_same_as_listed_order(model, x, seed=0):
    grad_out = np.random.default_rng(seed).standard_normal(model(x).shape).astype(x.dtype)
    model.zero_grad()
    out = model(x)
    grad_x = model.backward(grad_out)
    fused_grads = parameter_grads(model)
    ref_out, ref_grad_x = run_listed_order(list(model), x, grad_out)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(grad_x, ref_grad_x)
    for fused, ref in zip(fused_grads, parameter_grads(model), strict=True):
        np.testing.assert_array_equal(fused, ref)


def test_relu_runs_after_the_max_pool_it_precedes():
    model = models.lenet()
    names = [type(layer).__name__ for layer in model.execution_order]
    assert names == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "ReLU", "Flatten",
                     "Linear", "ReLU", "Linear"]
    # Other activations and pools keep their place: the swap is exact for ReLU and max only.
    for pair in ((nn.LeakyReLU(), nn.MaxPool2d(2)), (nn.ReLU(), nn.AvgPool2d(2)),
                 (nn.MaxPool2d(2), nn.ReLU())):
        assert nn.Sequential(*pair).execution_order == list(pair)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_lenet_equals_its_layers_run_in_listed_order(strategy):
    model = models.lenet(strategy=strategy)
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28)).astype(np.float32)
    assert_same_as_listed_order(model, x)


@settings(max_examples=25, deadline=None)
@given(kernel=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 1),
       ceil_mode=st.booleans(), size=st.integers(4, 9), seed=st.integers(0, 2**16))
def test_pooling_windows_of_any_shape(kernel, stride, padding, ceil_mode, size, seed):
    padding = min(padding, kernel // 2)  # PyTorch's limit, which Mint checks
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode),
                          nn.Flatten())
    # Coarse values: ties inside windows, windows of negatives only, exact zeros.
    x = np.random.default_rng(seed).integers(-2, 3, (2, 2, size, size)).astype(np.float64)
    model.to(np.float64)
    assert_same_as_listed_order(model, x, seed)


def test_nan_and_ties_pass_as_in_listed_order():
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2), nn.ReLU())
    x = np.array([[[[np.nan, 1.0, -1.0, -2.0],
                    [1.0, 1.0, -3.0, -1.0],
                    [0.0, 0.0, 2.0, 2.0],
                    [-0.0, 0.0, 2.0, np.nan]]]], dtype=np.float32)
    grad_out = np.arange(1.0, 5.0, dtype=np.float32).reshape(1, 1, 2, 2)
    out, grad_x = model(x), model.backward(grad_out)
    ref_out, ref_grad_x = run_listed_order(list(model), x, grad_out)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(grad_x, ref_grad_x)


# ------------------------------------------------------------------ eval mode: chunks of a batch


def eval_forward(model, x, chunk, monkeypatch):
    monkeypatch.setattr(containers, "EVAL_CHUNK", chunk)
    return model.eval()(x)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("build", [models.lenet, models.resnet], ids=["lenet", "resnet"])
def test_an_eval_batch_in_chunks_equals_the_whole_batch(build, strategy, monkeypatch):
    model = build(strategy=strategy)
    x = np.random.default_rng(2).standard_normal((11, 1, 28, 28)).astype(np.float32)
    whole = eval_forward(model, x, len(x), monkeypatch)
    chunks = eval_forward(model, x, 4, monkeypatch)  # 4 + 4 + 3 samples
    if strategy == "loop":  # the kernels compute each sample alone
        np.testing.assert_array_equal(chunks, whole)
    else:  # BLAS may block a product differently for another number of rows
        np.testing.assert_allclose(chunks, whole, rtol=1e-5, atol=1e-6)


class MixesSamples(nn.Module):
    """A module of one's own that subtracts the batch mean: chunks would change its output."""

    def forward(self, x):
        return x - x.mean(axis=0)


@pytest.mark.parametrize("layer", [nn.Softmax(dim=0), nn.LogSoftmax(dim=-2), nn.Flatten(0),
                                   MixesSamples()], ids=["softmax0", "logsoftmax-2",
                                                         "flatten0", "own-module"])
def test_modules_that_mix_samples_keep_the_batch_whole(layer, monkeypatch):
    model = nn.Sequential(nn.Linear(3, 2), layer)
    assert not model.independent_samples
    x = np.random.default_rng(3).standard_normal((9, 3)).astype(np.float32)
    monkeypatch.setattr(containers, "EVAL_CHUNK", 2)
    out = model.eval()(x)
    expected = layer(model[0](x))
    np.testing.assert_array_equal(out, expected)


def test_training_mode_keeps_the_batch_whole(monkeypatch):
    monkeypatch.setattr(containers, "EVAL_CHUNK", 2)
    model = models.lenet()
    x = np.random.default_rng(4).standard_normal((5, 1, 28, 28)).astype(np.float32)
    out = model(x)
    assert model[0]._saved[0] is x  # the first layer saw the whole batch
    assert model.backward(np.ones_like(out)).shape == x.shape


# ------------------------------------------------------- eval mode: batch norm folded into a conv


def with_running_statistics(norm, rng, dtype):
    """``norm`` with running statistics, weight and bias away from their initial values (means
    large against the spread, as after training on uncentred data)."""
    channels = norm.num_features
    norm.running_mean.data[...] = rng.uniform(-3, 3, channels)
    norm.running_var.data[...] = rng.uniform(0.05, 4, channels)
    for parameter in (norm.weight, norm.bias):
        if parameter is not None:
            parameter.data[...] = rng.uniform(-2, 2, channels)
    return norm.to(dtype)


def layer_by_layer(model, x):
    for module in model.execution_order:
        x = module(x)
    return x


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@settings(max_examples=10, deadline=None)
@given(conv_bias=st.booleans(), norm_form=st.sampled_from(["affine", "weight only", "plain"]),
       stride=st.integers(1, 2), groups=st.sampled_from([1, 2]), kernel=st.sampled_from([1, 3]),
       size=st.integers(3, 9), seed=st.integers(0, 2**16))
def test_batch_norm_folded_into_its_conv_gives_the_layers_outputs(
        dtype, tolerance, strategy, conv_bias, norm_form, stride, groups, kernel, size, seed):
    rng = np.random.default_rng(seed)
    norm = nn.BatchNorm2d(6, affine=norm_form != "plain", bias=norm_form == "affine",
                          strategy=strategy)
    model = nn.Sequential(
        nn.Conv2d(4, 6, kernel, stride, kernel // 2, groups=groups, bias=conv_bias,
                  strategy=strategy).to(dtype),
        with_running_statistics(norm, rng, dtype), nn.ReLU(strategy=strategy)).eval()
    steps = nn.planner.inference_steps(model.layers)
    assert len(steps) == 2 and steps[1] is model[2]  # the pair became one step
    x = rng.standard_normal((3, 4, size, size)).astype(dtype)
    expected = layer_by_layer(model, x)
    out = model(x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=tolerance,
                               atol=tolerance * np.abs(expected).max())


def test_the_fold_reads_the_parameters_of_each_call():
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), with_running_statistics(
        nn.BatchNorm2d(3), rng, np.float32)).eval()
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    model(x)
    model[0].weight.data *= 2
    model[1].running_mean.data += 1
    model[1].bias.data -= 1
    np.testing.assert_allclose(model(x), layer_by_layer(model, x), rtol=1e-5, atol=1e-5)


def test_only_an_eval_mode_conv2d_and_batch_norm_with_running_statistics_fold():
    def folds(conv, norm, train_norm=False):
        model = nn.Sequential(conv, norm).eval()
        norm.train(train_norm)
        return len(nn.planner.inference_steps(model.layers)) == 1

    assert folds(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))
    assert not folds(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), train_norm=True)
    assert not folds(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, track_running_stats=False))
    assert not folds(nn.ConvTranspose2d(2, 3, 3), nn.BatchNorm2d(3))
    assert not folds(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(4))  # left to batch norm to refuse
    assert not folds(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, dtype=np.float64))
    assert not folds(nn.Conv2d(2, 3, 3), type("MyNorm", (nn.BatchNorm2d,), {})(3))
    # Training mode runs every layer: nothing to fold, and backward needs each one.
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))
    x = np.random.default_rng(6).standard_normal((2, 2, 5, 5)).astype(np.float32)
    model(x)
    assert model[1]._saved is not None


def test_a_batch_norm_of_the_wrong_size_after_a_conv_is_refused_as_before():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(4)).eval()
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input with 4 channels"):
        model(np.zeros((1, 2, 5, 5), np.float32))
