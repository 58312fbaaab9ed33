"""The benchmark cases: one spec per op (shapes, inputs, Mint call, PyTorch reference, FLOPs),
in a module per op family, and the whole networks.

``mint bench`` times the cases built here. Each :class:`Case` turns a strategy name into a
zero-argument callable. To time a new op, write its seeded inputs builder and add one
:class:`OpSpec` to the ``SPECS`` of its family's module (:mod:`~mint.bench.specs.convolution`,
:mod:`~mint.bench.specs.pooling`, :mod:`~mint.bench.specs.dense`, :mod:`~mint.bench.specs.loss`,
:mod:`~mint.bench.specs.activation`, :mod:`~mint.bench.specs.normalization`,
:mod:`~mint.bench.specs.attention`): ``mint bench
--ops`` and its table, JSON and plot pick it up. A whole network (a training step) is a
:class:`ModelSpec` over ``NETWORKS`` (:mod:`~mint.bench.specs.networks`). What a case and a
spec are is in :mod:`~mint.bench.specs.common`.
"""

from mint.bench.specs import (
    activation,
    attention,
    convolution,
    dense,
    loss,
    networks,
    normalization,
    pooling,
)
from mint.bench.specs.activation import elementwise_inputs, softmax_inputs
from mint.bench.specs.attention import attention_inputs
from mint.bench.specs.common import (
    ALL_STRATEGIES,
    MINT_STRATEGIES,
    TORCH_STRATEGIES,
    Case,
    Inputs,
    OpSpec,
    torch_available,
    torch_tensor,
)
from mint.bench.specs.convolution import (
    conv2d_inputs,
    conv_transpose2d_inputs,
    grouped_conv2d_inputs,
)
from mint.bench.specs.dense import linear_inputs
from mint.bench.specs.loss import cross_entropy_inputs
from mint.bench.specs.networks import (
    NETWORKS,
    ModelSpec,
    Network,
    image_batch,
    lenet_flops,
    make_mint_inference,
    make_mint_train_step,
    make_torch_inference,
    make_torch_train_step,
    summary_flops,
    torch_lenet,
    torch_resnet,
    torch_resnet18,
)
from mint.bench.specs.normalization import batch_norm_inputs
from mint.bench.specs.pooling import (
    adaptive_avg_pool2d_inputs,
    avg_pool2d_inputs,
    max_pool2d_inputs,
)

# The op specs, family by family, in the order mint bench runs them.
OP_SPECS = (*convolution.SPECS, *pooling.SPECS, *dense.SPECS, *loss.SPECS, *activation.SPECS,
            *normalization.SPECS, *attention.SPECS)

# Every op and network case ``mint bench`` knows, by name, in the order it runs them.
SPECS = {spec.name: spec for spec in (*OP_SPECS, *networks.SPECS)}
OPS = tuple(SPECS)

# ``mint bench --sweep batch``: how images/s grow with the batch, per network case and threads.
SWEEP_BATCHES = (1, 8, 32, 64, 256)
SWEEP_THREADS = (1, 2)
SWEEP_NETWORK = "lenet"
SWEEP_SPECS = ("train_step", "inference")


def sweep_cases(batches=SWEEP_BATCHES):
    """The lenet training step and inference at each of ``batches``."""
    return [case for name in SWEEP_SPECS
            for case in SPECS[name].cases([(SWEEP_NETWORK, batch) for batch in batches])]


def cases(ops=OPS):
    """Every benchmark case of the named ops, in a stable order."""
    unknown = [op for op in ops if op not in SPECS]
    if unknown:
        raise ValueError(f"unknown op(s) {unknown}; choose from {list(OPS)}")
    return [case for op in ops for case in SPECS[op].cases()]


__all__ = [
    "ALL_STRATEGIES", "MINT_STRATEGIES", "NETWORKS", "OPS", "OP_SPECS", "SPECS", "SWEEP_BATCHES",
    "SWEEP_NETWORK", "SWEEP_SPECS", "SWEEP_THREADS", "TORCH_STRATEGIES", "Case", "Inputs",
    "ModelSpec", "Network", "OpSpec", "adaptive_avg_pool2d_inputs", "attention_inputs",
    "avg_pool2d_inputs",
    "batch_norm_inputs", "cases", "conv2d_inputs", "conv_transpose2d_inputs",
    "cross_entropy_inputs", "elementwise_inputs", "grouped_conv2d_inputs", "image_batch",
    "lenet_flops", "linear_inputs", "make_mint_inference", "make_mint_train_step",
    "make_torch_inference", "make_torch_train_step", "max_pool2d_inputs", "softmax_inputs",
    "summary_flops", "sweep_cases", "torch_available", "torch_lenet", "torch_resnet",
    "torch_resnet18", "torch_tensor",
]
