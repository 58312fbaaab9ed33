"""Test-wide settings: hypothesis profiles and the MNIST data directory."""

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

# Numba compiles on first call, so no per-example deadline; CI runs fewer examples.
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The real MNIST files live beside the checkout, in ../shared/data/mnist (never in the repo).
_SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
if "MINT_DATA" not in os.environ and _SHARED_MNIST.is_dir():
    os.environ["MINT_DATA"] = str(_SHARED_MNIST)
