"""Start-up cost: ``import mint`` and the modules a training run uses load no heavy library
that only some ops need (scipy.special for the vectorized GELU: 0.13 s and more; onnx and torch
for export and interop; mpi4py, which starts MPI)."""

import os
import subprocess
import sys


def modules_loaded_by(imports, modules, then="pass"):
    """Which of ``modules`` a fresh interpreter has loaded after ``import <imports>`` and the
    statement ``then``."""
    code = (f"import sys, {imports}; {then}; "
            f"print(sorted(set({list(modules)!r}) & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=os.environ, check=True, timeout=300)
    return result.stdout.strip()


def test_importing_mint_for_training_leaves_scipy_special_unloaded():
    assert modules_loaded_by("mint, mint.cli, mint.train, mint.models, mint.functional",
                             ["scipy.special"]) == "[]"


def test_import_mint_gives_onnx_interop_and_distributed_on_first_use_without_their_libraries():
    heavy = ["onnx", "onnxruntime", "torch", "mpi4py"]
    assert modules_loaded_by("mint", [*heavy, "mint.onnx", "mint.interop",
                                      "mint.distributed"]) == "[]"
    assert modules_loaded_by(
        "mint", [*heavy, "mint.onnx", "mint.interop", "mint.distributed"],
        then="mint.onnx.export, mint.interop.to_torch, mint.distributed.init",
    ) == str(["mint.distributed", "mint.interop", "mint.onnx"])
