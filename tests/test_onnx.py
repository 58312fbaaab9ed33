"""ONNX export: every layer type and every model of mint.models, run in ONNX Runtime at batch 1
and 7 (one dynamic-batch file), equals Mint's eval output; onnx.checker passes on every file."""

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import mint
import mint.onnx
from helpers import STRATEGY_TOLERANCES, assert_close
from layer_cases import CASE_IDS, CASES, example_batch
from mint import models, nn
from mint.checkpoint import save_checkpoint
from mint.registry import UnsupportedLayerError
from test_cli import run as mint_command
from test_docs import code_block
from test_startup import modules_loaded_by

try:
    import onnx
    import onnxruntime
except ImportError:  # optional: the extra mint-nn[deploy]
    onnx = onnxruntime = None

requires_onnx = pytest.mark.skipif(
    onnx is None or onnxruntime is None,
    reason="onnx and onnxruntime are not installed (pip install 'mint-nn[deploy]')",
)
EXPORT_PAGE = Path(__file__).resolve().parents[1] / "docs" / "export.md"
FLOAT64_TOLERANCES = {np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-12}}


def run_onnxruntime(path, x):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"input": x})
    return output


def eval_output(model, x):
    model.eval()
    return model(x)


@requires_onnx
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_onnxruntime_equals_mint_at_batch_1_and_7_from_one_dynamic_batch_file(tmp_path, case):
    _, build, shape = case
    mint.manual_seed(0)
    model = build(np.float32)
    path = tmp_path / "model.onnx"
    mint.onnx.export(model, path, (1, *shape))
    onnx.checker.check_model(str(path), full_check=True)
    for batch in (1, 7):
        x = example_batch(shape, batch, seed=batch)
        assert_close(run_onnxruntime(path, x), eval_output(model, x), STRATEGY_TOLERANCES)


def _assert_onnxruntime_equals_mint(tmp_path_factory, model, shape, opset):
    """Export ``model`` for inputs of ``shape`` at ``opset`` (22 where only 22 specifies it) and
    compare ONNX Runtime with Mint on a batch of 3; inputs Mint refuses are skipped."""
    x = example_batch(shape, 3)
    try:
        expected = eval_output(model, x)
    except ValueError:  # the windows do not fit this input: Mint refuses it
        assume(False)
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    try:
        mint.onnx.export(model, path, (1, *shape), opset=opset)
    except ValueError as error:  # the one case ONNX specifies only from opset 22
        assert opset < 22 and "opset=22" in str(error)
        mint.onnx.export(model, path, (1, *shape), opset=22)
    assert_close(run_onnxruntime(path, x), expected, STRATEGY_TOLERANCES)


@requires_onnx
@given(
    channels=st.integers(1, 3), size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    conv=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2)),
    pool=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.booleans()),
    pool_padding=st.booleans(), opset=st.sampled_from([13, 17, 22]),
)
def test_onnxruntime_equals_mint_for_random_convolution_and_pooling_options(
        tmp_path_factory, channels, size, conv, pool, pool_padding, opset):
    kernel, stride, padding, dilation = conv
    pool_kernel, pool_stride, pool_dilation, ceil_mode = pool
    model = nn.Sequential(
        nn.Conv2d(channels, 2, kernel, stride, padding, dilation),
        nn.MaxPool2d(pool_kernel, pool_stride, pool_kernel // 2 if pool_padding else 0,
                     pool_dilation, ceil_mode),
    )
    _assert_onnxruntime_equals_mint(tmp_path_factory, model, (channels, *size), opset)


@requires_onnx
@given(
    channels=st.integers(1, 3), size=st.tuples(st.integers(1, 10), st.integers(1, 10)),
    pool=st.tuples(st.integers(1, 4), st.integers(1, 3), st.booleans(), st.booleans()),
    padding=st.booleans(), opset=st.sampled_from([13, 17, 22]),
)
def test_onnxruntime_equals_mint_for_random_average_pooling_options(
        tmp_path_factory, channels, size, pool, padding, opset):
    # ceil_mode windows past the padding: ONNX Runtime's divisors must be PyTorch's too.
    kernel, stride, ceil_mode, count_include_pad = pool
    model = nn.AvgPool2d(kernel, stride, kernel // 2 if padding else 0, ceil_mode,
                         count_include_pad)
    _assert_onnxruntime_equals_mint(tmp_path_factory, model, (channels, *size), opset)


@requires_onnx
def test_dropout_exports_as_the_identity_of_eval_mode(tmp_path):
    model = nn.Sequential(nn.Dropout(0.5), nn.Tanh(), nn.Dropout2d(0.9))
    mint.onnx.export(model, tmp_path / "dropout.onnx", (1, 2, 3, 3))
    x = example_batch((2, 3, 3), 4)
    assert_close(run_onnxruntime(tmp_path / "dropout.onnx", x), eval_output(model, x),
                 STRATEGY_TOLERANCES)
    np.testing.assert_array_equal(eval_output(model, x), eval_output(nn.Tanh(), x))


@pytest.mark.parametrize("layer, message", [
    (nn.AvgPool2d(2, divisor_override=3), "AvgPool2d '1' has divisor_override=3"),
    (nn.AdaptiveAvgPool2d(3), r"AdaptiveAvgPool2d '1' maps input \(5, 6\) to \(3, 3\)"),
])
def test_average_pooling_onnx_cannot_express_is_refused(tmp_path, layer, message):
    with pytest.raises(ValueError, match=message):
        mint.onnx.export(nn.Sequential(nn.ReLU(), layer), tmp_path / "pool.onnx", (1, 2, 5, 6))
    assert not (tmp_path / "pool.onnx").exists()


@requires_onnx
def test_ceil_mode_that_drops_a_window_in_one_dimension_only_needs_opset_22(tmp_path):
    """MaxPool2d(2, 3, ceil_mode=True) on 3 x 4: the height's second window would start in
    the right padding (dropped), the width's second window is a partial one (kept)."""
    model = nn.MaxPool2d(2, 3, ceil_mode=True)
    with pytest.raises(ValueError, match="opset=22"):
        mint.onnx.export(model, tmp_path / "17.onnx", (1, 1, 3, 4))
    mint.onnx.export(model, tmp_path / "22.onnx", (1, 1, 3, 4), opset=22)
    x = example_batch((1, 3, 4), 2)
    assert run_onnxruntime(tmp_path / "22.onnx", x).shape == (2, 1, 1, 2)
    assert_close(run_onnxruntime(tmp_path / "22.onnx", x), model(x), STRATEGY_TOLERANCES)


@requires_onnx
def test_each_layer_maps_to_its_onnx_operator_and_parameters_keep_their_names(tmp_path):
    mint.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(2 * 4 * 4, 5), nn.LeakyReLU(0.3),
                          nn.Linear(5, 3, bias=False), nn.Sigmoid(), nn.Tanh())
    proto = mint.onnx.export(model, tmp_path / "model.onnx", (1, 1, 8, 8))
    assert [node.op_type for node in proto.graph.node] == [
        "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "LeakyRelu", "Gemm", "Sigmoid", "Tanh"]
    attributes = {node.op_type: {a.name: onnx.helper.get_attribute_value(a)
                                 for a in node.attribute} for node in proto.graph.node}
    assert attributes["Conv"]["pads"] == [1, 1, 1, 1]
    assert attributes["MaxPool"]["ceil_mode"] == 0
    assert attributes["LeakyRelu"]["alpha"] == pytest.approx(0.3)
    initializers = {tensor.name: onnx.numpy_helper.to_array(tensor)
                    for tensor in proto.graph.initializer}
    state = model.state_dict()
    assert initializers.keys() == state.keys()
    for key, value in state.items():
        np.testing.assert_array_equal(initializers[key], value)
    assert [value.name for value in proto.graph.input] == ["input"]
    assert [value.name for value in proto.graph.output] == ["output"]


@requires_onnx
def test_a_fixed_batch_export_declares_that_batch(tmp_path):
    proto = mint.onnx.export(models.mlp(), tmp_path / "model.onnx", (3, 1, 28, 28),
                             dynamic_batch=False)
    assert mint.onnx.signature(proto) == \
        "input [3, 1, 28, 28] float32 -> output [3, 10] float32"
    dynamic = mint.onnx.export(models.mlp(), tmp_path / "dynamic.onnx", (3, 1, 28, 28))
    assert mint.onnx.signature(dynamic) == \
        "input [batch, 1, 28, 28] float32 -> output [batch, 10] float32"


@requires_onnx
def test_float64_model_exports_in_float64_or_float32(tmp_path):
    mint.manual_seed(0)
    model = models.mlp(hidden=(16,)).to(np.float64)
    x = example_batch((1, 28, 28), 4, np.float64)
    mint.onnx.export(model, tmp_path / "64.onnx", dtype=np.float64)
    assert_close(run_onnxruntime(tmp_path / "64.onnx", x), eval_output(model, x),
                 FLOAT64_TOLERANCES)
    mint.onnx.export(model, tmp_path / "32.onnx")
    output = run_onnxruntime(tmp_path / "32.onnx", x.astype(np.float32))
    assert output.dtype == np.float32
    assert_close(output, eval_output(model, x).astype(np.float32), STRATEGY_TOLERANCES)


@requires_onnx
def test_export_runs_the_model_in_eval_mode_and_gives_each_module_its_mode_back(tmp_path):
    model = models.lenet()
    model.train()
    model[9].eval()
    mint.onnx.export(model, tmp_path / "model.onnx")
    assert [module.training for module in model.modules()] == [True] * 10 + [False]


@requires_onnx
def test_onnxruntime_difference_sees_a_file_that_does_not_match_the_model(tmp_path):
    model = models.mlp(hidden=(8,))
    mint.onnx.export(model, tmp_path / "model.onnx")
    assert mint.onnx.onnxruntime_difference(model, tmp_path / "model.onnx", (5, 1, 28, 28)) < 1e-5
    model[1].weight.data *= 2
    assert mint.onnx.onnxruntime_difference(model, tmp_path / "model.onnx", (5, 1, 28, 28)) > 0.1


class Doubling(nn.Module):
    """A user's own layer: no ONNX mapping."""

    def forward(self, x):
        return 2 * x


@requires_onnx
def test_a_layer_without_mapping_is_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous export")
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(4, 3), Doubling()))
    with pytest.raises(UnsupportedLayerError, match=r"layer '1\.1' of type Doubling"):
        mint.onnx.export(model, path, (1, 4))
    assert path.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


@requires_onnx
@pytest.mark.parametrize("arguments, error, message", [
    ({"opset": 12}, ValueError, "opset must be an int from 13"),
    ({"opset": 10_000}, ValueError, "opset must be an int from 13"),
    ({"opset": True}, ValueError, "opset"),
    ({"input_shape": (28,)}, ValueError, "input_shape must be"),
    ({"input_shape": (28, 28)}, ValueError, "input must have 4 dimensions"),
    ({"input_shape": (1, 0, 28, 28)}, ValueError, "input_shape must be"),
    ({"input_shape": "1,1,28,28"}, ValueError, "input_shape must be"),
    ({"input_shape": (1, 3, 28, 28)}, ValueError, "expected input with 1 channels"),
    ({"dynamic_batch": "yes"}, TypeError, "dynamic_batch must be a bool"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
])
def test_bad_arguments_are_refused_with_a_message(tmp_path, arguments, error, message):
    with pytest.raises(error, match=message):
        mint.onnx.export(models.lenet(), tmp_path / "model.onnx", **arguments)
    assert not (tmp_path / "model.onnx").exists()


@requires_onnx
def test_export_refuses_what_is_not_a_mint_module(tmp_path):
    with pytest.raises(TypeError, match="must be a mint.nn.Module"):
        mint.onnx.export(lambda x: x, tmp_path / "model.onnx")


def test_without_onnx_export_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail
    with pytest.raises(ImportError, match=r"pip install 'mint-nn\[onnx\]'"):
        mint.onnx.export(models.mlp(), tmp_path / "model.onnx")


def test_importing_mint_and_its_export_modules_imports_neither_onnx_nor_torch():
    assert modules_loaded_by("mint, mint.onnx, mint.interop, mint.summarize, mint.cli",
                             ["onnx", "onnxruntime", "torch"]) == "[]"


@requires_onnx
def test_the_documented_onnxruntime_snippet_runs_an_exported_lenet(tmp_path, monkeypatch,
                                                                   capsys):
    snippet = code_block(EXPORT_PAGE, "ONNX: `mint export`")
    model = models.lenet()
    mint.onnx.export(model, tmp_path / "model.onnx")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(snippet, "docs/export.md", "exec"), namespace)
    assert namespace["images"].shape == (5, 1, 28, 28)
    assert_close(namespace["logits"], eval_output(model, namespace["images"]),
                 STRATEGY_TOLERANCES)
    assert capsys.readouterr().out.startswith("[")


# ------------------------------------------------------------------------------ mint export


def save_model(path, name, in_shape):
    mint.manual_seed(0)
    architecture = models.architecture(name, in_shape=in_shape, num_classes=10)
    model = models.build(architecture)
    save_checkpoint(path, model, architecture)
    return model


@requires_onnx
def test_mint_export_writes_a_file_that_onnxruntime_runs_as_mint_does(tmp_path, capsys):
    model = save_model(tmp_path / "model.npz", "lenet", (1, 28, 28))
    status, out, err = mint_command(capsys, "export", tmp_path / "model.npz",
                                    tmp_path / "model.onnx")
    assert status == 0, err
    assert "input [batch, 1, 28, 28] float32 -> output [batch, 10] float32" in out
    assert "ONNX Runtime on a random batch (7, 1, 28, 28): largest difference" in out
    onnx.checker.check_model(str(tmp_path / "model.onnx"), full_check=True)
    x = example_batch((1, 28, 28), 5)
    assert_close(run_onnxruntime(tmp_path / "model.onnx", x), eval_output(model, x),
                 STRATEGY_TOLERANCES)


@requires_onnx
def test_mint_export_with_a_fixed_batch_and_opset(tmp_path, capsys):
    save_model(tmp_path / "model.npz", "mlp", (1, 8, 8))
    status, out, err = mint_command(capsys, "export", tmp_path / "model.npz",
                                    tmp_path / "model.onnx", "--batch", 3, "--opset", 22)
    assert status == 0, err
    assert "opset 22" in out and "input [3, 1, 8, 8]" in out
    assert onnx.load(str(tmp_path / "model.onnx")).opset_import[0].version == 22


@requires_onnx
def test_mint_export_errors_are_one_line(tmp_path, capsys):
    save_model(tmp_path / "model.npz", "mlp", (1, 8, 8))
    status, _, err = mint_command(capsys, "export", tmp_path / "model.npz",
                                  tmp_path / "model.onnx", "--opset", 5)
    assert status == 2 and "opset must be an int from 13" in err
    status, _, err = mint_command(capsys, "export", tmp_path / "missing.npz",
                                  tmp_path / "model.onnx")
    assert status == 1 and "no checkpoint at" in err
    assert not (tmp_path / "model.onnx").exists()


@requires_onnx
@pytest.mark.parametrize("layer", [nn.BatchNorm1d(4, affine=False, dtype=np.float64),
                                   nn.BatchNorm2d(4, eps=0.125, dtype=np.float64)],
                         ids=["batch-norm1d-no-affine", "batch-norm2d"])
def test_batch_norm_exports_its_running_statistics(tmp_path, layer):
    """Trained statistics and parameters (the layer cases have only the initial ones). ONNX
    stores epsilon as a float32 attribute: eps=0.1 would move float64 results by 1e-9."""
    rng = np.random.default_rng(0)
    shape = (4,) if isinstance(layer, nn.BatchNorm1d) else (4, 3, 2)
    for _ in range(3):
        layer(3 + 2 * rng.standard_normal((5, *shape)))
    for parameter in layer.parameters():
        parameter.data[...] = rng.standard_normal(parameter.shape)
    path = tmp_path / "bn.onnx"
    mint.onnx.export(layer, path, (1, *shape), dtype=np.float64)
    x = rng.standard_normal((7, *shape))
    assert_close(run_onnxruntime(path, x), eval_output(layer, x), FLOAT64_TOLERANCES)


def test_batch_norm_without_running_statistics_is_not_exported(tmp_path):
    with pytest.raises(ValueError, match="BatchNorm2d '1' has no running statistics"):
        mint.onnx.export(nn.Sequential(nn.ReLU(), nn.BatchNorm2d(2, track_running_stats=False)),
                         tmp_path / "bn.onnx", (1, 2, 3, 3))
    assert not (tmp_path / "bn.onnx").exists()


@requires_onnx
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("opset", [13, 20])
def test_gelu_is_one_gelu_node_from_opset_20_and_built_from_erf_or_tanh_below(tmp_path,
                                                                               approximate,
                                                                               opset):
    model = nn.GELU(approximate)
    path = tmp_path / "gelu.onnx"
    mint.onnx.export(model, path, (1, 3, 4), opset=opset)
    onnx.checker.check_model(str(path), full_check=True)
    op_types = {node.op_type for node in onnx.load(str(path)).graph.node}
    expected = {"Gelu"} if opset >= 20 else {"Erf" if approximate == "none" else "Tanh", "Mul",
                                             "Add"}
    assert expected <= op_types and ("Gelu" in op_types) == (opset >= 20)
    x = 3 * example_batch((3, 4), 5)
    assert_close(run_onnxruntime(path, x), eval_output(model, x), STRATEGY_TOLERANCES)
