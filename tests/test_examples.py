"""The scripts in examples/ run to the end, which means their own final assertions hold.

Each example runs as a subprocess of this interpreter from the repository root, with the
environment inherited (so ``MINT_DATA`` makes them use MNIST when it is there), on settings small
enough for the whole module to take about a minute on two cores. A script fails here when it
raises, including its closing ``assert`` on accuracy, gradient error or strategy agreement.
"""

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mint import models
from mint.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TESTED = ("train_mnist.py", "compare_strategies.py", "gradcheck.py", "visualize.py",
          "concat_block.py", "torchvision_weights.py")
TIMEOUT = 300  # seconds per script, far above what each needs, to stop a hung run


def run_example(name, *args, env=None):
    """Run ``examples/<name>`` with ``args``; its stdout, once it has exited with status 0."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert result.returncode == 0, (
        f"{name} exited with status {result.returncode}\n--- stdout\n{result.stdout}"
        f"\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def test_every_example_is_run_by_this_module():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(TESTED)


@pytest.mark.parametrize("name", TESTED)
def test_example_docstring_says_how_to_run_it(name):
    source = (EXAMPLES / name).read_text()
    assert f"python examples/{name}" in (ast.get_docstring(ast.parse(source)) or "")
    assert 'if __name__ == "__main__":' in source


def test_train_mnist_example_reaches_its_accuracy_threshold():
    stdout = run_example("train_mnist.py", "--limit", 4000)
    assert "epoch 1: loss" in stdout
    assert "test accuracy" in stdout


def test_train_mnist_example_falls_back_to_digits_when_mnist_is_absent(tmp_path):
    env = {**os.environ, "MINT_DATA": str(tmp_path / "no-mnist-here")}
    stdout = run_example("train_mnist.py", env=env)
    assert "using the bundled 8x8 digits" in stdout
    assert "digits test images" in stdout


def test_gradcheck_example_finds_every_backward_within_tolerance():
    stdout = run_example("gradcheck.py")
    for layer in ("Linear", "Conv2d", "MaxPool2d", "ReLU", "Sigmoid", "Tanh", "CrossEntropyLoss"):
        assert layer in stdout


def test_concat_block_example_checks_its_backward_and_learns_the_digits():
    stdout = run_example("concat_block.py")
    assert "backward vs finite differences: worst relative error" in stdout
    assert "(conv): Conv2d(9, 8" in stdout  # the nested repr of the user's own module
    assert "digits test accuracy after 10 epochs" in stdout


@pytest.mark.skipif(importlib.util.find_spec("mint.bench") is None,
                    reason="mint.bench (the timing harness the example reuses) is not installed")
def test_compare_strategies_example_finds_the_strategies_agree():
    stdout = run_example("compare_strategies.py", "--rounds", 3)
    for strategy in ("loop", "vectorized"):
        assert strategy in stdout


def test_visualize_example_trains_then_writes_filters_and_feature_maps(tmp_path):
    out = tmp_path / "pictures"
    run_example("visualize.py", "--out", out, "--limit", 1000)
    for png in ("filters.png", "feature_maps.png"):
        assert (out / png).read_bytes().startswith(b"\x89PNG")


def test_visualize_example_reads_a_checkpoint(tmp_path):
    model = models.lenet(in_shape=(1, 8, 8))
    for parameter in model.parameters():  # not the initial weights: the file must be read
        parameter.data[...] = np.linspace(-1, 1, parameter.data.size).reshape(parameter.shape)
    path = save_checkpoint(tmp_path / "model.npz", model,
                           models.architecture("lenet", in_shape=(1, 8, 8), num_classes=10))
    out = tmp_path / "pictures"
    stdout = run_example("visualize.py", path, "--out", out)
    assert f"loaded {path}" in stdout
    assert (out / "filters.png").stat().st_size > 0


def test_torchvision_weights_example_loads_checks_exports_and_runs_resnet18():
    stdout = run_example("torchvision_weights.py", "--size", 64)
    if stdout.startswith("skipped:"):
        pytest.skip(stdout.strip())
    assert "122 state_dict entries loaded into mint.models.resnet18 as they are" in stdout
    assert "same top class: True" in stdout
    assert "ONNX Runtime on resnet18.onnx" in stdout
