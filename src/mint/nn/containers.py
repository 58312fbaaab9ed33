"""The containers: ``Sequential`` (modules run in order), ``Residual`` (a body plus a
shortcut), and ``ModuleList`` and ``ModuleDict``, which register modules for the module that
holds them. Each refuses a module instance it would hold twice: an instance is one call site."""

import numpy as np

from mint.nn.module import Module
from mint.nn.planner import execution_order, inference_steps


def _one_call_site_each(owner, labelled_modules):
    """Refuse an argument that is not a Module, and a module instance found under two labels
    (``labelled_modules``: ``(label, module)`` pairs, such as ``("argument 0", conv)``)."""
    seen = {}
    for label, module in labelled_modules:
        if not isinstance(module, Module):
            raise TypeError(f"{owner}: {label} must be a Module, got {type(module).__name__}")
        for part in module.modules():
            if id(part) in seen:
                raise ValueError(
                    f"{owner}: {label} holds the {type(part).__name__} instance of "
                    f"{seen[id(part)]} again; a module instance is one call site (it keeps one "
                    "call's activations): create one per use"
                )
            seen[id(part)] = label


# Samples per chunk of an eval-mode Sequential forward (Sequential.forward): lenet's largest
# activation for 64 images is 6.4 MB, which stays in the last-level cache.
EVAL_CHUNK = 64


class Sequential(Module):
    """Modules run in order; ``backward`` runs them in reverse. Indexable, sliceable, iterable.

    ``Sequential(conv, relu, ...)`` names its modules "0", "1", ...; ``Sequential({"conv": conv,
    "relu": relu})`` (a dict, in its order, as PyTorch's ``OrderedDict`` form) names them by the
    keys, which become attributes (``model.conv``) and state-dict prefixes (``conv.weight``).
    An integer index counts positions; a slice is a ``Sequential`` of the same instances under
    their original names, so ``model[2:].state_dict()`` has the keys ``"2.weight", ...``, as in
    PyTorch. Forward and backward run the modules in :attr:`execution_order`.
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], dict):
            named = list(modules[0].items())
            for key, _ in named:
                if not isinstance(key, str) or not key or "." in key or hasattr(Sequential, key) \
                        or key in ("layers", "names"):
                    raise ValueError(
                        f"Sequential: module names must be non-empty strings without '.' that "
                        f"are not attributes of Sequential, got {key!r}"
                    )
            labelled = [(f"module {key!r}", module) for key, module in named]
        else:
            named = [(str(index), module) for index, module in enumerate(modules)]
            labelled = [(f"argument {index}", module) for index, module in enumerate(modules)]
        _one_call_site_each("Sequential", labelled)
        self.names = tuple(name for name, _ in named)
        self.layers = tuple(module for _, module in named)

    def __getattr__(self, name):
        # Called only when normal lookup fails: a module by its name, as in PyTorch.
        names = vars(self).get("names", ())
        if name in names:
            return self.layers[names.index(name)]
        raise AttributeError(f"'Sequential' object has no attribute or module {name!r}")

    def named_children(self):
        yield from zip(self.names, self.layers, strict=True)

    @property
    def execution_order(self):
        """The modules in the order forward runs them, as :func:`mint.nn.planner.execution_order`
        plans it: the listed order, except that a ``ReLU`` directly followed by a ``MaxPool2d``
        runs after it."""
        return execution_order(self.layers)

    @property
    def independent_samples(self):
        return all(module.independent_samples for module in self.layers)

    def forward(self, x):
        """The modules in :attr:`execution_order`. In eval mode, a batch of more than
        :data:`EVAL_CHUNK` samples runs :data:`EVAL_CHUNK` at a time when every module treats
        samples independently: each layer's output for a chunk stays in cache for the next
        layer instead of making a round trip through memory, and the result is the same, bit
        for bit with the loop strategy (the kernels compute each sample alone). In eval mode a
        ``BatchNorm2d`` is also folded into the ``Conv2d`` before it
        (:func:`mint.nn.planner.inference_steps`)."""
        inference = not self.training and isinstance(x, np.ndarray)
        steps = inference_steps(self.layers) if inference else self.execution_order
        if inference and x.ndim >= 2 and len(x) > EVAL_CHUNK and self.independent_samples:
            x = np.concatenate([self._run(steps, x[start:start + EVAL_CHUNK])
                                for start in range(0, len(x), EVAL_CHUNK)])
        else:
            x = self._run(steps, x)
        self.save_for_backward(np.shape(x))
        return x

    @staticmethod
    def _run(steps, x):
        for step in steps:
            x = step(x)
        return x

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        for module in reversed(self.execution_order):
            grad_out = module.backward(grad_out)
        return grad_out

    def backward_parameters(self, grad_out):
        """:meth:`backward` without dL/d(input), for a training step: the modules before the
        first one with parameters need no backward pass at all, and that one only its
        parameter gradients (:meth:`Module.backward_parameters`)."""
        self.saved_for_backward(grad_out)
        order = self.execution_order
        first = next((index for index, module in enumerate(order)
                      if next(module.parameters(), None) is not None), len(order))
        for module in reversed(order[first + 1:]):
            grad_out = module.backward(grad_out)
        if first < len(order):
            order[first].backward_parameters(grad_out)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(dict(zip(self.names[index], self.layers[index], strict=True)))
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


class ModuleList(Module):
    """A list of modules whose parameters and buffers are registered, named "0", "1", ...
    (PyTorch's ``nn.ModuleList``): index it, slice it, iterate over it, ``append`` and
    ``extend``. It has no forward: the module that holds it calls its modules. As everywhere,
    a module instance is one call site, so the list refuses an instance it already holds."""

    def __init__(self, modules=()):
        self._modules = []
        self.extend(modules)

    def append(self, module):
        """Add ``module`` at the end; returns ``self``."""
        _one_call_site_each("ModuleList", [*((f"module {index}", held) for index, held
                                             in enumerate(self._modules)),
                                           (f"module {len(self._modules)}", module)])
        self._modules.append(module)
        return self

    def extend(self, modules):
        """Append each of ``modules``; returns ``self``."""
        for module in modules:
            self.append(module)
        return self

    def named_children(self):
        for index, module in enumerate(self._modules):
            yield str(index), module

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._modules[index])
        return self._modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)


class ModuleDict(Module):
    """A dict of modules whose parameters and buffers are registered under their keys
    (PyTorch's ``nn.ModuleDict``): ``d[key]``, ``d[key] = module``, ``in``, ``len``,
    iteration over the keys, ``keys()``, ``values()``, ``items()`` and ``update``, in insertion
    order. Keys are non-empty strings without '.'. It has no forward."""

    def __init__(self, modules=None):
        self._modules = {}
        self.update(modules or {})

    def __setitem__(self, key, module):
        if not isinstance(key, str) or not key or "." in key:
            raise ValueError(f"ModuleDict: keys must be non-empty strings without '.', got "
                             f"{key!r}")
        _one_call_site_each("ModuleDict", [*((f"module {name!r}", held) for name, held
                                             in self._modules.items() if name != key),
                                           (f"module {key!r}", module)])
        self._modules[key] = module

    def update(self, modules):
        """Set each ``key: module`` of the dict ``modules``."""
        for key, module in dict(modules).items():
            self[key] = module

    def named_children(self):
        yield from self._modules.items()

    def __getitem__(self, key):
        return self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


class Residual(Module):
    """``out = body(x) + shortcut(x)``, with ``shortcut=None`` the identity: ``body(x) + x``.

    The block of a residual network (He et al. 2016): ``body`` and ``shortcut`` are any modules
    whose outputs have one shape (a ``Sequential`` of convolutions, and ``None`` or a strided 1x1
    convolution where the shape changes). Backward is the chain rule through a sum (guide,
    section "Composing backward"): both branches receive ``grad_out`` unchanged, and the input
    gradient is the sum of the two branches' input gradients. State-dict keys are
    ``body.<...>`` and ``shortcut.<...>``.
    """

    def __init__(self, body, shortcut=None):
        labelled = [("body", body)] + ([] if shortcut is None else [("shortcut", shortcut)])
        _one_call_site_each("Residual", labelled)
        self.body = body
        self.shortcut = shortcut

    @property
    def independent_samples(self):
        return self.body.independent_samples and (
            self.shortcut is None or self.shortcut.independent_samples)

    def forward(self, x):
        out = self.body(x)
        skip = x if self.shortcut is None else self.shortcut(x)
        if np.shape(out) != np.shape(skip):
            source = "the input (identity shortcut)" if self.shortcut is None else "shortcut"
            raise ValueError(
                f"Residual: body output has shape {np.shape(out)} but {source} has shape "
                f"{np.shape(skip)}; they must match to be added (give a shortcut that maps the "
                "input to the body's output shape)"
            )
        out = out + skip
        self.save_for_backward(out.shape)
        return out

    def backward(self, grad_out):
        self.saved_for_backward(grad_out)
        grad_body = self.body.backward(grad_out)
        grad_skip = grad_out if self.shortcut is None else self.shortcut.backward(grad_out)
        return grad_body + grad_skip

    def backward_parameters(self, grad_out):
        """The parameter gradients of both branches, without dL/d(input)."""
        self.saved_for_backward(grad_out)
        self.body.backward_parameters(grad_out)
        if self.shortcut is not None:
            self.shortcut.backward_parameters(grad_out)

