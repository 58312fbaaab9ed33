"""Embedding, MultiheadAttention, TransformerEncoderLayer, TransformerEncoder and models.vit
against PyTorch's modules with the same state dict: outputs, attention weights, input and
parameter gradients, for both strategies in float32 and float64; Embedding's scatter-add
gradient by check_op (torch, finite differences); bad arguments refused naming them."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DTYPES, STRATEGY_NAMES, assert_close, random_array, requires_torch, torch
from mint import functional as F
from mint import models, nn
from op_check import Op, check_op

TORCH_DTYPES = {np.float32: "float32", np.float64: "float64"}

EMBEDDING = Op(F.embedding, F.embedding_backward,
               lambda input, weight, **kw: torch.nn.functional.embedding(input, weight, **kw),
               grads=(1,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@given(seed=st.integers(0, 2**32 - 1), shape=st.lists(st.integers(1, 6), min_size=1, max_size=2),
       rows=st.integers(1, 7), dim=st.integers(1, 40),
       padding=st.sampled_from([None, 0, -1]))
def test_embedding_matches_references_with_repeated_indices(strategy, dtype, seed, shape, rows,
                                                            dim, padding):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, rows, size=tuple(shape))  # repeats: the scatter adds them up
    # The padding row's gradient is 0 by definition, not its derivative: finite differences
    # check the gradient without one.
    check_op(EMBEDDING, (indices, random_array(rng, (rows, dim))), {"padding_idx": padding},
             strategies=[strategy], dtypes=[dtype], seed=seed, fd_elements=16,
             finite_differences=padding is None)


def _to_torch_dtype(module, dtype):
    return module.to(getattr(torch, TORCH_DTYPES[dtype]))


def _load(mint_module, torch_module):
    mint_module.load_state_dict({k: v.detach().numpy() for k, v in
                                 torch_module.state_dict().items()})
    assert list(mint_module.state_dict()) == list(torch_module.state_dict())


def _compare_parameter_grads(mint_module, torch_module):
    torch_parameters = dict(torch_module.named_parameters())
    for name, parameter in mint_module.named_parameters():
        assert_close(parameter.grad, torch_parameters[name].grad.numpy(), err_msg=name)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_loads_pytorch_state_dict_and_matches_it(strategy, dtype, norm_first,
                                                                 activation):
    """A key padding mask, dropout 0 in train mode: output, input and every parameter
    gradient."""
    torch.manual_seed(0)
    torch_layer = _to_torch_dtype(torch.nn.TransformerEncoderLayer(
        16, 4, 24, 0.0, activation, batch_first=True, norm_first=norm_first), dtype)
    mint_layer = nn.TransformerEncoderLayer(16, 4, 24, 0.0, activation, batch_first=True,
                                            norm_first=norm_first, dtype=dtype,
                                            strategy=strategy)
    _load(mint_layer, torch_layer)
    rng = np.random.default_rng(1)
    x = random_array(rng, (3, 5, 16)).astype(dtype)
    padding = np.zeros((3, 5), bool)
    padding[1, 3:] = True
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_layer(tx, src_key_padding_mask=torch.tensor(padding))
    assert_close(mint_layer(x, None, padding), expected.detach().numpy())
    grad_out = random_array(rng, x.shape).astype(dtype)
    expected.backward(torch.tensor(grad_out))
    assert_close(mint_layer.backward(grad_out), tx.grad.numpy())
    _compare_parameter_grads(mint_layer, torch_layer)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("case", ["plain", "key-padding", "bool-attn-mask", "float-masks",
                                  "per-head-weights", "sequence-first", "no-bias"])
def test_multihead_attention_matches_pytorch(strategy, dtype, case):
    """Separate query, key and value (cross-attention, S != L): output, attention weights,
    the three input gradients and the parameter gradients."""
    torch.manual_seed(2)
    options = {"bias": case != "no-bias", "batch_first": case != "sequence-first"}
    torch_layer = _to_torch_dtype(torch.nn.MultiheadAttention(12, 3, **options), dtype)
    mint_layer = nn.MultiheadAttention(12, 3, **options, dtype=dtype, strategy=strategy)
    _load(mint_layer, torch_layer)
    rng = np.random.default_rng(3)
    N, L, S = 2, 4, 6
    shapes = [(N, L, 12), (N, S, 12), (N, S, 12)]
    if case == "sequence-first":
        shapes = [(s[1], s[0], s[2]) for s in shapes]
    inputs = [random_array(rng, shape).astype(dtype) for shape in shapes]
    kwargs = {}
    if case in ("key-padding", "float-masks"):
        padding = np.zeros((N, S), bool)
        padding[0, 4:] = True
        kwargs["key_padding_mask"] = padding if case == "key-padding" else np.where(
            padding, -1e9, 0.0).astype(dtype)
    if case == "bool-attn-mask":
        mask = rng.random((L, S)) < 0.4
        mask[:, 0] = False
        kwargs["attn_mask"] = mask
    if case == "float-masks":
        kwargs["attn_mask"] = random_array(rng, (N * 3, L, S)).astype(dtype)
    if case == "per-head-weights":
        kwargs["average_attn_weights"] = False
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    expected, expected_weights = torch_layer(
        *tensors, **{k: torch.tensor(v) for k, v in kwargs.items()
                     if k != "average_attn_weights"},
        **{k: v for k, v in kwargs.items() if k == "average_attn_weights"})
    output, weights = mint_layer(*inputs, **kwargs)
    assert_close(output, expected.detach().numpy())
    assert_close(weights, expected_weights.detach().numpy())
    grad_out = random_array(rng, output.shape).astype(dtype)
    expected.backward(torch.tensor(grad_out))
    for grad, tensor in zip(mint_layer.backward(grad_out), tensors, strict=True):
        assert_close(grad, tensor.grad.numpy())
    _compare_parameter_grads(mint_layer, torch_layer)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_encoder_stacks_copies_and_matches_pytorch_with_a_final_norm(dtype):
    torch.manual_seed(4)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True, norm_first=True)
    torch_encoder = _to_torch_dtype(torch.nn.TransformerEncoder(
        layer, 3, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False), dtype)
    mint_encoder = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, 0.0, norm_first=True, dtype=dtype), 3,
        norm=nn.LayerNorm(8, dtype=dtype))
    _load(mint_encoder, torch_encoder)
    x = random_array(np.random.default_rng(5), (2, 7, 8)).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_encoder(tx)
    assert_close(mint_encoder(x), expected.detach().numpy())
    grad_out = np.ones_like(x)
    expected.backward(torch.tensor(grad_out))
    assert_close(mint_encoder.backward(grad_out), tx.grad.numpy())
    _compare_parameter_grads(mint_encoder, torch_encoder)
    first, second = mint_encoder.layers[0], mint_encoder.layers[1]
    assert first.linear1.weight is not second.linear1.weight  # copies, not shared


class _TorchViT(torch.nn.Module if torch is not None else object):
    """models.vit's twin in torch.nn, with its keys."""

    def __init__(self):
        super().__init__()
        self.conv_proj = torch.nn.Conv2d(1, 16, 7, 7)
        self.class_token = torch.nn.Parameter(torch.randn(1, 1, 16))
        self.pos_embedding = torch.nn.Parameter(torch.randn(1, 17, 16))
        layer = torch.nn.TransformerEncoderLayer(16, 2, 32, 0.0, "gelu", batch_first=True,
                                                 norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(16),
                                                   enable_nested_tensor=False)
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        tokens = self.conv_proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.class_token.expand(len(x), -1, -1), tokens], 1)
        return self.head(self.encoder(tokens + self.pos_embedding)[:, 0])


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_vit_matches_its_pytorch_twin(dtype):
    torch.manual_seed(6)
    torch_model = _to_torch_dtype(_TorchViT(), dtype)
    mint_model = models.vit(dim=16, depth=2, heads=2, mlp_dim=32).to(dtype)
    _load(mint_model, torch_model)
    x = np.random.default_rng(7).random((3, 1, 28, 28)).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    expected = torch_model(tx)
    assert_close(mint_model(x), expected.detach().numpy())
    grad_out = random_array(np.random.default_rng(8), expected.shape).astype(dtype)
    expected.backward(torch.tensor(grad_out))
    assert_close(mint_model.backward(grad_out), tx.grad.numpy())
    _compare_parameter_grads(mint_model, torch_model)


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.MultiheadAttention(10, 3), ValueError, "divisible by num_heads"),
    (lambda: nn.MultiheadAttention(8, 2, dropout=2), ValueError, "p"),
    (lambda: nn.MultiheadAttention(8, 2)(*[np.zeros((2, 3, 4), np.float32)] * 3), ValueError,
     "E = 8"),
    (lambda: nn.MultiheadAttention(8, 2)(*[np.zeros((2, 3, 8), np.float32)] * 3,
                                         key_padding_mask=np.zeros((2, 4), bool)),
     ValueError, "key_padding_mask"),
    (lambda: nn.MultiheadAttention(8, 2)(*[np.zeros((2, 3, 8), np.float32)] * 3,
                                         attn_mask=np.zeros((3, 3), int)), TypeError,
     "attn_mask"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), ValueError, "activation"),
    (lambda: nn.TransformerEncoder(nn.Linear(2, 2), 2), TypeError, "encoder_layer"),
    (lambda: nn.Embedding(4, 2, padding_idx=4), ValueError, "padding_idx"),
    (lambda: nn.Embedding(4, 2)(np.array([4])), ValueError, r"\[0, 4\)"),
    (lambda: nn.Embedding(4, 2)(np.array([0.5])), TypeError, "integer"),
    (lambda: models.vit(patch_size=29), ValueError, "patch_size"),
])
def test_bad_arguments_are_refused_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()
