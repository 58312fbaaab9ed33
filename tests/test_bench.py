"""``mint bench`` and :mod:`mint.bench`: the cases time what they claim, the table and the files."""

import json

import numba
import numpy as np
import pytest

import mint
from helpers import assert_close, requires_torch
from mint import bench, cli, models
from mint import functional as F

# Smaller images than a network's own for the tests that run it (resnet18's 224 x 224 would take
# seconds a step with the vectorized strategy).
SMALL = {"resnet18": (3, 32, 32)}


@pytest.fixture
def restore_threads():
    """Put Mint's (and torch's) thread count back after a test that changes it."""
    threads = mint.get_num_threads()
    yield
    bench.set_threads(threads, bench.ALL_STRATEGIES if bench.torch_available() else ())


def test_conv2d_case_flops_count_two_per_multiply_add():
    shape = (64, 32, 64, 14, 3, 1, 1)  # (N, C_in, C_out, H, k, s, p)
    forward, forward_backward = bench.SPECS["conv2d"].cases([shape])
    assert forward.flops == 2 * 64 * 64 * 14 * 14 * 32 * 3 * 3
    assert forward_backward.flops == 3 * forward.flops
    assert forward.items == 64


@pytest.mark.parametrize("strategy", bench.MINT_STRATEGIES)
def test_conv2d_forward_case_computes_the_convolution(strategy):
    spec = bench.SPECS["conv2d"]
    shape = spec.shapes[0]
    (x, weight, bias), _, grad_out = spec.inputs(shape)
    out = spec.cases([shape])[0].make(strategy)()
    np.testing.assert_allclose(out, F.conv2d(x, weight, bias, 1, 1, strategy="vectorized"),
                               rtol=1e-4, atol=1e-4)
    assert out.shape == grad_out.shape


@requires_torch
@pytest.mark.parametrize("strategy", bench.MINT_STRATEGIES)
@pytest.mark.parametrize("spec", bench.OP_SPECS, ids=lambda spec: spec.name)
def test_op_spec_cases_compute_what_their_torch_reference_computes(spec, strategy):
    """Each timed Mint callable gives the reference's output (forward) or input gradients
    (forward+backward), and the torch forward case gives the same output."""
    import torch

    shape = min(spec.shapes, key=np.prod)
    arrays, args, grad_out = spec.inputs(shape)
    tensors = [torch.from_numpy(a).requires_grad_() for a in arrays]
    args = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    expected = getattr(torch.nn.functional, spec.torch)(*tensors, *args)
    expected.backward(None if grad_out is None else torch.from_numpy(grad_out))
    for case in spec.cases([shape]):
        assert case.items == shape[0]
        got = case.make(strategy)()
        if case.direction == "forward":
            got = got[0] if isinstance(got, tuple) else got
            assert_close(got, expected.detach())
            for torch_strategy in bench.TORCH_STRATEGIES:
                assert_close(case.make(torch_strategy)(), expected.detach())
        else:
            grads = got if isinstance(got, tuple) else (got,)
            assert len(grads) == len(tensors)
            for grad, want in zip(grads, (t.grad for t in tensors), strict=True):
                assert_close(grad, want)


@pytest.mark.parametrize("network", sorted(bench.NETWORKS))
@pytest.mark.parametrize("strategy", bench.MINT_STRATEGIES)
def test_train_step_case_lowers_the_loss_on_its_fixed_batch(strategy, network):
    step = bench.make_mint_train_step(strategy, network, batch=16, in_shape=SMALL.get(network))
    losses = [step() for _ in range(5)]
    assert losses[-1] < losses[0]


def test_time_case_reports_medians_and_ratios_to_the_fastest():
    case = bench.SPECS["cross_entropy"].cases()[0]
    results = bench.time_case(case, bench.MINT_STRATEGIES, rounds=3)
    assert [r.strategy for r in results] == list(bench.MINT_STRATEGIES)
    assert min(r.ratio_to_fastest for r in results) == 1.0
    assert all(r.median_ms > 0 and r.images_per_s > 0 for r in results)
    table = bench.format_table(results)
    assert all(s in table for s in bench.MINT_STRATEGIES)


def test_time_case_starts_each_round_with_the_next_strategy():
    calls = []
    case = bench.Case("op", "forward", "shape", None, 1,
                      lambda strategy: lambda: calls.append(strategy))
    bench.time_case(case, ["a", "b", "c"], rounds=3, warmup=0)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


def test_unknown_op_is_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match="conv2d"):
        bench.cases(["conv3d"])


def test_mint_bench_prints_a_table_and_writes_json_and_plot(capsys, tmp_path):
    status = cli.main(["bench", "--ops", "cross_entropy", "--strategies", "loop,vectorized",
                       "--rounds", "2", "--threads", "1", "--json", str(tmp_path / "b.json"),
                       "--plot", str(tmp_path / "b.png")])
    out = capsys.readouterr().out
    assert status == 0
    assert "cross_entropy" in out and "vs best" in out
    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved["meta"]["threads"] == 1
    rows = {(r["shape"], r["strategy"]) for r in saved["results"]}
    assert len(rows) == 2 * len(bench.SPECS["cross_entropy"].shapes)
    assert (tmp_path / "b.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("argv, message", [
    (["--ops", "conv3d"], "comma-separated list"),
    (["--strategies", "loop,jax"], "comma-separated list"),
    (["--rounds", "0"], "must be > 0"),
    (["--sweep", "threads"], "invalid choice: 'threads'"),
    (["--sweep", "batch", "--ops", "conv2d"], "not allowed with argument"),
])
def test_mint_bench_bad_arguments_get_a_one_line_error(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        cli.main(["bench", *argv])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_mint_bench_without_torch_times_mint_alone_and_refuses_torch(capsys, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setattr(bench, "torch_available", lambda: False)
    assert cli.main(["bench", "--ops", "cross_entropy", "--rounds", "1", "--threads", "1",
                     "--json", str(tmp_path / "b.json")]) == 0
    saved = json.loads((tmp_path / "b.json").read_text())
    assert {r["strategy"] for r in saved["results"]} == set(bench.MINT_STRATEGIES)
    capsys.readouterr()
    for strategy in bench.TORCH_STRATEGIES:
        assert cli.main(["bench", "--strategies", f"loop,{strategy}"]) == 2
        assert "torch is not installed" in capsys.readouterr().err


@requires_torch
@pytest.mark.parametrize("network", sorted(bench.NETWORKS))
def test_torch_train_step_runs_the_same_model_shape(network):
    step = bench.make_torch_train_step("torch", network, batch=8, in_shape=SMALL.get(network))
    assert step() > 0
    # The same layers: Mint's model of that name has the torch twin's parameters and keys.
    net = bench.NETWORKS[network]
    model = models.MODELS[network](in_shape=net.in_shape, num_classes=net.num_classes)
    twin = net.torch_model(net.in_shape, net.num_classes)
    assert [name for name, _ in model.named_parameters()] == [
        name for name, _ in twin.named_parameters()]
    assert set(model.state_dict()) == set(twin.state_dict())


@pytest.mark.parametrize("spec", ["train_step", "inference"])
def test_every_network_is_timed_in_a_training_step_and_in_inference(spec):
    shapes = bench.SPECS[spec].cases()
    assert {case.shape.split()[0] for case in shapes} == set(bench.NETWORKS)
    assert all(case.flops > 0 for case in shapes)


def test_inference_case_counts_one_forward_pass_of_lenet_on_1000_images():
    (case,) = bench.SPECS["inference"].cases([("lenet", 1000)])
    assert (case.direction, case.items) == ("forward", 1000)
    assert case.flops == bench.NETWORKS["lenet"].flops(1000)
    assert case.flops == bench.SPECS["train_step"].cases([("lenet", 1000)])[0].flops / 3


@pytest.mark.parametrize("network", sorted(bench.NETWORKS))
@pytest.mark.parametrize("strategy", bench.MINT_STRATEGIES)
def test_mint_inference_is_the_eval_mode_forward(strategy, network):
    """The logits of the seeded model in eval mode (resnet's BatchNorm uses its running
    statistics, so a training-mode forward would differ)."""
    net, in_shape = bench.NETWORKS[network], SMALL.get(network)
    logits = bench.make_mint_inference(strategy, network, batch=8, in_shape=in_shape)()
    in_shape = in_shape or net.in_shape
    mint.manual_seed(0)
    model = models.MODELS[network](in_shape=in_shape, num_classes=net.num_classes,
                                   strategy="vectorized")
    images, _ = bench.specs.networks.image_batch(8, in_shape, net.num_classes)
    assert_close(logits, model.eval()(images))
    if network.startswith("resnet"):
        assert not np.allclose(logits, model.train()(images), atol=1e-3)


@requires_torch
@pytest.mark.parametrize("network", sorted(bench.NETWORKS))
def test_torch_cl_runs_the_same_model_and_batch_in_channels_last_memory(network):
    """torch-cl computes what torch computes (same seeded weights, same images): the layout is
    the only difference; its 4-D weights and images are channels-last."""
    import torch

    for make in (bench.make_torch_inference, bench.make_torch_train_step):
        default, channels_last = (make(s, network, batch=4, in_shape=SMALL.get(network))
                                  for s in bench.TORCH_STRATEGIES)
        # the step returns loss.item(), a Python float: compare at float32's tolerance
        assert_close(np.float32(channels_last()), np.float32(default()))
    model, x, _ = bench.specs.networks._torch_model("torch-cl", network, 4, 0, SMALL.get(network))
    assert x.is_contiguous(memory_format=torch.channels_last)
    weights = [p for p in model.parameters() if p.dim() == 4]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)


def test_sweep_times_each_case_with_each_thread_count(restore_threads):
    threads = (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,)
    results = bench.sweep(["loop", "vectorized"], threads, batches=(1, 3), rounds=1)
    measured = {(r.op, r.items, r.threads, r.strategy) for r in results}
    assert measured == {(op, batch, count, s) for op in ("train_step", "inference")
                        for batch in (1, 3) for count in threads for s in ("loop", "vectorized")}
    assert len(results) == len(measured)
    header = bench.format_table(results).splitlines()[0]
    assert ("threads" in header) == (len(threads) > 1)


def _sweep_cli(tmp_path, monkeypatch, strategies):
    monkeypatch.setattr(bench, "SWEEP_BATCHES", (1, 2))
    status = cli.main(["bench", "--sweep", "batch", "--strategies", strategies, "--threads", "1",
                       "--rounds", "1", "--json", str(tmp_path / "s.json"),
                       "--plot", str(tmp_path / "s.png")])
    assert status == 0
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")
    return json.loads((tmp_path / "s.json").read_text())


def test_mint_bench_sweep_prints_rows_and_writes_json_and_a_line_plot(capsys, tmp_path,
                                                                      monkeypatch,
                                                                      restore_threads):
    saved = _sweep_cli(tmp_path, monkeypatch, "loop")
    out = capsys.readouterr().out
    assert "lenet N=2 1x28x28" in out and "inference" in out and "train_step" in out
    assert saved["meta"]["threads"] == [1]
    assert sorted((r["op"], r["items"], r["threads"]) for r in saved["results"]) == [
        ("inference", 1, 1), ("inference", 2, 1), ("train_step", 1, 1), ("train_step", 2, 1)]


@requires_torch
def test_mint_bench_sweep_times_torch_cl_beside_mint(tmp_path, monkeypatch, restore_threads):
    saved = _sweep_cli(tmp_path, monkeypatch, "loop,torch-cl")
    assert {(r["strategy"], r["items"]) for r in saved["results"]} == {
        (s, b) for s in ("loop", "torch-cl") for b in (1, 2)}


@requires_torch
def test_mint_bench_defaults_to_every_strategy_torch_cl_included(capsys, tmp_path,
                                                                 restore_threads):
    assert cli.main(["bench", "--ops", "cross_entropy", "--rounds", "1", "--threads", "1",
                     "--json", str(tmp_path / "b.json")]) == 0
    saved = json.loads((tmp_path / "b.json").read_text())
    assert [r["strategy"] for r in saved["results"][:4]] == list(bench.ALL_STRATEGIES)
