"""The transformer's layers and models.vit outside Mint: ONNX export run in ONNX Runtime,
mint.summary's rows and counts, and the PyTorch round trip (to_torch computes what the Mint
layer computes; from_torch gives it back with the same keys and results)."""

import numpy as np
import pytest

import mint
import mint.onnx
from helpers import STRATEGY_TOLERANCES, assert_close, requires_torch, torch
from layer_cases import TRANSFORMER_CASE_IDS, TRANSFORMER_CASES, example_batch
from mint import models, nn
from mint.interop import from_torch, to_torch

try:
    import onnx
    import onnxruntime
except ImportError:  # optional: the extra mint-nn[deploy]
    onnx = onnxruntime = None

requires_onnx = pytest.mark.skipif(onnx is None or onnxruntime is None,
                                   reason="onnx and onnxruntime are not installed")
LAYER_CASES = [case for case in TRANSFORMER_CASES if not case[0].startswith("vit")]


@requires_onnx
@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("case", TRANSFORMER_CASES, ids=TRANSFORMER_CASE_IDS)
def test_onnxruntime_equals_mint_at_batch_1_and_5(tmp_path, case, opset):
    """opset 13 decomposes LayerNorm; 17 has LayerNormalization."""
    _, build, shape = case
    model = build(np.float32)
    mint.onnx.export(model, tmp_path / "model.onnx", (1, *shape), opset=opset)
    onnx.checker.check_model(str(tmp_path / "model.onnx"))
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    model.eval()
    for batch in (1, 5):
        x = example_batch(shape, batch)
        (output,) = session.run(None, {"input": x})
        assert_close(output, model(x), STRATEGY_TOLERANCES)


def test_summary_of_vit_counts_parameters_and_multiply_adds():
    model = models.vit()
    result = mint.summary(model, (2, 1, 28, 28))
    assert result.total_parameters == sum(p.data.size for p in model.parameters())
    names = [layer.name for layer in result.layers]
    assert names == ["conv_proj", "class_token+pos_embedding",
                     *(f"encoder.layers.{i}" for i in range(4)), "encoder.norm", "head"]
    E, F, L, N = 64, 128, 17, 2
    per_layer = N * L * (4 * E * (E + 1) + 2 * L * E + F * (E + 1) + E * (F + 1) + 2 * E)
    assert result.layers[2].multiply_adds == per_layer
    assert result.layers[2].output_shape == (N, L, E)
    assert result.activation_bytes > 0


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", LAYER_CASES, ids=[case[0] for case in LAYER_CASES])
def test_to_torch_and_back_compute_the_same_with_the_same_keys(case, dtype):
    _, build, shape = case
    model = build(dtype).eval()
    module = to_torch(model)
    assert list(module.state_dict()) == list(model.state_dict())
    x = example_batch(shape, 3, dtype)
    expected = model(x)
    with torch.no_grad():
        assert_close(module(torch.from_numpy(x)).numpy(), expected)
    back = from_torch(module)
    assert type(back) is type(model)
    assert list(back.state_dict()) == list(model.state_dict())
    assert_close(back.eval()(x), expected)


@requires_torch
def test_multihead_attention_and_embedding_round_trip():
    attention = nn.MultiheadAttention(8, 2, batch_first=False, dtype=np.float64).eval()
    module = to_torch(attention)
    x = example_batch((2, 8), 4, np.float64)
    expected, weights = attention(x, x, x)
    with torch.no_grad():
        out, torch_weights = module(*[torch.from_numpy(x)] * 3)
    assert_close(out.numpy(), expected)
    assert_close(torch_weights.numpy(), weights)
    assert_close(from_torch(module).eval()(x, x, x)[0], expected)
    embedding = nn.Embedding(7, 3, padding_idx=2)
    indices = np.array([[0, 2, 6], [1, 1, 5]])
    with torch.no_grad():
        assert_close(to_torch(embedding)(torch.from_numpy(indices)).numpy(), embedding(indices))
    back = from_torch(to_torch(embedding))
    assert back.padding_idx == 2 and np.array_equal(back(indices), embedding(indices))
