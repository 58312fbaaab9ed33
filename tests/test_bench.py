"""``mint bench`` and :mod:`mint.bench`: the cases time what they claim, the table and the files."""

import json

import numpy as np
import pytest

from helpers import assert_close, requires_torch
from mint import bench, cli
from mint import functional as F


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
            got, torch_out = got[0] if isinstance(got, tuple) else got, case.make("torch")()
            assert_close(torch_out, expected.detach())
            assert_close(got, expected.detach())
        else:
            grads = got if isinstance(got, tuple) else (got,)
            assert len(grads) == len(tensors)
            for grad, want in zip(grads, (t.grad for t in tensors), strict=True):
                assert_close(grad, want)


@pytest.mark.parametrize("strategy", bench.MINT_STRATEGIES)
def test_train_step_case_lowers_the_loss_on_its_fixed_batch(strategy):
    step = bench.make_mint_train_step(strategy, batch=16)
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
def test_torch_train_step_runs_the_same_model_shape():
    step = bench.make_torch_train_step(batch=8)
    assert step() > 0
