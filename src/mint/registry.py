"""Per-layer-class tables, and running a model layer by layer to learn its shapes.

ONNX export (:mod:`mint.onnx`), the PyTorch conversions (:mod:`mint.interop`) and the summary
(:mod:`mint.summarize`) each keep one :class:`LayerRegistry`: ``{layer class: entry}``. A new
layer type adds one entry to each. A module with no entry (a user's own
:class:`~mint.nn.Module`) is traced (:mod:`mint.composite`) when the registry has a
``composite`` entry; a module that has no entry and cannot be traced raises
:class:`UnsupportedLayerError` naming it, never a wrong result.
"""

import contextlib
import functools

import numpy as np

from mint import _checks as check
from mint.composite import TraceError, trace
from mint.nn import Module
from mint.strategy import use_strategy


class UnsupportedLayerError(TypeError):
    """A layer that a per-layer table has no entry for (often a user's own Module)."""


class LayerRegistry(dict):
    """``{layer class: entry}`` for one task (``purpose``, e.g. "ONNX export").

    Lookup is by the exact class: a subclass may compute something else than its parent, so it
    needs an entry of its own. The :meth:`register_composite` entry serves a module of any
    other class whose forward :func:`~mint.composite.trace` records.
    """

    def __init__(self, purpose):
        super().__init__()
        self.purpose = purpose
        self.composite = None

    def register(self, *classes):
        """Decorator: make the function the entry of each of ``classes``."""

        def decorate(entry):
            for cls in classes:
                self[cls] = entry
            return entry

        return decorate

    def register_composite(self, entry):
        """Decorator: make ``entry(program, *arguments of an entry)`` the entry of a traced
        module, called with its :class:`~mint.composite.Program` first."""
        self.composite = entry
        return entry

    def lookup(self, layer, name=""):
        """The entry for ``layer`` (found at dotted position ``name`` in its model)."""
        entry = self.get(type(layer))
        if entry is not None:
            return entry
        untraceable = ""
        if self.composite is not None and isinstance(layer, Module):
            try:
                return functools.partial(self.composite, trace(layer))
            except TraceError as error:
                untraceable = (f"; and a module whose forward only calls its sub-modules, adds "
                               f"and concatenates their outputs, which this one does not: {error}")
        where = f"layer {name!r} " if name else "layer "
        supported = ", ".join(sorted(cls.__name__ for cls in self))
        raise UnsupportedLayerError(
            f"{self.purpose}: {where}of type {type(layer).__name__} is not supported "
            f"(supported: {supported}{untraceable})"
        )


def child_name(parent, child):
    """The dotted name of sub-module ``child`` of the module named ``parent`` ("" for a root)."""
    return f"{parent}.{child}" if parent else str(child)


@contextlib.contextmanager
def eval_mode(model):
    """Put every module of ``model`` in eval mode inside the block, then give each its mode back.

    Switching modes drops the activations a pending backward would need, as
    :meth:`~mint.nn.Module.eval` does.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


@contextlib.contextmanager
def tracing(model):
    """:func:`eval_mode`, with the ``vectorized`` strategy as default (NumPy: nothing to
    compile): for learning a model's shapes by running it on a batch of zeros."""
    with eval_mode(model), use_strategy("vectorized"):
        yield


def check_model(op, model):
    if not isinstance(model, Module):
        raise TypeError(f"{op}: model must be a mint.nn.Module, got {type(model).__name__}")
    return model


def check_input_shape(op, input_shape):
    """``input_shape`` as a tuple of ints >= 1, batch first: (N, C, H, W) or (N, features)."""
    return check.positive_ints(op, "input_shape", input_shape, lambda n: n >= 2,
                               "a tuple of positive ints, batch first (as (1, 1, 28, 28))")


def parameter_dtype(op, model):
    """The one dtype of ``model``'s parameters and float buffers (float32 when it has none):
    a batch norm without affine parameters still computes in its running statistics' dtype."""
    dtypes = {parameter.dtype for parameter in model.parameters()} | {
        buffer.dtype for buffer in model.buffers() if buffer.dtype.kind == "f"}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: the model mixes parameter dtypes {sorted(map(str, dtypes))}; "
                        f"convert it with model.to(dtype) first")
    return dtypes.pop() if dtypes else np.dtype(np.float32)
