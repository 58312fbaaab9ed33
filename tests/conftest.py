"""Test-wide settings: hypothesis profiles and the MNIST data directory."""

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

# How many cases each hypothesis test draws (docs/testing.md): "ci" few, the same every run;
# "dev", a local run, new ones every run; "thorough" many, after a change to a kernel.
# HYPOTHESIS_PROFILE picks one; else the CI variable (.ci/run sets it) picks "ci". Numba
# compiles on a kernel's first call, so no profile has a per-example deadline.
_ANY_PROFILE = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=15, derandomize=True, **_ANY_PROFILE)
settings.register_profile("dev", max_examples=25, **_ANY_PROFILE)
settings.register_profile("thorough", max_examples=200, **_ANY_PROFILE)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

# The real MNIST files live beside the checkout, in ../shared/data/mnist (never in the repo).
_SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
if "MINT_DATA" not in os.environ and _SHARED_MNIST.is_dir():
    os.environ["MINT_DATA"] = str(_SHARED_MNIST)
