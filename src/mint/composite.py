"""Your own modules in export, summary and PyTorch: a module's forward traced into a program.

A module of your own (a :class:`~mint.nn.Module` subclass that no per-layer table knows, such as
the README's ``DenseBlock`` or a torchvision-style ``BasicBlock``) is exported to ONNX,
summarised and converted to PyTorch when its ``forward`` only

- calls its sub-modules (attributes, at any depth: ``self.downsample[0]`` works) on its input
  or on what earlier calls returned,
- adds two such values (``a + b``, ``out += identity``, ``np.add(a, b)``), and
- concatenates them (``np.concatenate([a, b], axis=1)``).

:func:`trace` runs that ``forward`` once on a stand-in for its input (a :class:`Value`, which
holds no numbers): every sub-module call returns a new stand-in instead of computing, and the
calls, sums and concatenations are recorded as a :class:`Program`. ONNX export, the summary
and ``to_torch`` then run that program with their own arrays, tensors or graph names
(:func:`run`). The forward must compute the same in train and eval mode; its ``backward`` is
still yours (export, summary and conversion never call it). A forward that does anything else
with its values (multiplies by a number, reshapes, calls :mod:`mint.functional`) cannot be
traced, and the module is refused by name with what went wrong.
"""

import threading
from typing import NamedTuple

import numpy as np


class TraceError(TypeError):
    """A module's forward did something that a :class:`Program` cannot record."""


class Step(NamedTuple):
    """One operation of a :class:`Program`. ``kind`` is ``"call"`` (the sub-module at dotted
    path ``name`` on value ``inputs[0]``), ``"add"`` (``inputs[0] + inputs[1]``) or
    ``"concat"`` (the ``inputs`` joined along ``axis``). Value 0 is the module's input; step
    ``i`` makes value ``i + 1``."""

    kind: str
    inputs: tuple
    name: str = ""
    axis: int = 0


class Program(NamedTuple):
    """The traced forward of a module: its :class:`Step` s, which value it returns, and the
    sub-modules the calls name (``{dotted path: module}``)."""

    steps: tuple
    output: int
    modules: dict


def run(steps, output, x, call, add, concat):
    """Run ``steps`` on input ``x`` with ``call(name, value)``, ``add(a, b)`` and
    ``concat(values, axis)``; returns value number ``output``. Values are whatever these
    functions make: arrays, tensors, ONNX names."""
    values = [x]
    for step in steps:
        inputs = [values[index] for index in step.inputs]
        if step.kind == "call":
            values.append(call(step.name, inputs[0]))
        elif step.kind == "add":
            values.append(add(*inputs))
        else:
            values.append(concat(inputs, step.axis))
    return values[output]


class Value:
    """What a traced forward holds in place of an array: value number ``index`` of the
    program being recorded. It has no numbers; ``shape`` is ``None`` (so that
    ``self.save_for_backward(out.shape)``, which keeps nothing in eval mode, still runs)."""

    shape = None

    def __init__(self, recorder, index):
        self._recorder = recorder
        self.index = index

    def __add__(self, other):
        return self._recorder.record("add", (self, other))

    def __radd__(self, other):
        return self._recorder.record("add", (other, self))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.add and method == "__call__" and not kwargs:
            return self._recorder.record("add", inputs)
        raise TraceError(f"it calls numpy.{ufunc.__name__}")

    def __array_function__(self, function, types, args, kwargs):
        if function is np.concatenate:
            arguments = dict(zip(("arrays", "axis"), args, strict=False)) | kwargs
            if set(arguments) - {"arrays", "axis"}:
                raise TraceError("it calls numpy.concatenate with arguments other than the "
                                 "arrays and axis")
            axis = arguments.get("axis", 0)
            if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
                raise TraceError(f"it concatenates along axis {axis!r}, not an int")
            return self._recorder.record("concat", tuple(arguments["arrays"]), axis=int(axis))
        raise TraceError(f"it calls numpy.{function.__name__}")


class _Recorder:
    """Collects the steps of one trace; :meth:`call` stands in for ``Module.__call__``."""

    def __init__(self, module):
        self.steps = []
        self.called = {}  # dotted path -> sub-module, of those forward called
        self.paths = {}  # id(sub-module) -> its dotted path below the traced module
        for path, sub in module.named_modules():  # each instance once, by its first path
            if sub is not module:
                self.paths[id(sub)] = path

    def record(self, kind, operands, name="", axis=0):
        operands = tuple(operands)
        if not operands or not all(isinstance(value, Value) and value._recorder is self
                                   for value in operands):
            what = {"add": "adds", "concat": "concatenates"}.get(kind, "calls a sub-module on")
            raise TraceError(f"it {what} something that is neither its input nor a "
                             f"sub-module's output (a constant, or an array it computed)")
        self.steps.append(Step(kind, tuple(value.index for value in operands), name, axis))
        return Value(self, len(self.steps))

    def call(self, module, args):
        if id(module) not in self.paths:
            raise TraceError(f"it calls a {type(module).__name__} that is not one of its "
                             f"sub-modules")
        path = self.paths[id(module)]
        if len(args) != 1:
            raise TraceError(f"it calls its sub-module {path!r} with {len(args)} arguments "
                             f"(one is supported)")
        self.called[path] = module
        return self.record("call", args, name=path)


# The recorder of the trace running in this thread (Module.__call__ hands calls to it).
_active = threading.local()


def active_recorder():
    """The :class:`_Recorder` of the trace running in this thread, or ``None``."""
    return getattr(_active, "recorder", None)


def trace(module):
    """The :class:`Program` of ``module.forward``, run as in eval mode (the module's mode is
    given back; no sub-module runs); raises :class:`TraceError` saying what it did that cannot
    be recorded."""
    recorder = _Recorder(module)
    _active.recorder = recorder
    training = module.training
    module.training = False  # as in eval mode: save_for_backward keeps nothing
    try:
        result = module.forward(Value(recorder, 0))
    except TraceError:
        raise
    except Exception as error:  # any failure means: this forward cannot be traced
        raise TraceError(f"its forward failed on a traced value ({type(error).__name__}: "
                         f"{error})") from None
    finally:
        _active.recorder = None
        module.training = training
    if not isinstance(result, Value) or result._recorder is not recorder:
        raise TraceError(f"its forward returns a {type(result).__name__}, not a value "
                         f"computed from its input")
    return Program(tuple(recorder.steps), result.index, recorder.called)
