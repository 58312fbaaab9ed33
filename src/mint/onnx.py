"""Export a Mint model to ONNX, the exchange format ONNX Runtime (and TensorRT, OpenVINO, ...) run.

:func:`export` builds the graph with the ``onnx`` package's helpers (the optional extra
``mint-nn[onnx]``; ``import mint`` never imports onnx) and checks it with ``onnx.checker``. The
model is exported as it computes in eval mode, one ONNX operator per layer:

==============  ============================================================================
Mint layer      ONNX operator
==============  ============================================================================
``Linear``      ``Gemm(input, weight, bias, transB=1)``; on (*, in_features), ``MatMul`` and
                ``Add``
``Conv2d``      ``Conv(input, weight, bias, kernel_shape, strides, pads, dilations, group)``;
                padding "same" as pads, one more after than before when its total is odd;
                ``ConvTranspose2d``: ``ConvTranspose`` with the same attributes and
                ``output_padding``
``MaxPool2d``   ``MaxPool(kernel_shape, strides, pads, dilations, ceil_mode)``
``Flatten``     ``Flatten(axis=1)`` for ``start_dim=1``, else ``Reshape`` to
                ``(d_0, ..., d_{start_dim - 1}, -1)``
``ReLU``        ``Relu``; ``LeakyReLU``: ``LeakyRelu(alpha=negative_slope)``; ``Sigmoid``;
                ``Tanh``
``Softplus``    ``Where(Greater(beta x, threshold), x, Div(Softplus(Mul(x, beta)), beta))``
``GELU``        ``Gelu(approximate)`` from opset 20; below, ``x * 0.5 * (1 + Erf(x / sqrt 2))``
                or ``x * 0.5 * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))``
``SiLU``        ``Mul(x, Sigmoid(x))``
``Softmax``     ``Softmax(axis=dim)``; ``LogSoftmax``: ``LogSoftmax(axis=dim)`` (per-axis
                from opset 13, as PyTorch)
``Identity``    ``Identity``
``BatchNorm*``  ``BatchNormalization(input, weight, bias, running_mean, running_var, epsilon)``
                (ones and zeros without ``affine``; ``track_running_stats=False`` is refused)
``Sequential``  its layers, in order
``Residual``    its body and shortcut from the same input, then ``Add``
transformers   :mod:`mint.onnx_transformer`
your own        the traced steps of its forward (:mod:`mint.composite`): each sub-module's
                operators, ``Add`` per sum, ``Concat(axis)`` per concatenation
==============  ============================================================================

Parameters become initializers named by their ``state_dict`` key (``"0.weight"``). The graph
has one input, ``"input"``, and one output, ``"output"``; with ``dynamic_batch`` the first
dimension of both is the symbol ``"batch"``, so any batch size runs.

A new layer type adds one entry to :data:`CONVERTERS`: a function ``(graph, layer, name,
x_name, x) -> output name`` that appends the layer's nodes to ``graph`` (a :class:`Graph`);
``x`` is the layer's input on a batch of zeros, for its shape.
"""

import importlib

import numpy as np

from mint import __version__, nn, onnx_transformer
from mint import _checks as check
from mint.composite import run
from mint.files import write_atomically
from mint.functional.convolution import conv2d_padding_amounts
from mint.registry import (
    LayerRegistry,
    check_input_shape,
    check_model,
    child_name,
    eval_mode,
    parameter_dtype,
    tracing,
)

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Gemm, Flatten, Reshape, Sigmoid, Tanh as used here are all opset-13 forms
INPUT, OUTPUT, BATCH = "input", "output", "batch"
# How to install each optional package: the onnx extra exports, deploy also checks in ONNX Runtime.
INSTALL = {"onnx": "python -m pip install 'mint-nn[onnx]'",
           "onnxruntime": "python -m pip install 'mint-nn[deploy]'"}

CONVERTERS = LayerRegistry("ONNX export")
for _cls, _converter in onnx_transformer.CONVERTERS.items():
    CONVERTERS.register(_cls)(_converter)


def _import(package):
    """``onnx`` or ``onnxruntime``, or an ImportError that says how to install it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ImportError(f"mint.onnx needs the {package} package: {INSTALL[package]}") from None


class Graph:
    """The nodes and initializers of the graph being built, with unique tensor names."""

    def __init__(self, onnx, dtype, opset):
        self.onnx = onnx
        self.dtype = dtype
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self._names = {INPUT, OUTPUT}

    def convert(self, layer, name, x_name, x):
        """Append the nodes of ``layer`` (dotted name ``name``); returns its output's name."""
        return CONVERTERS.lookup(layer, name)(self, layer, name, x_name, x)

    def _unique(self, name):
        unique, suffix = name, 1
        while unique in self._names:
            suffix += 1
            unique = f"{name}_{suffix}"
        self._names.add(unique)
        return unique

    def node(self, op_type, inputs, layer_name, **attributes):
        """Append one ``op_type`` node of layer ``layer_name``; returns its output's name."""
        output = self._unique(child_name(layer_name, op_type))
        self.nodes.append(self.onnx.helper.make_node(
            op_type, inputs, [output], name=output, **attributes
        ))
        return output

    def constant(self, name, array):
        """An initializer holding ``array`` as it is; returns its name."""
        name = self._unique(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def parameter(self, layer_name, attribute, parameter):
        """The initializer of ``parameter``, named by its state_dict key, in the graph's dtype."""
        return self.constant(child_name(layer_name, attribute),
                             parameter.data.astype(self.dtype))

    def rename_output(self, name):
        """Make the tensor ``name`` the graph's output, ``"output"``."""
        producers = [node for node in self.nodes if name in node.output]
        if not producers:  # a model that computes nothing: output = input
            self.nodes.append(self.onnx.helper.make_node("Identity", [name], [OUTPUT],
                                                         name="Identity"))
            return
        outputs = producers[0].output
        outputs[list(outputs).index(name)] = OUTPUT


# ------------------------------------------------------------------------------------ export


def export(model, path, input_shape=(1, 1, 28, 28), opset=DEFAULT_OPSET, dynamic_batch=True, *,
           dtype=np.float32):
    """Write ``model`` as an ONNX file at ``path`` (atomically) and return the ``ModelProto``.

    ``input_shape`` is the shape of one input batch, batch first; with ``dynamic_batch`` the
    exported graph takes any batch size. ``opset`` is the ONNX operator set version (13 up to
    what the installed onnx knows). ``dtype`` is the graph's float type: float32 (what ONNX
    Runtime's CPU convolution runs), or float64. The model is exported as it computes in eval
    mode; its modules keep their modes. Raises :class:`~mint.registry.UnsupportedLayerError`
    naming a layer that has no ONNX mapping.
    """
    onnx = _import("onnx")
    check_model("export", model)
    input_shape = check_input_shape("export", input_shape)
    opset = _check_opset(onnx, opset)
    dynamic_batch = check.boolean("export", "dynamic_batch", dynamic_batch)
    dtype = check.float_dtype("export", dtype)

    graph = Graph(onnx, dtype, opset)
    x = np.zeros(input_shape, parameter_dtype("export", model))
    with tracing(model):
        graph.rename_output(graph.convert(model, "", INPUT, x))
        output_shape = model(x).shape
    proto = _model_proto(onnx, graph, model, input_shape, dynamic_batch)
    _check_output_shape(proto, output_shape)
    data = proto.SerializeToString()
    write_atomically(path, lambda file: file.write(data))
    return proto


def _check_opset(onnx, opset):
    latest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int | np.integer) or \
            not MIN_OPSET <= opset <= latest:
        raise ValueError(f"export: opset must be an int from {MIN_OPSET} to {latest} (the "
                         f"newest the installed onnx {onnx.__version__} knows), got {opset!r}")
    return int(opset)


def _model_proto(onnx, graph, model, input_shape, dynamic_batch):
    """The checked ModelProto: declared output shape as ONNX's shape inference gives it."""
    helper = onnx.helper
    element_type = helper.np_dtype_to_tensor_dtype(graph.dtype)
    batch = BATCH if dynamic_batch else input_shape[0]
    opsets = [helper.make_opsetid("", graph.opset)]
    proto = helper.make_model(
        helper.make_graph(
            graph.nodes, "mint",
            [helper.make_tensor_value_info(INPUT, element_type, [batch, *input_shape[1:]])],
            [helper.make_tensor_value_info(OUTPUT, element_type, None)],
            graph.initializers, doc_string=repr(model),
        ),
        opset_imports=opsets,
        # The oldest IR version that can hold this opset, so older runtimes load the file.
        ir_version=helper.find_min_ir_version_for(opsets),
        producer_name="mint",
        producer_version=__version__,
    )
    inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    proto.graph.output[0].CopyFrom(inferred.graph.output[0])
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _check_output_shape(proto, mint_shape):
    """ONNX's inferred output shape must be Mint's (a wrong converter fails here, not later);
    a symbolic dimension (one that follows the dynamic batch) matches any size."""
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    onnx_shape = tuple(dim.dim_value if dim.HasField("dim_value") else dim.dim_param
                       for dim in dims)
    if len(onnx_shape) != len(mint_shape) or any(
        isinstance(onnx_size, int) and onnx_size != size
        for onnx_size, size in zip(onnx_shape, mint_shape, strict=True)
    ):
        raise RuntimeError(f"export: the ONNX graph's output shape {onnx_shape} is not Mint's "
                           f"{mint_shape}; please report this as a bug of mint.onnx")


def signature(proto):
    """``"input [batch, 1, 28, 28] float32 -> output [batch, 10] float32"`` for a ModelProto."""
    onnx = _import("onnx")

    def describe(value):
        tensor = value.type.tensor_type
        dims = ", ".join(dim.dim_param or str(dim.dim_value) for dim in tensor.shape.dim)
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        return f"{value.name} [{dims}] {dtype}"

    return " -> ".join(describe(value) for value in (*proto.graph.input, *proto.graph.output))


# ------------------------------------------------------------------------ checking a file


def onnxruntime_difference(model, path, input_shape, seed=0):
    """Run the ONNX file ``path`` in ONNX Runtime and ``model`` in Mint (eval mode, the default
    strategy) on one batch of standard normal inputs of ``input_shape``; returns the largest
    ``|onnxruntime - mint|`` divided by the largest ``|mint|`` (0 when they agree exactly)."""
    onnxruntime = _import("onnxruntime")
    check_model("onnxruntime_difference", model)
    input_shape = check_input_shape("onnxruntime_difference", input_shape)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    element_type = session.get_inputs()[0].type  # "tensor(float)" or "tensor(double)"
    dtype = np.float64 if element_type == "tensor(double)" else np.float32
    x = np.random.default_rng(seed).standard_normal(input_shape).astype(dtype)
    (runtime_output,) = session.run([OUTPUT], {INPUT: x})
    with eval_mode(model):
        mint_output = model(x.astype(parameter_dtype("onnxruntime_difference", model)))
    scale = float(np.abs(mint_output).max()) or 1.0
    return float(np.abs(runtime_output - mint_output).max()) / scale


# ----------------------------------------------------------------------------- converters


@CONVERTERS.register(nn.Sequential)
def _sequential(graph, sequential, name, x_name, x):
    for index, layer in sequential.named_children():
        layer_name = child_name(name, index)
        x_name = graph.convert(layer, layer_name, x_name, x)
        x = layer(x)
    return x_name


@CONVERTERS.register(nn.Residual)
def _residual(graph, block, name, x_name, x):
    body = graph.convert(block.body, child_name(name, "body"), x_name, x)
    shortcut = x_name if block.shortcut is None else graph.convert(
        block.shortcut, child_name(name, "shortcut"), x_name, x)
    return graph.node("Add", [body, shortcut], name)


@CONVERTERS.register_composite
def _composite(program, graph, module, name, x_name, x):
    """A module of one's own: its traced steps, on (tensor name, array) pairs."""

    def call(path, value):
        layer = program.modules[path]
        return graph.convert(layer, child_name(name, path), *value), layer(value[1])

    def add(a, b):
        return graph.node("Add", [a[0], b[0]], name), a[1] + b[1]

    def concat(values, axis):
        return (graph.node("Concat", [value[0] for value in values], name, axis=axis),
                np.concatenate([value[1] for value in values], axis=axis))

    return run(program.steps, program.output, (x_name, x), call, add, concat)[0]


@CONVERTERS.register(nn.Linear)
def _linear(graph, layer, name, x_name, x):
    if x.ndim != 2:  # (*, in_features): MatMul by the transposed weight, then Add the bias
        weight = graph.constant(child_name(name, "weight"), layer.weight.data.T.astype(graph.dtype))
        out = graph.node("MatMul", [x_name, weight], name)
        return out if layer.bias is None else graph.node(
            "Add", [out, graph.parameter(name, "bias", layer.bias)], name)
    inputs = [x_name, graph.parameter(name, "weight", layer.weight)]
    if layer.bias is not None:
        inputs.append(graph.parameter(name, "bias", layer.bias))
    return graph.node("Gemm", inputs, name, transB=1)


def _weight_and_bias(graph, layer, name, x_name):
    inputs = [x_name, graph.parameter(name, "weight", layer.weight)]
    if layer.bias is not None:
        inputs.append(graph.parameter(name, "bias", layer.bias))
    return inputs


@CONVERTERS.register(nn.Conv2d)
def _conv2d(graph, layer, name, x_name, x):
    # ONNX's pads are (top, left, bottom, right): "same" may pad one more after than before.
    before, extra = conv2d_padding_amounts(layer.padding, layer.kernel_size, layer.dilation)
    after = [b + e for b, e in zip(before, extra, strict=True)]
    return graph.node("Conv", _weight_and_bias(graph, layer, name, x_name), name,
                      kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                      pads=[*before, *after], dilations=list(layer.dilation), group=layer.groups)


@CONVERTERS.register(nn.ConvTranspose2d)
def _conv_transpose2d(graph, layer, name, x_name, x):
    # ONNX's weight layout (C_in, C_out / group, KH, KW) and output size are PyTorch's.
    return graph.node("ConvTranspose", _weight_and_bias(graph, layer, name, x_name), name,
                      kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                      pads=[*layer.padding, *layer.padding], dilations=list(layer.dilation),
                      output_padding=list(layer.output_padding), group=layer.groups)


def _ceil_mode(graph, layer, name, x, dilation):
    """ONNX's ceil_mode attribute (0 or 1) for a pooling layer on input ``x``.

    ONNX sizes the output with floor (ceil_mode=0) or ceil (ceil_mode=1) of the same quotient
    as Mint, but says only from opset 22 that, as in Mint and PyTorch, a ceil_mode window that
    would start in the right padding is dropped (ONNX Runtime drops it at every opset, ONNX's
    shape inference below 22 does not). In that case Mint's size is the floor size, so
    ceil_mode is set only where some dimension needs more than floor, and then no dimension
    may rely on the dropping rule below opset 22.
    """
    out_size = layer(x).shape[2:]
    spans = [size + 2 * pad - d * (kernel - 1) - 1 for size, pad, d, kernel in
             zip(x.shape[2:], layer.padding, dilation, layer.kernel_size, strict=True)]
    floor_size = tuple(span // stride + 1 for span, stride in zip(spans, layer.stride,
                                                                    strict=True))
    ceil_size = tuple(-(-span // stride) + 1 for span, stride in zip(spans, layer.stride,
                                                                      strict=True))
    ceil_mode = out_size != floor_size
    if ceil_mode and out_size != ceil_size and graph.opset < 22:
        where = f" {name!r}" if name else ""
        raise ValueError(
            f"ONNX export: {type(layer).__name__}{where} (ceil_mode) on input {x.shape} needs "
            f"one dimension rounded up and drops a window starting in the right padding in "
            f"another, which ONNX specifies only from opset 22: export with opset=22"
        )
    return int(ceil_mode)


@CONVERTERS.register(nn.MaxPool2d)
def _max_pool2d(graph, layer, name, x_name, x):
    return graph.node("MaxPool", [x_name], name, kernel_shape=list(layer.kernel_size),
                      strides=list(layer.stride), pads=[*layer.padding, *layer.padding],
                      dilations=list(layer.dilation),
                      ceil_mode=_ceil_mode(graph, layer, name, x, layer.dilation))


@CONVERTERS.register(nn.AvgPool2d)
def _avg_pool2d(graph, layer, name, x_name, x):
    if layer.divisor_override is not None:
        where = f" {name!r}" if name else ""
        raise ValueError(f"ONNX export: AvgPool2d{where} has divisor_override="
                         f"{layer.divisor_override}, which ONNX's AveragePool does not have")
    return graph.node("AveragePool", [x_name], name, kernel_shape=list(layer.kernel_size),
                      strides=list(layer.stride), pads=[*layer.padding, *layer.padding],
                      count_include_pad=int(layer.count_include_pad),
                      ceil_mode=_ceil_mode(graph, layer, name, x, (1, 1)))


@CONVERTERS.register(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool2d(graph, layer, name, x_name, x):
    out_size = layer(x).shape[2:]
    if out_size == (1, 1):
        return graph.node("GlobalAveragePool", [x_name], name)
    # Bins of equal length, side by side, only when the output divides the input.
    if any(size % out for size, out in zip(x.shape[2:], out_size, strict=True)):
        where = f" {name!r}" if name else ""
        raise ValueError(
            f"ONNX export: AdaptiveAvgPool2d{where} maps input {x.shape[2:]} to {out_size}, "
            "bins of unequal length that no ONNX pooling operator computes; an output that "
            "divides the input (or 1, global pooling) exports"
        )
    kernel = [size // out for size, out in zip(x.shape[2:], out_size, strict=True)]
    return graph.node("AveragePool", [x_name], name, kernel_shape=kernel, strides=kernel)


@CONVERTERS.register(nn.Dropout, nn.Dropout2d)
def _dropout(graph, layer, name, x_name, x):
    # An exported model runs inference, where dropout is the identity.
    return graph.node("Identity", [x_name], name)


@CONVERTERS.register(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm(graph, layer, name, x_name, x):
    if layer.running_mean is None:
        where = f" {name!r}" if name else ""
        raise ValueError(
            f"ONNX export: {type(layer).__name__}{where} has no running statistics "
            "(track_running_stats=False), so even in eval mode it normalises each batch with its "
            "own; ONNX's BatchNormalization takes the running statistics of eval mode"
        )
    # Without affine parameters, the scale and shift that change nothing.
    ones, zeros = np.ones(layer.num_features, graph.dtype), np.zeros(layer.num_features,
                                                                   graph.dtype)
    scale = (graph.constant(child_name(name, "scale"), ones) if layer.weight is None
             else graph.parameter(name, "weight", layer.weight))
    shift = (graph.constant(child_name(name, "shift"), zeros) if layer.bias is None
             else graph.parameter(name, "bias", layer.bias))
    statistics = [graph.parameter(name, key, getattr(layer, key))
                  for key in ("running_mean", "running_var")]
    # epsilon is a float32 attribute: an eps that float32 rounds (0.1) moves float64 results
    # by about 1e-9 relative.
    return graph.node("BatchNormalization", [x_name, scale, shift, *statistics], name,
                      epsilon=layer.eps)


@CONVERTERS.register(nn.Flatten)
def _flatten(graph, layer, name, x_name, x):
    if layer.start_dim == 1:
        return graph.node("Flatten", [x_name], name, axis=1)
    # ONNX's Flatten always gives two dimensions; Reshape's 0 copies the input's dimension.
    shape = graph.constant(child_name(name, "shape"),
                           np.array([0] * layer.start_dim + [-1], dtype=np.int64))
    return graph.node("Reshape", [x_name, shape], name)


@CONVERTERS.register(nn.LeakyReLU)
def _leaky_relu(graph, layer, name, x_name, x):
    return graph.node("LeakyRelu", [x_name], name, alpha=layer.negative_slope)


@CONVERTERS.register(nn.Softplus)
def _softplus(graph, layer, name, x_name, x):
    # ONNX's Softplus has neither beta nor PyTorch's linear region past the threshold.
    beta, threshold = (graph.constant(child_name(name, key),
                                      np.array(layer.arguments[key], graph.dtype))
                       for key in ("beta", "threshold"))
    scaled = graph.node("Mul", [x_name, beta], name)
    smooth = graph.node("Div", [graph.node("Softplus", [scaled], name), beta], name)
    linear = graph.node("Greater", [scaled, threshold], name)
    return graph.node("Where", [linear, x_name, smooth], name)


def _elementwise(op_type):
    def convert(graph, layer, name, x_name, x):
        return graph.node(op_type, [x_name], name)

    return convert


for _layer, _op_type in ((nn.ReLU, "Relu"), (nn.Sigmoid, "Sigmoid"), (nn.Tanh, "Tanh"),
                         (nn.Identity, "Identity")):
    CONVERTERS.register(_layer)(_elementwise(_op_type))


@CONVERTERS.register(nn.Softmax, nn.LogSoftmax)
def _softmax(graph, layer, name, x_name, x):
    return graph.node(type(layer).__name__, [x_name], name, axis=layer.dim)


@CONVERTERS.register(nn.GELU)
def _gelu(graph, layer, name, x_name, x):
    if graph.opset >= 20:
        return graph.node("Gelu", [x_name], name, approximate=layer.approximate)

    def constant(key, value):
        return graph.constant(child_name(name, key), np.array(value, graph.dtype))

    if layer.approximate == "tanh":
        cube = graph.node("Mul", [graph.node("Mul", [x_name, x_name], name), x_name], name)
        inner = graph.node("Add", [x_name, graph.node("Mul", [cube, constant("cubic", 0.044715)],
                                                      name)], name)
        scaled = graph.node("Mul", [inner, constant("scale", np.sqrt(2 / np.pi))], name)
        curve = graph.node("Tanh", [scaled], name)
    else:
        curve = graph.node("Erf", [graph.node("Mul", [x_name, constant("scale", np.sqrt(0.5))],
                                              name)], name)
    cdf = graph.node("Mul", [graph.node("Add", [curve, constant("one", 1.0)], name),
                             constant("half", 0.5)], name)
    return graph.node("Mul", [x_name, cdf], name)


@CONVERTERS.register(nn.SiLU)
def _silu(graph, layer, name, x_name, x):
    return graph.node("Mul", [x_name, graph.node("Sigmoid", [x_name], name)], name)
