"""What a benchmark case is: a :class:`Case` (one timed piece of work), an :class:`OpSpec` (how
to time one op of ``mint.functional`` against its ``torch.nn.functional`` twin) and its seeded
:class:`Inputs`; the strategies timed, Mint's and PyTorch's."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np

import mint

MINT_STRATEGIES = tuple(mint.STRATEGIES)
# "torch": PyTorch eager with its default (contiguous NCHW) tensors; "torch-cl": the same with
# every 4-D tensor (images, activations, convolution weights) in torch.channels_last, the layout a
# performance-minded user picks for CPU convolutions. Tensors of other ranks have no channels-last
# layout: for ops on them (linear, cross_entropy) "torch-cl" times exactly what "torch" times.
TORCH_STRATEGIES = ("torch", "torch-cl")
ALL_STRATEGIES = (*MINT_STRATEGIES, *TORCH_STRATEGIES)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Case:
    """One timed piece of work: ``make(strategy)`` returns the callable to time."""

    op: str
    direction: str  # "forward" or "forward+backward" ("step" for a training step)
    shape: str
    flops: float | None  # floating-point operations per call, None where not meaningful
    items: int  # images per call, for images/s
    make: Callable[[str], Callable[[], object]]


class Inputs(NamedTuple):
    """The seeded arguments of one op call, in the order Mint's and PyTorch's functional take
    them: ``op(*arrays, *args)``; ``grad_out`` (the output's shape) is what backward receives."""

    arrays: tuple  # the arrays backward differentiates (in PyTorch: tensors requiring grad)
    args: tuple  # the other arguments: stride, padding, ..., or arrays such as class targets
    grad_out: np.ndarray | None  # None when the op returns a scalar (a loss)


@dataclass(frozen=True)
class OpSpec:
    """How to time one op of ``mint.functional`` against its ``torch.nn.functional`` twin.

    ``inputs(shape, seed=0)`` builds the seeded :class:`Inputs` of one entry of ``shapes``
    (each starts with the batch size N); ``label`` formats a shape for the table. The Mint
    forward is called ``forward(*arrays, *args, strategy=s)``, the backward
    ``backward(grad_out, *arrays, *args, out=out, strategy=s)`` with ``out`` what forward returned,
    and ``flops(grad_out, *arrays, *args)`` counts one forward call's floating-point operations;
    a backward costs ``backward_flops`` forwards.
    """

    name: str
    shapes: tuple[tuple, ...]
    label: str
    inputs: Callable[..., Inputs]
    forward: Callable
    backward: Callable
    torch: str  # the reference's name in torch.nn.functional, called like ``forward``
    flops: Callable[..., float] | None = None
    backward_flops: float = 0.0
    directions: tuple[str, ...] = ("forward", "forward+backward")

    def cases(self, shapes=None):
        """The cases of ``shapes`` (default: all of this op's), each direction in turn."""
        return [case for shape in (self.shapes if shapes is None else shapes)
                for case in self._cases(shape)]

    def _cases(self, shape):
        inputs = self.inputs(shape)
        once = self.flops and self.flops(inputs.grad_out, *inputs.arrays, *inputs.args)
        flops = {"forward": once, "forward+backward": once and (1 + self.backward_flops) * once}
        return [Case(self.name, direction, self.label.format(*shape), flops[direction], shape[0],
                     _either(partial(self._mint, inputs, direction),
                             partial(_torch_op, self.torch, inputs, direction)))
                for direction in self.directions]

    def _mint(self, inputs, direction, strategy):
        arrays, args, grad_out = inputs
        # partial binds the arguments once: a timed call costs what the op's own call costs
        forward = partial(self.forward, *arrays, *args, strategy=strategy)
        if direction == "forward":
            return forward
        backward = partial(self.backward, grad_out, *arrays, *args, strategy=strategy)
        return lambda: backward(out=forward())


def _either(mint_make, torch_make):
    """``make(strategy)`` of a Case: PyTorch's callable for a torch strategy, else Mint's; both
    builders take the strategy."""
    return lambda strategy: (torch_make if strategy in TORCH_STRATEGIES else mint_make)(strategy)


def torch_tensor(array, strategy):
    """A copy of ``array`` as a tensor, in channels-last memory for "torch-cl" when it is 4-D."""
    import torch

    tensor = torch.from_numpy(array.copy())
    if strategy == "torch-cl" and tensor.dim() == 4:
        return tensor.contiguous(memory_format=torch.channels_last)
    return tensor


def _torch_op(name, inputs, direction, strategy):
    """``torch.nn.functional.<name>(*arrays, *args)`` as a callable: without autograd for the
    forward, else back-propagating ``grad_out`` to every one of ``arrays``; the 4-D arrays in
    the layout of ``strategy`` (see :func:`torch_tensor`)."""
    import torch

    function = getattr(torch.nn.functional, name)
    arrays, args, grad_out = inputs
    backward = direction != "forward"
    tensors = [torch_tensor(a, strategy).requires_grad_(backward) for a in arrays]
    args = [torch_tensor(a, strategy) if isinstance(a, np.ndarray) else a for a in args]
    if backward:
        grad = None if grad_out is None else torch_tensor(grad_out, strategy)
        return lambda: function(*tensors, *args).backward(grad)

    def forward():
        with torch.no_grad():
            return function(*tensors, *args)
    return forward


def _normal(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)
