"""A whole training step (forward, loss, backward, SGD) of a small conv net, against PyTorch."""

import numpy as np
import pytest

import mint
from helpers import STRATEGY_NAMES, assert_close, requires_torch, to_torch, torch
from mint import nn, optim

BATCH, CLASSES = 16, 10
# After 3 SGD-with-momentum steps from the same weights, parameters agree with PyTorch's to
# these tolerances (atol relative to the parameter's largest magnitude, as in helpers). Both
# strategies measured at about 5e-8 (float32) and 1e-16 (float64): a margin of 20x to 100x.
TORCH_TOLERANCES = {
    np.dtype(np.float32): {"rtol": 1e-5, "atol": 1e-6},
    np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-14},
}


def small_convnet(strategy=None, dtype=np.float32):
    """(N, 1, 8, 8) -> (N, 10): conv, ReLU, pool, flatten, linear."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, dtype=dtype, strategy=strategy), nn.ReLU(strategy=strategy),
        nn.MaxPool2d(2, strategy=strategy), nn.Flatten(strategy=strategy),
        nn.Linear(4 * 4 * 4, CLASSES, dtype=dtype, strategy=strategy),
    )


def torch_small_convnet():
    T = torch.nn
    return T.Sequential(T.Conv2d(1, 4, 3, padding=1), T.ReLU(), T.MaxPool2d(2), T.Flatten(),
                        T.Linear(4 * 4 * 4, CLASSES))


def fixed_batch(dtype):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((BATCH, 1, 8, 8)).astype(dtype),
            rng.integers(0, CLASSES, size=BATCH))


def train(model, x, target, steps, strategy=None, lr=0.1, momentum=0.9):
    """Run ``steps`` SGD steps on one batch; returns the loss before each step."""
    loss_fn = nn.CrossEntropyLoss(strategy=strategy)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        losses.append(loss_fn(model(x), target))
        model.backward_parameters(loss_fn.backward())  # as a training loop does
        optimizer.step()
    return losses


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_loss_falls_when_training_a_small_convnet_on_a_fixed_batch(strategy):
    mint.manual_seed(0)
    model = small_convnet(strategy=strategy)
    x, target = fixed_batch(np.float32)
    losses = train(model, x, target, steps=15, strategy=strategy)
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_parameters_after_three_momentum_sgd_steps_match_torch(strategy, dtype):
    torch.manual_seed(0)
    reference = torch_small_convnet().to(getattr(torch, np.dtype(dtype).name))
    model = small_convnet(strategy=strategy, dtype=dtype)
    model.load_state_dict(reference.state_dict())
    x, target = fixed_batch(dtype)
    initial = model.state_dict()

    losses = train(model, x, target, steps=3, strategy=strategy)

    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    torch_losses = []
    for _ in range(3):
        torch_optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(reference(to_torch(x)), torch.from_numpy(target))
        loss.backward()
        torch_optimizer.step()
        torch_losses.append(loss.item())

    tolerance = TORCH_TOLERANCES[np.dtype(dtype)]
    np.testing.assert_allclose(losses, torch_losses, rtol=tolerance["rtol"])
    expected = reference.state_dict()
    for name, value in model.state_dict().items():
        assert value.dtype == dtype
        assert_close(value, expected[name].numpy(), {np.dtype(dtype): tolerance}, err_msg=name)
    assert not np.allclose(model.state_dict()["4.weight"], initial["4.weight"])


def test_five_steps_with_each_strategy_from_the_same_seed_end_with_equal_weights():
    x, target = fixed_batch(np.float32)
    final = {}
    for strategy in STRATEGY_NAMES:
        mint.manual_seed(1)
        model = small_convnet(strategy=strategy)
        train(model, x, target, steps=5, strategy=strategy)
        final[strategy] = model.state_dict()
    first, *others = STRATEGY_NAMES
    for other in others:
        for name, value in final[first].items():
            np.testing.assert_allclose(final[other][name], value, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{name}: {first} vs {other}")
