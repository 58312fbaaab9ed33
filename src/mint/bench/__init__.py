"""Side-by-side timings of every op for each strategy (and PyTorch when installed, with its
default and its channels-last tensors), and of lenet over batch sizes and thread counts.

``mint bench`` builds its work from the cases of :mod:`mint.bench.specs` (shapes, inputs, the
Mint call, the PyTorch reference, FLOPs); :mod:`mint.bench.timing` times them (warm-up first,
strategies interleaved round after round, medians) and :mod:`mint.bench.report` prints and saves
the results.
"""

from mint.bench.report import format_table, machine_description, plot, plot_sweep, write_json
from mint.bench.specs import (
    ALL_STRATEGIES,
    MINT_STRATEGIES,
    NETWORKS,
    OP_SPECS,
    OPS,
    SPECS,
    SWEEP_BATCHES,
    SWEEP_THREADS,
    TORCH_STRATEGIES,
    Case,
    Inputs,
    ModelSpec,
    Network,
    OpSpec,
    cases,
    make_mint_inference,
    make_mint_train_step,
    make_torch_inference,
    make_torch_train_step,
    sweep_cases,
    torch_available,
)
from mint.bench.timing import Result, run, set_threads, sweep, time_case

__all__ = [
    "ALL_STRATEGIES", "MINT_STRATEGIES", "NETWORKS", "OPS", "OP_SPECS", "SPECS", "SWEEP_BATCHES",
    "SWEEP_THREADS", "TORCH_STRATEGIES", "Case", "Inputs", "ModelSpec", "Network", "OpSpec",
    "Result", "cases", "format_table", "machine_description", "make_mint_inference",
    "make_mint_train_step", "make_torch_inference", "make_torch_train_step", "plot",
    "plot_sweep", "run", "set_threads", "sweep", "sweep_cases", "time_case", "torch_available",
    "write_json",
]
