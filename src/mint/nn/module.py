"""The base class of every layer, :class:`Module` (the containers that hold modules are in
:mod:`mint.nn.containers`).

A module's parameters, buffers and sub-modules are plain attributes, found by walking
``vars(self)`` in definition order (micrograd's ``parameters()``); their dotted names
("fc.weight", "0.bias", "bn.running_mean") are the ones PyTorch gives the same architecture, so
state dicts copy across.

Back-propagation is explicit: ``forward`` keeps what ``backward`` needs through
:meth:`Module.save_for_backward` (nothing in eval mode), and ``backward(grad_out)`` adds into
the parameters' ``grad`` and returns dL/d(input). A training step calls
``backward_parameters(grad_out)`` instead, which skips the gradient of the network's input (the
data), as PyTorch does for inputs that do not require grad.

A module instance is one call site. Its activations for backward are those of its last call,
so an instance called twice in one forward pass in train mode (as torchvision calls one
``self.relu`` twice) would give a wrong gradient; Mint refuses it with a ``RuntimeError`` at the
second call, and ``Sequential`` refuses a module listed twice when it is built. Give each call
site its own instance; two layers can still share weights by holding the same ``Parameter``.
"""

import threading
from typing import NamedTuple

import numpy as np

from mint import _checks as check
from mint.composite import active_recorder
from mint.nn.parameter import Buffer, Parameter

# Which forward pass is running in this thread: a call of a module from outside any other
# module's forward starts a new one. A module remembers the pass of its last call.
_forward_pass = threading.local()


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` returns: the keys it did not find in the state
    dict, and those of the state dict it did not use (both empty when ``strict``)."""

    missing_keys: list
    unexpected_keys: list


def repr_arguments(*parts, strategy=None):
    """The non-empty ``parts`` joined by commas, then ``strategy=...`` if one was chosen."""
    if strategy is not None:
        parts = (*parts, f"strategy={strategy!r}")
    return ", ".join(part for part in parts if part)


class Module:
    """Subclasses set parameters and sub-modules as attributes, and define forward/backward."""

    training = True
    # In eval mode, does each sample's output depend on that sample alone, with the batch on
    # axis 0 in and out? Then a Sequential may split a large batch (Sequential.forward). False
    # unless a layer says so: a module of one's own may mix samples.
    independent_samples = False
    _saved = None  # what backward needs, from the last forward in train mode
    _output_shape = None  # shape of that forward's output, which grad_out must have
    _backward_done = False  # whether a backward has used _saved (a second would add again)
    _pass = None  # the forward pass of the last call (see _forward_pass)

    def __call__(self, *args, **kwargs):
        recorder = active_recorder()
        if recorder is not None:  # mint.composite.trace records the call instead
            return recorder.call(self, args + tuple(kwargs.values()))
        depth = getattr(_forward_pass, "depth", 0)
        if depth == 0:
            _forward_pass.number = getattr(_forward_pass, "number", 0) + 1
        if self.training and self._pass == _forward_pass.number:
            raise RuntimeError(
                f"{type(self).__name__} was called twice in one forward pass: it keeps the "
                "activations of one call only, so its backward would be wrong. Give each call "
                "its own instance (layers may share a Parameter to share weights)"
            )
        self._pass = _forward_pass.number
        self._saved = None  # a forward that raises must not leave stale activations behind
        _forward_pass.depth = depth + 1
        try:
            return self.forward(*args, **kwargs)
        finally:
            _forward_pass.depth = depth

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def backward_parameters(self, grad_out):
        """Add dL/d(parameter) into each ``Parameter.grad`` as :meth:`backward` does, without
        dL/d(input), and return nothing.

        For a module whose input needs no gradient: a network's first layer, which sees the
        data (PyTorch skips that gradient too: data does not require grad). Layers whose input
        gradient costs work (Conv2d, Linear) override this to skip it; a module without
        parameters has nothing to do.
        """
        if next(self.parameters(), None) is not None:
            self.backward(grad_out)

    # ------------------------------------------------------------------ activations for backward

    def save_for_backward(self, output_shape, *values):
        """Keep ``values`` for :meth:`backward`; in eval mode keep nothing."""
        if self.training:
            self._saved = values
            self._output_shape = tuple(output_shape)
            self._backward_done = False

    def saved_for_backward(self, grad_out=None):
        """The values of the last forward, once ``grad_out`` is checked against its output;
        once per forward: a second backward would add the gradients into ``grad`` again."""
        name = type(self).__name__
        if not self.training:
            raise RuntimeError(
                f"{name}.backward: the module is in eval mode, which keeps no activations; "
                "call .train() and run forward again before backward"
            )
        if self._saved is None:
            raise RuntimeError(f"{name}.backward called before forward: run forward first")
        if grad_out is not None:
            if not isinstance(grad_out, np.ndarray):
                raise TypeError(
                    f"{name}.backward: grad_out must be a numpy.ndarray, got "
                    f"{type(grad_out).__name__}"
                )
            if grad_out.shape != self._output_shape:
                raise ValueError(
                    f"{name}.backward: grad_out has shape {grad_out.shape}, but the last "
                    f"forward output has shape {self._output_shape}"
                )
        if self._backward_done:
            raise RuntimeError(
                f"{name}.backward called twice after one forward: it would add the same "
                "gradients into .grad again. Run forward before each backward"
            )
        self._backward_done = True
        return self._saved

    # ----------------------------------------------------------------------- walking the tree

    def named_children(self):
        """``(name, module)`` for each direct sub-module, in definition order. A plain list,
        tuple or dict attribute holding modules or parameters is refused (TypeError): their
        parameters would go untrained (unless each is an attribute too); hold modules in a
        ModuleList or ModuleDict."""
        attributes = vars(self)
        registered = {id(value) for value in attributes.values()
                      if isinstance(value, Module | Parameter)}
        for name, value in attributes.items():
            if isinstance(value, Module):
                yield name, value
            elif _holds_unregistered(value, registered):
                raise TypeError(
                    f"{type(self).__name__}.{name} is a {type(value).__name__} of modules or "
                    "parameters, which Module does not look into (they would not be trained "
                    "or saved): hold modules in nn.ModuleList or nn.ModuleDict, and parameters "
                    "each in an attribute"
                )

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix=""):
        """``(dotted name, module)`` for this module (named ``prefix``) and every module below
        it, depth first, each instance once (as PyTorch): ``("", model), ("0", ...), ...``."""
        return self._named_modules(prefix, set())

    def _named_modules(self, prefix, seen):
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child._named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self):
        """This module and every module below it, depth first, each instance once."""
        for _, module in self.named_modules():
            yield module

    def apply(self, fn):
        """Call ``fn(module)`` on every module below this one, then on this one (PyTorch's
        order: children before their parent), each instance once; returns ``self``.

        ``model.apply(init)`` is how a custom initialisation reaches every layer.
        """
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}.apply: fn must be callable, got "
                            f"{type(fn).__name__}")
        seen = set()

        def visit(module):
            seen.add(id(module))
            for child in module.children():
                if id(child) not in seen:
                    visit(child)
            fn(module)

        visit(self)
        return self

    def _named_arrays(self, kind, prefix=""):
        """``(dotted name, array holder)`` of every ``kind`` (Parameter or Buffer) here and
        below, in definition order, each shared holder once."""
        seen = set()
        for name, holder in self._walk(kind, prefix):
            if id(holder) not in seen:
                seen.add(id(holder))
                yield name, holder

    def _walk(self, kind, prefix):
        for name, value in vars(self).items():
            if isinstance(value, kind):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._walk(kind, f"{prefix}{name}.")

    def named_parameters(self, prefix=""):
        """``(dotted name, Parameter)`` in definition order, each shared parameter once."""
        return self._named_arrays(Parameter, prefix)

    def parameters(self):
        for _, parameter in self.named_parameters():
            yield parameter

    def named_buffers(self, prefix=""):
        """``(dotted name, Buffer)`` in definition order, each shared buffer once."""
        return self._named_arrays(Buffer, prefix)

    def buffers(self):
        for _, buffer in self.named_buffers():
            yield buffer

    # ------------------------------------------------------------------------ state and modes

    def zero_grad(self):
        for parameter in self.parameters():
            parameter.zero_grad()

    def train(self, mode=True):
        """Set train mode (or eval mode, ``mode=False``) here and below; returns ``self``.

        Eval mode keeps no activations, and drops those kept so far.
        """
        mode = check.boolean(type(self).__name__ + ".train", "mode", mode)
        for module in self.modules():
            module.training = mode
            if not mode:
                module._saved = None
        return self

    def eval(self):
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter (and its grad) and every float buffer to float32 or float64
        (integer buffers, such as counters, stay as they are); returns ``self``."""
        dtype = check.float_dtype(type(self).__name__ + ".to", dtype)
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = parameter.grad.astype(dtype)
        for buffer in self.buffers():
            if buffer.dtype.kind == "f":
                buffer.data = buffer.data.astype(dtype)
        for module in self.modules():
            module._saved = None  # activations of the old dtype would not match
        return self

    def _named_state(self):
        """Every parameter and buffer by its dotted name, as :meth:`state_dict` keys them."""
        return {**dict(self.named_parameters()), **dict(self.named_buffers())}

    def state_dict(self):
        """``{dotted name: copy of the parameter's or buffer's data}``, keyed as PyTorch keys
        it (parameters, then buffers such as ``bn.running_mean``)."""
        return {name: holder.data.copy() for name, holder in self._named_state().items()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy every array of ``state_dict`` into the matching parameter or buffer, keeping
        its dtype; returns ``IncompatibleKeys(missing_keys, unexpected_keys)``, as PyTorch.

        With ``strict`` the keys must be exactly those of :meth:`state_dict`; with
        ``strict=False`` only the keys both have are copied, and the others are returned. The
        shapes of the copied arrays must match; the values may be any arrays NumPy can read (a
        PyTorch state dict works). Nothing is copied unless everything matches.
        """
        name = type(self).__name__
        strict = check.boolean(name + ".load_state_dict", "strict", strict)
        parameters = self._named_state()
        missing = [key for key in parameters if key not in state_dict]
        unexpected = [key for key in state_dict if key not in parameters]
        if strict and (missing or unexpected):
            raise ValueError(
                f"{name}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        parameters = {key: value for key, value in parameters.items() if key in state_dict}
        values = {}
        for key, parameter in parameters.items():
            value = np.asarray(state_dict[key])
            if value.dtype.kind not in "biuf":
                raise TypeError(
                    f"{name}.load_state_dict: {key!r} must hold real numbers, got {value.dtype}"
                )
            if value.shape != parameter.shape:
                raise ValueError(
                    f"{name}.load_state_dict: {key!r} has shape {value.shape}, but the "
                    f"{type(parameter).__name__.lower()} has shape {parameter.shape}"
                )
            values[key] = value
        for key, parameter in parameters.items():
            np.copyto(parameter.data, values[key], casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------------------------ repr

    def extra_repr(self):
        """The arguments shown inside ``Name(...)``."""
        return ""

    def __repr__(self):
        """``Name(arguments)``, or PyTorch's nested form: the arguments, then ``(name): child``
        per sub-module, one per line, indented by two spaces per level."""
        extra = self.extra_repr()
        children = list(self.named_children())
        if not children and "\n" not in extra:
            return f"{type(self).__name__}({extra})"
        lines = extra.split("\n") if extra else []
        lines += [f"({name}): {child!r}" for name, child in children]
        body = "\n".join("  " + line.replace("\n", "\n  ") for line in lines)
        return f"{type(self).__name__}(\n{body}\n)"


def _holds_unregistered(value, registered):
    """Whether ``value`` is a list, tuple or dict with a Module or Parameter among its items
    whose id is not in ``registered``."""
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return False
    return any(isinstance(item, Module | Parameter) and id(item) not in registered
               for item in value)
