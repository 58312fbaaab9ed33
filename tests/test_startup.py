"""Start-up cost: ``import mint`` and the modules a training run uses load no heavy library
that only some ops need (scipy.special for the vectorized GELU: 0.13 s and more; onnx and torch
for export and interop)."""

import os
import subprocess
import sys


def modules_loaded_by(imports, modules):
    """Which of ``modules`` a fresh interpreter has loaded after ``import <imports>``."""
    code = f"import sys, {imports}; print(sorted(set({list(modules)!r}) & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=os.environ, check=True, timeout=300)
    return result.stdout.strip()


def test_importing_mint_for_training_leaves_scipy_special_unloaded():
    assert modules_loaded_by("mint, mint.cli, mint.train, mint.models, mint.functional",
                             ["scipy.special"]) == "[]"
