"""Side-by-side timings of every op for each strategy (and PyTorch when installed).

``mint bench`` builds its work from the cases of :mod:`mint.bench.specs` (shapes, inputs, the
Mint call, the PyTorch reference, FLOPs); :mod:`mint.bench.timing` times them (warm-up first,
strategies interleaved round after round, medians) and :mod:`mint.bench.report` prints and saves
the results.
"""

from mint.bench.report import format_table, machine_description, plot, write_json
from mint.bench.specs import (
    ALL_STRATEGIES,
    MINT_STRATEGIES,
    NETWORKS,
    OP_SPECS,
    OPS,
    SPECS,
    TORCH_STRATEGIES,
    Case,
    Inputs,
    ModelSpec,
    Network,
    OpSpec,
    cases,
    make_mint_train_step,
    make_torch_train_step,
    torch_available,
)
from mint.bench.timing import Result, run, time_case

__all__ = [
    "ALL_STRATEGIES", "MINT_STRATEGIES", "NETWORKS", "OPS", "OP_SPECS", "SPECS",
    "TORCH_STRATEGIES", "Case", "Inputs", "ModelSpec", "Network", "OpSpec", "Result", "cases",
    "format_table", "machine_description", "make_mint_train_step", "make_torch_train_step",
    "plot", "run", "time_case", "torch_available", "write_json",
]
