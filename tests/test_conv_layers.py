"""Conv2d with groups and padding strings, and ConvTranspose2d, as layers: PyTorch's weights
load and give PyTorch's outputs and gradients, initialisation, repr and constructor errors."""

import re

import numpy as np
import pytest

import mint
from helpers import DTYPES, STRATEGY_NAMES, assert_close, requires_torch, to_torch, torch
from mint import nn

# PyTorch warns that its "same" padding of an even kernel copies the input; so does Mint's.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# name: (arguments of both the Mint and the torch class, input shape)
CONV2D_CASES = {
    "grouped": ((6, 4, 3), {"padding": 1, "groups": 2}, (2, 6, 5, 6)),
    "depthwise_strided": ((4, 8, 3), {"stride": 2, "groups": 4, "bias": False}, (2, 4, 7, 6)),
    "same_even_kernel_dilated": ((3, 5, (2, 4)), {"padding": "same", "dilation": (3, 1)},
                                 (2, 3, 7, 6)),
    "valid": ((2, 3, 3), {"padding": "valid"}, (1, 2, 5, 5)),
}
CONV_TRANSPOSE2D_CASES = {
    "upsample": ((3, 4, 4), {"stride": 2, "padding": 1}, (2, 3, 4, 5)),
    "output_padding_groups_dilation": ((4, 6, 3), {"stride": (2, 3), "padding": (1, 0),
                                                   "output_padding": (1, 2), "groups": 2,
                                                   "dilation": (1, 2)}, (2, 4, 3, 4)),
    "depthwise_without_bias": ((3, 3, 2), {"groups": 3, "bias": False}, (1, 3, 4, 4)),
}
CASES = {**{f"conv2d_{k}": ("Conv2d", *v) for k, v in CONV2D_CASES.items()},
         **{f"conv_transpose2d_{k}": ("ConvTranspose2d", *v)
            for k, v in CONV_TRANSPOSE2D_CASES.items()}}


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_loads_torch_weights_and_matches_its_outputs_and_gradients(case, strategy, dtype):
    name, args, kwargs, shape = CASES[case]
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, np.dtype(dtype).name))
    layer = getattr(nn, name)(*args, **kwargs, dtype=dtype, strategy=strategy)
    state = {key: value.detach().numpy() for key, value in reference.state_dict().items()}
    assert {key: value.shape for key, value in layer.state_dict().items()} == {
        key: value.shape for key, value in state.items()}
    layer.load_state_dict(state)

    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    tx = to_torch(x, requires_grad=True)
    expected = reference(tx)
    out = layer(x)
    assert out.dtype == dtype
    assert_close(out, expected.detach().numpy(), err_msg="forward")
    grad_out = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(to_torch(grad_out))
    assert_close(layer.backward(grad_out), tx.grad.numpy(), err_msg="grad_input")
    for key, parameter in reference.named_parameters():
        assert_close(dict(layer.named_parameters())[key].grad, parameter.grad.numpy(),
                     err_msg=key)


@requires_torch
@pytest.mark.parametrize("case", sorted(CASES))
def test_repr_is_pytorch_repr(case):
    name, args, kwargs, _ = CASES[case]
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args,
                                                                                   **kwargs))


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
