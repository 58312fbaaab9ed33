"""Conv2d with groups and padding strings, and ConvTranspose2d, as layers: PyTorch's state_dict
keys and shapes, repr, initialisation, backward_parameters and constructor errors (their outputs
and gradients against torch modules are in test_nn.py)."""

import re

import numpy as np
import pytest

import mint
from helpers import STRATEGY_NAMES, requires_torch, torch
from mint import nn

# PyTorch warns that its "same" padding of an even kernel copies the input; so does Mint's.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# name: (class name, arguments and keyword arguments of both the Mint and the torch class)
CASES = {
    "conv2d_groups_same": ("Conv2d", (6, 4, 3), {"padding": "same", "groups": 2}),
    "conv2d_depthwise_valid": ("Conv2d", (4, 8, (2, 3)), {"padding": "valid", "groups": 4,
                                                          "bias": False, "dilation": 2}),
    "conv_transpose2d": ("ConvTranspose2d", (3, 4, 4), {"stride": 2, "padding": 1}),
    "conv_transpose2d_all_options": ("ConvTranspose2d", (4, 6, 3), {
        "stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2,
        "dilation": (1, 2), "bias": False}),
}


@requires_torch
@pytest.mark.parametrize("case", sorted(CASES))
def test_state_dict_has_torch_keys_and_shapes_and_repr_is_torch_repr(case):
    # (test_nn.py checks outputs and gradients against torch modules with copied weights.)
    name, args, kwargs = CASES[case]
    layer, reference = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args,
                                                                                   **kwargs)
    assert {key: value.shape for key, value in layer.state_dict().items()} == {
        key: tuple(value.shape) for key, value in reference.state_dict().items()}
    assert repr(layer) == repr(reference)


@pytest.mark.parametrize("make_layer, shape, fan_in", [
    # PyTorch's fan_in is the weight's second dimension times the kernel size.
    (lambda: nn.Conv2d(12, 60, 5, groups=3), (60, 4, 5, 5), 4 * 25),
    (lambda: nn.ConvTranspose2d(60, 12, 5, groups=3), (60, 4, 5, 5), 4 * 25),
    (lambda: nn.ConvTranspose2d(8, 60, 4), (8, 60, 4, 4), 60 * 16),
])
def test_initial_weights_are_uniform_within_one_over_sqrt_fan_in(make_layer, shape, fan_in):
    mint.manual_seed(0)
    layer = make_layer()
    bound = 1 / np.sqrt(fan_in)
    assert layer.weight.data.shape == shape
    assert bound * 0.95 < np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.bias.data).max() <= bound
    np.testing.assert_allclose(layer.weight.data.std(), bound / np.sqrt(3), rtol=0.05)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_backward_parameters_gives_the_parameter_gradients_of_backward(strategy):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    for make in (lambda: nn.Conv2d(4, 6, 2, padding="same", groups=2, strategy=strategy),
                 lambda: nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2, strategy=strategy)):
        mint.manual_seed(0)
        full, partial = make(), make()
        grad_out = rng.standard_normal(full(x).shape).astype(np.float32)
        full.backward(grad_out)
        partial(x)
        partial.backward_parameters(grad_out)
        for (_, a), (_, b) in zip(full.named_parameters(), partial.named_parameters(),
                                  strict=True):
            np.testing.assert_array_equal(a.grad, b.grad)


@pytest.mark.parametrize("build, error, message", [
    (lambda: nn.Conv2d(6, 4, 3, groups=4), ValueError,
     "Conv2d: in_channels must be divisible by groups, got in_channels=6, groups=4"),
    (lambda: nn.Conv2d(6, 4, 3, groups=3), ValueError,
     "Conv2d: out_channels must be divisible by groups, got out_channels=4, groups=3"),
    (lambda: nn.Conv2d(6, 4, 3, groups=0), ValueError, "Conv2d: groups must be >= 1, got 0"),
    (lambda: nn.Conv2d(2, 4, 3, stride=2, padding="same"), ValueError,
     "Conv2d: padding='same' needs stride 1"),
    (lambda: nn.Conv2d(2, 4, 3, padding="full"), ValueError,
     "Conv2d: padding must be one of ('valid', 'same'), got 'full'"),
    (lambda: nn.Conv2d(2, 4, 3, padding_mode="reflect"), ValueError,
     "Conv2d: padding_mode='reflect' is not supported; Mint pads with zeros only"),
    (lambda: nn.Conv2d(2, 4, 3, padding_mode="mirror"), ValueError,
     "Conv2d: padding_mode must be one of ('zeros',), got 'mirror'"),
    (lambda: nn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=2), ValueError,
     "ConvTranspose2d: output_padding must be smaller than stride or dilation"),
    (lambda: nn.ConvTranspose2d(2, 4, 3, groups=4), ValueError,
     "ConvTranspose2d: in_channels must be divisible by groups"),
    (lambda: nn.ConvTranspose2d(2, 4, 3, padding="same"), TypeError,
     "ConvTranspose2d: padding must be an int"),
])
def test_bad_constructor_arguments_raise_with_a_clear_message(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()
