"""Module machinery that every layer relies on: buffers in the state, and a module instance as
one call site (reuse refused rather than a silently wrong gradient)."""

import re

import numpy as np
import pytest

import mint
from helpers import assert_gradient_matches_finite_differences, requires_torch, torch
from mint import nn, optim
from mint.checkpoint import load_checkpoint, save_checkpoint
from mint.models import architecture, lenet
from mint.nn import Buffer


class Normalise(nn.Module):
    """A module with a parameter, a float buffer and an integer counter, named as PyTorch's
    BatchNorm names them."""

    def __init__(self, channels):
        self.weight = mint.Parameter(np.ones(channels, dtype=np.float32))
        self.running_mean = Buffer(np.zeros(channels, dtype=np.float32))
        self.num_batches_tracked = Buffer(np.array(0, dtype=np.int64))

    def forward(self, x):
        self.running_mean.data[...] = x.mean(axis=0)
        self.num_batches_tracked.data += 1
        return (x - self.running_mean.data) * self.weight.data


def _model():
    return nn.Sequential(nn.Linear(3, 4), Normalise(4))


def test_buffers_are_in_the_state_dict_under_pytorch_keys_after_the_parameters():
    model = _model()
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.running_mean",
                                        "1.num_batches_tracked"]
    assert [name for name, _ in model.named_buffers()] == ["1.running_mean",
                                                          "1.num_batches_tracked"]
    # A copy: changing the returned array leaves the buffer alone.
    model.state_dict()["1.running_mean"][:] = 5
    np.testing.assert_array_equal(model[1].running_mean.data, 0)


def test_load_state_dict_restores_buffers_and_refuses_a_missing_or_misshapen_one():
    source, target = _model(), _model()
    source(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    target.load_state_dict(source.state_dict())
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values(),
                            strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype, name
    assert int(target[1].num_batches_tracked.data) == 1

    state = source.state_dict()
    del state["1.num_batches_tracked"]
    with pytest.raises(ValueError, match=re.escape("missing keys ['1.num_batches_tracked']")):
        target.load_state_dict(state)
    state = {**source.state_dict(), "1.running_mean": np.zeros(3)}
    with pytest.raises(ValueError, match="'1.running_mean' has shape .3,., but the buffer"):
        target.load_state_dict(state)


def test_to_converts_float_buffers_and_keeps_integer_counters():
    model = _model().to(np.float64)
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    assert all(p.dtype == np.float64 for p in model.parameters())


def test_optimizers_never_see_buffers():
    model = _model()
    assert all(isinstance(p, mint.Parameter) for p in model.parameters())
    assert len(list(model.parameters())) == 3
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    model(x)
    before = model[1].running_mean.data.copy()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad[...] = 1
    optimizer.step()
    np.testing.assert_array_equal(model[1].running_mean.data, before)


def test_a_checkpoint_keeps_buffers(tmp_path):
    # A checkpoint rebuilds architectures of the registry: give a lenet a buffer.
    net = lenet(in_shape=(1, 8, 8))
    net.counter = Buffer(np.array(7, dtype=np.int64))
    path = save_checkpoint(tmp_path / "m.npz", net, architecture("lenet", in_shape=(1, 8, 8)))
    assert int(load_checkpoint(path).model_state["counter"]) == 7


@pytest.mark.parametrize("bad", [[1.0], np.array(["a"]), np.zeros(2, dtype=np.complex64)])
def test_buffer_refuses_what_is_not_an_array_of_real_numbers(bad):
    with pytest.raises(TypeError, match="Buffer: data must"):
        Buffer(bad)


@requires_torch
def test_a_pytorch_state_dict_with_buffers_loads():
    bn = torch.nn.BatchNorm1d(4)
    bn(torch.randn(8, 4))
    model = Normalise(4)
    model.bias = mint.Parameter(np.zeros(4, np.float32))
    model.running_var = Buffer(np.ones(4, np.float32))
    model.load_state_dict({k: v.numpy() for k, v in bn.state_dict().items()})
    np.testing.assert_allclose(model.running_mean.data, bn.running_mean.numpy())
    assert int(model.num_batches_tracked.data) == 1


# ------------------------------------------------------------------ one instance, one call site


class TwiceThrough(nn.Module):
    """torchvision's pattern: one ``self.act`` called twice in ``forward``."""

    def __init__(self, act):
        self.fc1 = nn.Linear(3, 3, dtype=np.float64)
        self.act = act
        self.fc2 = nn.Linear(3, 2, dtype=np.float64)

    def forward(self, x):
        return self.act(self.fc2(self.act(self.fc1(x))[:, :3] @ np.eye(3)))


def test_a_module_called_twice_in_one_forward_pass_is_refused_in_train_mode():
    model = TwiceThrough(nn.Sigmoid())
    x = np.random.default_rng(2).standard_normal((4, 3))
    with pytest.raises(RuntimeError, match="Sigmoid was called twice in one forward pass"):
        model(x)
    # In eval mode nothing is kept for backward, so the reuse is harmless and allowed.
    model.eval()
    assert model(x).shape == (4, 2)


def test_a_module_called_in_successive_forward_passes_is_fine():
    relu = nn.ReLU()
    x = np.ones((2, 3))
    relu(x)
    relu(x)
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.ReLU())
    model(x)
    model(x)


def test_a_forward_that_raises_does_not_leave_the_pass_open():
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.ReLU())
    with pytest.raises(ValueError):
        model(np.ones((2, 4)))
    model(np.ones((2, 3)))  # a new pass: no false "called twice"


def test_sequential_refuses_one_instance_listed_twice_when_built():
    relu = nn.ReLU()
    with pytest.raises(ValueError, match="argument 2 holds the ReLU instance of argument 0"):
        nn.Sequential(relu, nn.Linear(2, 2), relu)
    inner = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    with pytest.raises(ValueError, match="argument 1 holds the Sequential instance of argument 0"):
        nn.Sequential(inner, inner)


class TiedWeights(nn.Module):
    """Two call sites sharing one weight: the supported way to reuse parameters."""

    def __init__(self):
        self.first = nn.Linear(3, 3, bias=False, dtype=np.float64)
        self.act = nn.Tanh()
        self.second = nn.Linear(3, 3, bias=False, dtype=np.float64)
        self.second.weight = self.first.weight

    def forward(self, x):
        return self.second(self.act(self.first(x)))

    def backward(self, grad_out):
        return self.first.backward(self.act.backward(self.second.backward(grad_out)))


def test_layers_sharing_a_parameter_add_both_gradients():
    model = TiedWeights()
    rng = np.random.default_rng(3)
    x, grad_out = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert len(list(model.parameters())) == 1
    model(x)
    model.backward(grad_out)
    weight = model.first.weight
    analytic = weight.grad.copy()

    def forward(w):
        saved = weight.data
        weight.data = w
        try:
            return np.tanh(x @ w.T) @ w.T
        finally:
            weight.data = saved

    assert_gradient_matches_finite_differences(forward, weight.data, analytic, grad_out)


# ------------------------------------------------------------------ what PyTorch users expect


def test_load_state_dict_strict_false_copies_the_common_keys_and_returns_the_others():
    mint.manual_seed(0)
    source, target = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)), lenet((1, 8, 8))
    state = {"0.weight": source[0].weight.data, "extra": np.zeros(1)}
    result = source.load_state_dict(source.state_dict())
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    mint.manual_seed(1)
    partial = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5))
    before = partial.state_dict()
    missing, unexpected = partial.load_state_dict(state, strict=False)
    assert (missing, unexpected) == (["0.bias", "1.weight", "1.bias"], ["extra"])
    np.testing.assert_array_equal(partial[0].weight.data, source[0].weight.data)
    for key in missing:
        np.testing.assert_array_equal(partial.state_dict()[key], before[key])
    with pytest.raises(ValueError, match="missing keys"):
        partial.load_state_dict(state)
    with pytest.raises(ValueError, match="'0.weight' has shape"):  # shapes are still checked
        target.load_state_dict({"0.weight": np.zeros((1, 1))}, strict=False)
    with pytest.raises(TypeError, match="load_state_dict: strict must be a bool"):
        target.load_state_dict({}, strict="no")


class Tower(nn.Module):
    """Blocks kept in a ModuleList and heads in a ModuleDict, as PyTorch code keeps them."""

    def __init__(self):
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.ReLU()]).append(nn.Linear(4, 4))
        self.heads = nn.ModuleDict({"digit": nn.Linear(4, 10)})
        self.heads["parity"] = nn.Linear(4, 2)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        self.save_for_backward(x.shape)
        return x


def test_module_list_and_module_dict_register_their_modules_under_pytorchs_names():
    tower = Tower()
    assert [name for name, _ in tower.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.2.weight", "blocks.2.bias",
        "heads.digit.weight", "heads.digit.bias", "heads.parity.weight", "heads.parity.bias"]
    assert len(tower.blocks) == 3 and isinstance(tower.blocks[1], nn.ReLU)
    assert [type(m).__name__ for m in tower.blocks[::2]] == ["Linear", "Linear"]
    assert list(tower.heads) == ["digit", "parity"] and "digit" in tower.heads
    assert tower.heads["parity"].out_features == 2 and len(tower.heads.values()) == 2
    assert "(blocks): ModuleList(\n    (0): Linear" in repr(tower)
    tower.eval()
    assert not tower.blocks[0].training and not tower.heads["digit"].training
    copy = Tower()
    copy.load_state_dict(tower.state_dict())
    for (name, a), b in zip(tower.state_dict().items(), copy.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    linear = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="ModuleList: module 1 holds the Linear instance of "
                                         "module 0 again"):
        nn.ModuleList([linear, linear])
    with pytest.raises(TypeError, match="ModuleList: module 0 must be a Module, got int"):
        nn.ModuleList([3])
    with pytest.raises(ValueError, match="ModuleDict: keys must be non-empty strings without"):
        nn.ModuleDict({"a.b": linear})


class Forgetful(nn.Module):
    def __init__(self, holder):
        self.kept = nn.Linear(2, 2)
        self.also_kept = [self.kept]  # a second reference to a registered module: fine
        self.layers = holder


@pytest.mark.parametrize("holder", [lambda: [nn.Linear(2, 2)], lambda: (nn.ReLU(),),
                                    lambda: {"a": nn.Linear(2, 2)},
                                    lambda: [mint.Parameter(np.zeros(2, np.float32))]])
def test_modules_or_parameters_in_a_plain_container_are_refused_not_silently_untrained(holder):
    model = Forgetful(holder())
    with pytest.raises(TypeError, match=r"Forgetful.layers is a (list|tuple|dict) of modules or "
                                        r"parameters, which Module does not look into .* "
                                        r"nn.ModuleList or nn.ModuleDict"):
        list(model.parameters())
    assert len(list(Forgetful([]).parameters())) == 2


@pytest.mark.parametrize("make", [lambda: nn.Linear(3, 2), lambda: nn.Conv2d(1, 2, 3),
                                  lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU()),
                                  lambda: nn.BatchNorm1d(3)])
def test_a_second_backward_after_one_forward_is_refused_not_added_twice(make):
    layer = make()
    x = np.random.default_rng(0).standard_normal(
        (2, 1, 5, 5) if isinstance(layer, nn.Conv2d) else (2, 3)).astype(np.float32)
    out = layer(x)
    layer.backward(np.ones_like(out))
    grads = [p.grad.copy() for p in layer.parameters()]
    name = type(layer).__name__
    for backward in (layer.backward, layer.backward_parameters):
        with pytest.raises(RuntimeError, match=f"{name}.backward called twice after one forward"):
            backward(np.ones_like(out))
    for grad, p in zip(grads, layer.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, grad)
    layer(x)  # a new forward allows a new backward
    layer.backward(np.ones_like(out))
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(np.zeros((2, 3), np.float32), np.array([0, 1]))
    loss_fn.backward()
    with pytest.raises(RuntimeError, match="CrossEntropyLoss.backward called twice"):
        loss_fn.backward()
