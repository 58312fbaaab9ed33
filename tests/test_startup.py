"""Start-up cost: ``import mint`` and the modules a training run uses load no heavy library
that only some ops need (scipy.special for the vectorized GELU: 0.13 s and more)."""

import os
import subprocess
import sys


def test_importing_mint_for_training_leaves_scipy_special_unloaded():
    code = ("import sys, mint, mint.cli, mint.train, mint.models, mint.functional; "
            "print('scipy.special' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=os.environ, check=True, timeout=300)
    assert result.stdout.strip() == "False"
