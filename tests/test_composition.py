"""Composition beyond a chain: nn.Residual against PyTorch autograd and finite differences, and
walking a model (modules, named_modules, apply, repr, Sequential names and slices) as PyTorch
does."""

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import (
    STRATEGY_NAMES,
    assert_close,
    assert_gradient_matches_finite_differences,
    requires_torch,
    torch,
)
from mint import nn

# -------------------------------------------------------------------------- Residual vs torch


def residual_pair(channels, hidden, stride, projected, strategy):
    """A mint Residual and the same block in PyTorch (float64, same weights): body conv-tanh-conv
    (the first strided), shortcut the identity or a 1x1 convolution with that stride."""
    T = torch.nn
    mint_body = nn.Sequential(
        nn.Conv2d(channels, hidden, 3, stride=stride, padding=1, dtype=np.float64,
                  strategy=strategy),
        nn.Tanh(strategy=strategy),
        nn.Conv2d(hidden, hidden if projected else channels, 3, padding=1, dtype=np.float64,
                  strategy=strategy),
    )
    torch_body = T.Sequential(T.Conv2d(channels, hidden, 3, stride=stride, padding=1), T.Tanh(),
                              T.Conv2d(hidden, hidden if projected else channels, 3, padding=1))
    mint_shortcut = torch_shortcut = None
    if projected:
        mint_shortcut = nn.Conv2d(channels, hidden, 1, stride=stride, bias=False,
                                  dtype=np.float64, strategy=strategy)
        torch_shortcut = T.Conv2d(channels, hidden, 1, stride=stride, bias=False)
    block = nn.Residual(mint_body, mint_shortcut)
    reference = TorchResidual(torch_body, torch_shortcut).double()
    block.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return block, reference


if torch is not None:
    class TorchResidual(torch.nn.Module):
        """What nn.Residual computes, written for PyTorch's autograd."""

        def __init__(self, body, shortcut=None):
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x):
            return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


blocks = st.fixed_dictionaries({
    "n": st.integers(1, 3), "channels": st.integers(1, 3), "hidden": st.integers(1, 4),
    "height": st.integers(2, 7), "width": st.integers(2, 7), "stride": st.sampled_from([1, 2]),
    "projected": st.booleans(), "seed": st.integers(0, 2**32 - 1),
})


@requires_torch
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(case=blocks)
def test_residual_matches_torch_autograd_and_finite_differences(strategy, case):
    # The identity shortcut needs the body to keep the shape; else a 1x1 projection.
    projected = case["projected"] or case["stride"] != 1 or case["hidden"] != case["channels"]
    block, reference = residual_pair(case["channels"], case["hidden"], case["stride"], projected,
                                     strategy)
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["channels"], case["height"], case["width"]))
    out = block(x)
    grad_out = rng.standard_normal(out.shape)
    grad_x = block.backward(grad_out)

    x_torch = torch.tensor(x, requires_grad=True)
    out_torch = reference(x_torch)
    out_torch.backward(torch.tensor(grad_out))
    assert_close(out, out_torch.detach().numpy())
    assert_close(grad_x, x_torch.grad.numpy())
    expected = dict(reference.named_parameters())
    names = [name for name, _ in block.named_parameters()]
    assert names == list(expected)
    for name, parameter in block.named_parameters():
        assert_close(parameter.grad, expected[name].grad.numpy(), err_msg=name)

    # The input gradient by central differences, through both branches at once.
    assert_gradient_matches_finite_differences(block, x, grad_x, grad_out)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_residual_identity_gradient_is_grad_out_plus_the_body_gradient(strategy):
    body = nn.Linear(4, 4, dtype=np.float64, strategy=strategy)
    block = nn.Residual(body)
    rng = np.random.default_rng(1)
    x, grad_out = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(block(x), x @ body.weight.data.T + body.bias.data + x)
    grad_x = block.backward(grad_out)
    np.testing.assert_allclose(grad_x, grad_out @ body.weight.data + grad_out)
    np.testing.assert_allclose(body.weight.grad, grad_out.T @ x)


@pytest.mark.parametrize("projected", [False, True])
def test_residual_backward_parameters_gives_the_parameter_gradients_of_backward(projected):
    body = nn.Sequential(nn.Conv2d(2, 3 if projected else 2, 3, stride=1 + projected,
                                   padding=1, dtype=np.float64), nn.Tanh())
    shortcut = nn.Conv2d(2, 3, 1, stride=2, dtype=np.float64) if projected else None
    block = nn.Residual(body, shortcut)
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 5))
    out = block(x)
    grad_out = np.random.default_rng(3).standard_normal(out.shape)
    block.backward(grad_out)
    expected = {name: p.grad.copy() for name, p in block.named_parameters()}
    block.zero_grad()
    block(x)
    assert block.backward_parameters(grad_out) is None
    for name, parameter in block.named_parameters():
        np.testing.assert_array_equal(parameter.grad, expected[name], err_msg=name)


def test_residual_in_a_sequential_trains_through_backward_parameters():
    mint_model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64),
                               nn.Residual(nn.Sequential(nn.Linear(4, 4, dtype=np.float64),
                                                         nn.Tanh())),
                               nn.Linear(4, 2, dtype=np.float64))
    x = np.random.default_rng(4).standard_normal((5, 3))
    grad_out = np.ones((5, 2))
    mint_model(x)
    mint_model.backward(grad_out)
    expected = [p.grad.copy() for p in mint_model.parameters()]
    mint_model.zero_grad()
    mint_model(x)
    mint_model.backward_parameters(grad_out)
    for parameter, grad in zip(mint_model.parameters(), expected, strict=True):
        np.testing.assert_array_equal(parameter.grad, grad)


def test_residual_refuses_mismatched_shapes_non_modules_and_a_shared_instance():
    block = nn.Residual(nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"body output has shape \(4, 2\) but the input "
                                         r"\(identity shortcut\) has shape \(4, 3\)"):
        block(np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="Residual: shortcut must be a Module, got ufunc"):
        nn.Residual(nn.ReLU(), shortcut=np.tanh)
    with pytest.raises(TypeError, match="Residual: body must be a Module, got ndarray"):
        nn.Residual(np.ones(3))
    shared = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="shortcut holds the Linear instance of body again"):
        nn.Residual(nn.Sequential(shared, nn.ReLU()), shared)


def test_residual_backward_in_eval_mode_or_before_forward_raises():
    block = nn.Residual(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="Residual.backward called before forward"):
        block.backward(np.ones((1, 2), np.float32))
    block.eval()
    block(np.ones((1, 2), np.float32))
    with pytest.raises(RuntimeError, match="Residual.backward: the module is in eval mode"):
        block.backward(np.ones((1, 2), np.float32))


# ------------------------------------------------------------------------- walking the tree


def _model():
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.Residual(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU()),
                    nn.Conv2d(2, 2, 1)),
        nn.Flatten(),
        nn.Linear(2 * 4 * 4, 3),
    )


def test_modules_and_named_modules_walk_depth_first_as_pytorch_names_them():
    model = _model()
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "0", "1", "1.body", "1.body.0", "1.body.1", "1.shortcut", "2", "3"]
    assert [module for _, module in model.named_modules()] == list(model.modules())
    assert model[1].shortcut is dict(model.named_modules())["1.shortcut"]
    assert [name for name, _ in model[1].named_modules("block")][:2] == ["block", "block.body"]


class _Twice(nn.Module):
    """One instance held under two attribute names, as torch allows (never called twice)."""

    def __init__(self):
        self.a = nn.Linear(2, 2)
        self.b = self.a
        self.c = nn.Sequential(nn.ReLU())


def test_a_module_held_twice_is_walked_and_applied_once():
    net = _Twice()
    assert [name for name, _ in net.named_modules()] == ["", "a", "c", "c.0"]
    assert [name for name, _ in net.named_parameters()] == ["a.weight", "a.bias"]
    visited = []
    assert net.apply(lambda module: visited.append(type(module).__name__)) is net
    assert visited == ["Linear", "ReLU", "Sequential", "_Twice"]  # children first, as torch


@requires_torch
def test_walking_orders_match_pytorch_on_the_same_architecture():
    T = torch.nn
    reference = T.Sequential(
        T.Conv2d(1, 2, 3, padding=1),
        TorchResidual(T.Sequential(T.Conv2d(2, 2, 3, padding=1), T.ReLU()), T.Conv2d(2, 2, 1)),
        T.Flatten(), T.Linear(2 * 4 * 4, 3))
    model = _model()
    assert [n for n, _ in model.named_modules()] == [n for n, _ in reference.named_modules()]
    assert list(model.state_dict()) == list(reference.state_dict())
    expected, visited = [], []
    reference.apply(lambda module: expected.append(type(module).__name__))
    model.apply(lambda module: visited.append(type(module).__name__))
    assert visited == [name.replace("TorchResidual", "Residual") for name in expected]


def test_apply_initialises_every_layer_and_refuses_a_non_callable():
    def zero_linear(module):
        if isinstance(module, nn.Linear):
            module.weight.data[...] = 0

    model = nn.Sequential(nn.Linear(2, 3), nn.Residual(nn.Linear(3, 3)))
    model.apply(zero_linear)
    assert all(not module.weight.data.any() for module in model.modules()
               if isinstance(module, nn.Linear))
    with pytest.raises(TypeError, match="Sequential.apply: fn must be callable, got int"):
        model.apply(3)


def test_repr_of_a_nested_model_is_pytorchs_layout():
    assert repr(_model()) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): Residual(\n"
        "    (body): Sequential(\n"
        "      (0): Conv2d(2, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "      (1): ReLU()\n"
        "    )\n"
        "    (shortcut): Conv2d(2, 2, kernel_size=(1, 1), stride=(1, 1))\n"
        "  )\n"
        "  (2): Flatten(start_dim=1)\n"
        "  (3): Linear(in_features=32, out_features=3, bias=True)\n"
        ")"
    )


class _Scaled(nn.Module):
    """A container with arguments of its own: they come first, as in PyTorch."""

    def __init__(self):
        self.inner = nn.ReLU()

    def extra_repr(self):
        return "scale=2"


def test_repr_shows_a_containers_own_arguments_before_its_children():
    assert repr(_Scaled()) == "_Scaled(\n  scale=2\n  (inner): ReLU()\n)"


@requires_torch
def test_repr_matches_pytorchs_for_the_same_layers():
    T = torch.nn
    reference = T.Sequential(T.Linear(4, 3), T.Sequential(T.ReLU(), T.Linear(3, 2)))
    model = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))
    assert repr(model) == repr(reference)


# ----------------------------------------------------------------------- Sequential names


def test_sequential_slice_keeps_the_original_names_as_pytorch():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)]
    model = nn.Sequential(*layers)
    tail = model[2:]
    assert list(tail.state_dict()) == ["2.weight", "2.bias", "4.weight", "4.bias"]
    assert list(model[::2].state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias",
                                             "4.weight", "4.bias"]
    assert tail[0] is layers[2] and list(tail) == layers[2:]  # integers count positions
    assert repr(tail).splitlines()[1].startswith("  (2): Linear")
    # The slice's state loads into the same layers of the whole model.
    tail.load_state_dict({k: np.zeros_like(v) for k, v in tail.state_dict().items()})
    assert not model.state_dict()["4.weight"].any()
    assert len(model[5:]) == 0


@requires_torch
def test_sequential_slice_keys_match_pytorchs():
    T = torch.nn
    reference = T.Sequential(T.Linear(2, 3), T.ReLU(), T.Linear(3, 4), T.ReLU(), T.Linear(4, 1))
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    for index in (slice(2, None), slice(1, 3), slice(None, None, 2), slice(None, -1)):
        assert list(model[index].state_dict()) == list(reference[index].state_dict()), index
    model[1:].load_state_dict({k: v.numpy() for k, v in reference[1:].state_dict().items()})


def test_sequential_of_named_modules_keys_attributes_and_slices_by_name():
    conv, fc = nn.Conv2d(1, 2, 3), nn.Linear(8, 2)
    model = nn.Sequential(OrderedDict(conv=conv, act=nn.ReLU(), flat=nn.Flatten(), fc=fc))
    assert model.conv is conv and model[3] is fc and model.fc is fc
    assert list(model.state_dict()) == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    assert [name for name, _ in model[1:].named_children()] == ["act", "flat", "fc"]
    assert model(np.ones((1, 1, 4, 4), np.float32)).shape == (1, 2)
    with pytest.raises(AttributeError, match="no attribute or module 'bn'"):
        model.bn  # noqa: B018


@pytest.mark.parametrize("key", ["", "a.b", 3, "forward", "layers"])
def test_sequential_refuses_names_that_cannot_be_keys(key):
    with pytest.raises(ValueError, match="Sequential: module names must be non-empty strings"):
        nn.Sequential({key: nn.ReLU()})


def test_sequential_of_named_modules_names_a_bad_entry():
    with pytest.raises(TypeError, match="Sequential: module 'act' must be a Module, got str"):
        nn.Sequential({"fc": nn.Linear(2, 2), "act": "relu"})


# --------------------------------------------------------------------- the README's example

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_dense_block():
    """The class ``DenseBlock`` as the README's section "Beyond a chain" defines it."""
    section = README.read_text(encoding="utf-8").split("### Beyond a chain", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {"np": np, "nn": nn}
    exec(compile(snippet, "README.md", "exec"), namespace)
    return namespace["DenseBlock"]


@requires_torch
def test_the_readme_dense_block_matches_torch_autograd():
    block = readme_dense_block()(2, 3).to(np.float64)
    conv = torch.nn.Conv2d(2, 3, 3, padding=1).double()
    block.load_state_dict({f"conv.{k}": v.detach().numpy() for k, v in conv.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 5, 5))
    out = block(x)
    grad_out = rng.standard_normal(out.shape)
    x_torch = torch.tensor(x, requires_grad=True)
    expected = torch.cat([x_torch, torch.relu(conv(x_torch))], dim=1)
    expected.backward(torch.tensor(grad_out))
    assert_close(out, expected.detach().numpy())
    assert_close(block.backward(grad_out), x_torch.grad.numpy())
    assert_close(block.conv.weight.grad, conv.weight.grad.numpy())
