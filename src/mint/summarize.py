"""``mint.summary(model, input_shape)``: a table of the layers of a model, as torchinfo prints.

Per layer: its dotted name and class, its output shape, and, for one batch of ``input_shape``
(batch first):

- **parameters**: the number of values in its weights and biases;
- **multiply-adds**: one per product the layer sums, plus one per output value for a bias (the
  convention of torchinfo): ``Linear`` ``N * out_features * (in_features + 1)``, ``Conv2d``
  ``N * C_out * H_out * W_out * (C_in / groups * KH * KW + 1)`` (without the ``+ 1`` when there
  is no bias); ``ConvTranspose2d`` ``N * C_in * H_in * W_in * C_out / groups * KH * KW``, the
  products of every input value with its row of weights (PyTorch's FLOP counter; the products
  that land in the cropped padding included), plus one per output value for a bias;
  ``BatchNorm1d``/``2d`` one per output value (its scale and shift: torchinfo counts the
  batch size times its parameters, which is not the work done); pooling, activations and
  ``Flatten`` multiply nothing and count 0;
- **kept for backward**: the bytes of the arrays the layer keeps from forward for its backward
  in a training step: ``Linear``, ``Conv2d`` and ``ConvTranspose2d`` their input, ``ReLU`` and
  ``LeakyReLU`` their input, ``Sigmoid`` and ``Tanh`` their output, ``MaxPool2d`` its argmax
  (int64, the output's shape), ``BatchNorm1d``/``2d`` its input and its batch's mean and inverse
  deviation (one value per channel each), ``Flatten`` nothing (its output is a view of its
  input). An array that two layers keep (a ``Sigmoid``'s output that the next ``Linear`` keeps
  as input) counts once, at the first.

The total of the last column is the **activation memory of one training step**: what stays
allocated from the forward pass until backward has used it, beyond the parameters, their
gradients and the kernels' reusable scratch arrays. It grows linearly with the batch size.

The transformer's layers are costed in :mod:`mint.summarize_transformer`. A new layer type
adds one entry to :data:`COSTS`: a :class:`Cost` (or, for a container, a
function that walks its children).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mint import nn, summarize_transformer
from mint.composite import run
from mint.registry import (
    LayerRegistry,
    check_input_shape,
    check_model,
    child_name,
    parameter_dtype,
    tracing,
)


@dataclass(frozen=True)
class Cost:
    """What a layer costs. ``multiply_adds(layer, input_shape, output_shape) -> int``;
    ``keeps``: what it keeps for backward, each ``"input"``, ``"output"`` or a function
    ``(input, output) -> bytes`` of an array of its own; ``view``: its output shares
    its input's memory."""

    multiply_adds: Callable = lambda layer, input_shape, output_shape: 0
    keeps: tuple = ()
    view: bool = False


def _weighted_sum_multiply_adds(layer, input_shape, output_shape):
    """Each output value sums one product per weight of its row (``weight[0]``), plus the bias."""
    return math.prod(output_shape) * (layer.weight.data[0].size + (layer.bias is not None))


def _transposed_multiply_adds(layer, input_shape, output_shape):
    """Each input value multiplies its row of weights (``weight[c_in]``), plus the bias."""
    return (math.prod(input_shape) * layer.weight.data[0].size
            + (math.prod(output_shape) if layer.bias is not None else 0))


def _argmax_bytes(x, out):
    return out.size * np.dtype(np.int64).itemsize


def _one_per_output_value(layer, input_shape, output_shape):
    return math.prod(output_shape)


def _element_mask_bytes(x, out):
    """Dropout's bool mask, one byte per element."""
    return out.size


def _channel_mask_bytes(x, out):
    """Dropout2d's bool mask, one byte per channel of each sample."""
    return out.shape[0] * out.shape[1]


def _channel_statistics_bytes(x, out):
    """The mean and inverse deviation of each channel, in the input's dtype."""
    return 2 * x.shape[1] * x.itemsize


COSTS = LayerRegistry("summary")
COSTS.update({
    nn.Linear: Cost(_weighted_sum_multiply_adds, keeps=("input",)),
    nn.Conv2d: Cost(_weighted_sum_multiply_adds, keeps=("input",)),
    nn.ConvTranspose2d: Cost(_transposed_multiply_adds, keeps=("input",)),
    nn.MaxPool2d: Cost(keeps=(_argmax_bytes,)),
    nn.AvgPool2d: Cost(),  # backward needs only the input's shape
    nn.AdaptiveAvgPool2d: Cost(),
    nn.Dropout: Cost(keeps=(_element_mask_bytes,)),
    nn.Dropout2d: Cost(keeps=(_channel_mask_bytes,)),
    nn.Flatten: Cost(view=True),
    nn.ReLU: Cost(keeps=("input",)),
    nn.LeakyReLU: Cost(keeps=("input",)),
    nn.Sigmoid: Cost(keeps=("output",)),
    nn.Tanh: Cost(keeps=("output",)),
    nn.Softplus: Cost(keeps=("input",)),
    nn.GELU: Cost(keeps=("input",)),
    nn.SiLU: Cost(keeps=("input",)),
    nn.Softmax: Cost(keeps=("output",)),
    nn.LogSoftmax: Cost(keeps=("output",)),
    nn.Identity: Cost(view=True),
    nn.BatchNorm1d: Cost(_one_per_output_value, keeps=("input", _channel_statistics_bytes)),
    nn.BatchNorm2d: Cost(_one_per_output_value, keeps=("input", _channel_statistics_bytes)),
    **summarize_transformer.costs(Cost, lambda **row: LayerSummary(**row),
                                  _one_per_output_value),
})


@COSTS.register(nn.Sequential)
def _walk_sequential(walk, sequential, name, x, x_id):
    """The layers in the order forward runs them (``Sequential.execution_order``: a ReLU before
    a MaxPool2d runs after it, on the pooled map, and keeps that)."""
    names = {id(layer): index for index, layer in sequential.named_children()}
    for layer in sequential.execution_order:
        x, x_id = walk.visit(layer, child_name(name, names[id(layer)]), x, x_id)
    return x, x_id


@COSTS.register(nn.Residual)
def _walk_residual(walk, block, name, x, x_id):
    """Body and shortcut from the same input; their sum is a new array that nothing keeps."""
    out, _ = walk.visit(block.body, child_name(name, "body"), x, x_id)
    if block.shortcut is not None:
        out = out + walk.visit(block.shortcut, child_name(name, "shortcut"), x, x_id)[0]
    else:
        out = out + x
    walk.arrays += 1
    return out, walk.arrays


@COSTS.register_composite
def _walk_composite(program, walk, module, name, x, x_id):
    """A module of one's own: its traced steps, each call a layer of its own; a sum or a
    concatenation is a new array that nothing keeps (what the module's own backward keeps,
    beyond its sub-modules, is not counted)."""

    def new_array(array):
        walk.arrays += 1
        return array, walk.arrays

    def call(path, value):
        return walk.visit(program.modules[path], child_name(name, path), *value)

    return run(program.steps, program.output, (x, x_id), call,
               lambda a, b: new_array(a[0] + b[0]),
               lambda values, axis: new_array(np.concatenate([v[0] for v in values], axis)))


@dataclass(frozen=True)
class LayerSummary:
    """One row of the table; ``kept_bytes`` as defined in :mod:`mint.summarize`."""

    name: str
    kind: str
    output_shape: tuple
    parameters: int
    multiply_adds: int
    kept_bytes: int


class _Walk:
    """Runs the layers one by one, numbering the arrays that flow between them (a view gets
    its input's number) so that an array two layers keep is counted once."""

    def __init__(self):
        self.rows = []
        self.kept = set()
        self.arrays = 0

    def visit(self, layer, name, x, x_id, entry=None):
        entry = COSTS.lookup(layer, name) if entry is None else entry
        if not isinstance(entry, Cost):  # a container walks its children
            return entry(self, layer, name, x, x_id)
        out = layer(x)
        if entry.view:
            out_id = x_id
        else:
            self.arrays += 1
            out_id = self.arrays
        kept_bytes = 0
        for item in entry.keeps:
            if item in ("input", "output"):
                array_id, array = (x_id, x) if item == "input" else (out_id, out)
                if array_id not in self.kept:
                    self.kept.add(array_id)
                    kept_bytes += array.nbytes
            else:
                kept_bytes += item(x, out)
        self.rows.append(LayerSummary(
            name=name, kind=type(layer).__name__, output_shape=out.shape,
            parameters=sum(parameter.data.size for parameter in layer.parameters()),
            multiply_adds=entry.multiply_adds(layer, x.shape, out.shape), kept_bytes=kept_bytes,
        ))
        return out, out_id


@dataclass(frozen=True)
class Summary:
    """The result of :func:`summary`; ``str()`` (and ``repr()``) is the table."""

    layers: tuple
    input_shape: tuple
    dtype: np.dtype

    @property
    def total_parameters(self):
        return sum(layer.parameters for layer in self.layers)

    @property
    def total_multiply_adds(self):
        return sum(layer.multiply_adds for layer in self.layers)

    @property
    def activation_bytes(self):
        """The activation memory of one training step (see :mod:`mint.summarize`)."""
        return sum(layer.kept_bytes for layer in self.layers)

    @property
    def parameter_bytes(self):
        return self.total_parameters * self.dtype.itemsize

    def __str__(self):
        header = ("Layer (type)", "Output shape", "Parameters", "Multiply-adds",
                  "Kept for backward")
        rows = [(f"{layer.name} ({layer.kind})" if layer.name else layer.kind,
                 str(layer.output_shape), f"{layer.parameters:,}", f"{layer.multiply_adds:,}",
                 _bytes(layer.kept_bytes)) for layer in self.layers]
        total = ("Total", "", f"{self.total_parameters:,}", f"{self.total_multiply_adds:,}",
                 _bytes(self.activation_bytes))
        widths = [max(len(row[column]) for row in (header, *rows, total))
                  for column in range(len(header))]

        def line(row):
            return "  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1])]
                             + [cell.rjust(width) for cell, width in zip(row[2:], widths[2:],
                                                                         strict=True)])

        rule = "-" * len(line(header))
        batch = self.input_shape[0]
        input_bytes = math.prod(self.input_shape) * self.dtype.itemsize
        return "\n".join([
            line(header), rule, *map(line, rows), rule, line(total), "",
            f"Input {self.input_shape} {self.dtype}: {_bytes(input_bytes)}",
            f"Parameters: {self.total_parameters:,} ({_bytes(self.parameter_bytes)} in "
            f"{self.dtype})",
            f"Multiply-adds per batch of {batch}: {self.total_multiply_adds:,}",
            f"Activations kept for backward in one training step (batch of {batch}): "
            f"{_bytes(self.activation_bytes)} ({self.activation_bytes:,} bytes)",
        ])

    __repr__ = __str__


def _bytes(count):
    """``count`` bytes in decimal units: "512 B", "3.1 kB", "1.69 MB"."""
    for unit, size, digits in (("GB", 1e9, 2), ("MB", 1e6, 2), ("kB", 1e3, 1)):
        if count >= size:
            return f"{count / size:.{digits}f} {unit}"
    return f"{count} B"


def summary(model, input_shape=(1, 1, 28, 28)):
    """The :class:`Summary` of ``model`` for one batch of ``input_shape`` (batch first): per
    layer its output shape, parameters, multiply-adds and the bytes it keeps for backward,
    with totals (definitions in :mod:`mint.summarize`). Runs the model once in eval mode on
    zeros; its modules keep their modes. Raises
    :class:`~mint.registry.UnsupportedLayerError` naming a layer it cannot count."""
    check_model("summary", model)
    input_shape = check_input_shape("summary", input_shape)
    dtype = parameter_dtype("summary", model)
    walk = _Walk()
    with tracing(model):
        walk.visit(model, "", np.zeros(input_shape, dtype), 0)
    return Summary(tuple(walk.rows), input_shape, dtype)
