"""Side-by-side timings of every op for each strategy (and PyTorch when installed).

``mint bench`` builds its work from the cases of :mod:`mint.bench.specs` (shapes, inputs, the
Mint call, the PyTorch reference, FLOPs); :mod:`mint.bench.timing` times them (warm-up first,
strategies interleaved round after round, medians) and :mod:`mint.bench.report` prints and saves
the results.
"""

from mint.bench.report import format_table, machine_description, plot, write_json
from mint.bench.specs import (
    ALL_STRATEGIES,
    CONV_SHAPES,
    CROSS_ENTROPY_SHAPES,
    LINEAR_SHAPES,
    MINT_STRATEGIES,
    OPS,
    POOL_SHAPES,
    TRAIN_BATCH,
    Case,
    cases,
    conv2d_cases,
    conv2d_inputs,
    cross_entropy_cases,
    cross_entropy_inputs,
    lenet_flops,
    linear_cases,
    linear_inputs,
    make_mint_train_step,
    make_torch_train_step,
    max_pool2d_cases,
    max_pool2d_inputs,
    torch_available,
    train_step_cases,
    train_step_inputs,
)
from mint.bench.timing import Result, run, time_case

__all__ = [
    "ALL_STRATEGIES", "CONV_SHAPES", "CROSS_ENTROPY_SHAPES", "LINEAR_SHAPES", "MINT_STRATEGIES",
    "OPS", "POOL_SHAPES", "TRAIN_BATCH", "Case", "Result", "cases", "conv2d_cases",
    "conv2d_inputs", "cross_entropy_cases", "cross_entropy_inputs", "format_table", "lenet_flops",
    "linear_cases", "linear_inputs", "machine_description", "make_mint_train_step",
    "make_torch_train_step", "max_pool2d_cases", "max_pool2d_inputs", "plot", "run",
    "time_case", "torch_available", "train_step_cases", "train_step_inputs", "write_json",
]
