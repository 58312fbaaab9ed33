"""SGD, Adam, AdamW and RMSprop with PyTorch's exact update rules, updating ``Parameter.data``
in place.

An optimizer holds a list of parameters and, per parameter, the arrays its rule needs (momentum
buffers, Adam's moments), allocated once. :meth:`Optimizer.state_dict` is a flat
``{str: numpy.ndarray}`` (scalars as 0-d arrays: ``"lr"``, ``"step"``, ``"0.momentum_buffer"``)
so a checkpoint fits in an ``.npz`` read with ``allow_pickle=False``.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from mint import _checks as check
from mint import kernels, vectorized
from mint.nn.parameter import Parameter


def _parameters(optimizer, params):
    params = list(params)
    if not params:
        raise ValueError(f"{optimizer}: got an empty parameter list")
    for index, parameter in enumerate(params):
        if not isinstance(parameter, Parameter):
            raise TypeError(
                f"{optimizer}: params[{index}] must be a mint.Parameter, got "
                f"{type(parameter).__name__}"
            )
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{optimizer}: a parameter appears more than once in params")
    return params


def _rule(*arrays):
    """The module of update rules for these arrays, and the arrays to pass it: the loop kernels
    of :mod:`mint.kernels.optimizers` (one pass over memory) and 1-D views when the arrays share
    one float dtype and are C-contiguous, else :mod:`mint.vectorized.optimizers` (NumPy, any
    layout) and the arrays as they are: a parameter or gradient replaced by hand may be a
    strided view, which a reshape would copy, losing the update."""
    first = arrays[0]
    if all(a.flags.c_contiguous and a.dtype == first.dtype for a in arrays):
        return kernels.optimizers, [a.reshape(-1) for a in arrays]
    return vectorized.optimizers, arrays


class Optimizer:
    """Parameters, a step counter and a learning rate; subclasses define the update rule."""

    def __init__(self, params):
        self.params = _parameters(type(self).__name__, params)
        self.steps = 0

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        # Learning-rate schedules set this between steps.
        self._lr = check.real(type(self).__name__, "lr", value, 0.0)

    def zero_grad(self):
        for parameter in self.params:
            parameter.zero_grad()

    def step(self):
        self._follow_parameter_dtypes()
        for index, parameter in enumerate(self.params):
            self._update(index, parameter)
        self.steps += 1

    def _follow_parameter_dtypes(self):
        """Cast each buffer to its parameter's dtype, which ``model.to(dtype)`` may have changed
        since the buffers were allocated (float32 moments would round a float64 model's steps)."""
        for arrays in self._buffers().values():
            for index, (array, parameter) in enumerate(zip(arrays, self.params, strict=True)):
                if array.dtype != parameter.data.dtype:
                    arrays[index] = array.astype(parameter.data.dtype)

    def _update(self, index, parameter):
        raise NotImplementedError

    def hyperparameters(self):
        """``{name: value}`` of the hyper-parameters, as :meth:`_configure` takes them."""
        raise NotImplementedError

    def _configure(self, **hyperparameters):
        """Check all hyper-parameters, then set them (used by ``__init__`` and loading)."""
        raise NotImplementedError

    def _buffers(self):
        """``{kind: [one array per parameter]}``: the state the update rule carries."""
        raise NotImplementedError

    def state_dict(self):
        """Hyper-parameters, ``"step"`` and ``"<index>.<kind>"`` buffers, all as ndarrays."""
        state = {name: np.array(value) for name, value in self.hyperparameters().items()}
        state["step"] = np.array(self.steps, dtype=np.int64)
        for kind, arrays in self._buffers().items():
            for index, array in enumerate(arrays):
                state[f"{index}.{kind}"] = array.copy()
        return state

    def load_state_dict(self, state_dict):
        """Restore a :meth:`state_dict`; nothing changes unless every key, shape and value fits."""
        name = type(self).__name__
        expected = self.state_dict()
        missing = [key for key in expected if key not in state_dict]
        unexpected = [key for key in state_dict if key not in expected]
        if missing or unexpected:
            raise ValueError(
                f"{name}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        values = {key: np.asarray(state_dict[key]) for key in expected}
        for key, reference in expected.items():
            if values[key].dtype.kind not in "biuf":
                raise TypeError(
                    f"{name}.load_state_dict: {key!r} must hold real numbers, got "
                    f"{values[key].dtype}"
                )
            if values[key].shape != reference.shape:
                raise ValueError(
                    f"{name}.load_state_dict: {key!r} has shape {values[key].shape}, "
                    f"expected {reference.shape}"
                )
        steps = values["step"]
        if steps.dtype.kind not in "iu" or steps < 0:
            raise ValueError(f"{name}.load_state_dict: 'step' must be an int >= 0, got {steps}")
        self._configure(**{key: values[key].tolist() for key in self.hyperparameters()})
        self.steps = int(steps)
        for kind, arrays in self._buffers().items():
            for index, array in enumerate(arrays):
                np.copyto(array, values[f"{index}.{kind}"], casting="unsafe")

    def __repr__(self):
        arguments = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {arguments})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay.

    As ``torch.optim.SGD``: ``g = grad + weight_decay * p``; with momentum,
    ``buf = g`` on the first step, then ``buf = momentum * buf + (1 - dampening) * g``, and
    ``g = g + momentum * buf`` (Nesterov) or ``g = buf``; finally ``p -= lr * g``.
    """

    def __init__(self, params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        super().__init__(params)
        self._configure(lr=lr, momentum=momentum, dampening=dampening,
                       weight_decay=weight_decay, nesterov=nesterov)
        self.momentum_buffers = (
            [np.zeros_like(p.data) for p in self.params] if self.momentum != 0 else []
        )

    def _configure(self, lr, momentum, dampening, weight_decay, nesterov):
        momentum = check.real("SGD", "momentum", momentum, 0.0)
        dampening = check.real("SGD", "dampening", dampening, 0.0)
        if dampening > 1:
            raise ValueError(f"SGD: dampening must be in [0, 1], got {dampening}")
        weight_decay = check.real("SGD", "weight_decay", weight_decay, 0.0)
        nesterov = check.boolean("SGD", "nesterov", nesterov)
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError(
                "SGD: nesterov requires momentum > 0 and dampening = 0, got "
                f"momentum={momentum}, dampening={dampening}"
            )
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "weight_decay": self.weight_decay, "nesterov": self.nesterov}

    def _buffers(self):
        return {"momentum_buffer": self.momentum_buffers} if self.momentum != 0 else {}

    def _update(self, index, parameter):
        buffer = self.momentum_buffers[index] if self.momentum != 0 else parameter.data
        arrays = parameter.data, parameter.grad, buffer
        rules, arrays = _rule(*arrays)
        rules.sgd_update(*arrays, self.lr, self.momentum, self.dampening, self.weight_decay,
                         self.nesterov, self.steps == 0)


class Adam(Optimizer):
    """Adam with bias correction, and L2 ``weight_decay`` added to the gradient (not AdamW).

    As ``torch.optim.Adam``: ``g = grad + weight_decay * p``,
    ``m += (1 - beta1) * (g - m)``, ``v = beta2 * v + (1 - beta2) * g * g``, and at step ``t``
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        super().__init__(params)
        self._configure(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.exp_avgs = [np.zeros_like(p.data) for p in self.params]
        self.exp_avg_sqs = [np.zeros_like(p.data) for p in self.params]

    def _configure(self, lr, betas, eps, weight_decay):
        name = type(self).__name__
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        betas = tuple(check.real(name, f"betas[{i}]", beta, 0.0, 1.0)
                      for i, beta in enumerate(betas))
        eps = check.real(name, "eps", eps, 0.0)
        weight_decay = check.real(name, "weight_decay", weight_decay, 0.0)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay

    def hyperparameters(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay}

    def _buffers(self):
        return {"exp_avg": self.exp_avgs, "exp_avg_sq": self.exp_avg_sqs}

    def _update(self, index, parameter):
        self._adam_step(index, parameter, self.weight_decay, 1.0)

    def _adam_step(self, index, parameter, weight_decay, decay_factor):
        """The moment updates and the bias-corrected step; ``weight_decay`` adds to the
        gradient (Adam), ``decay_factor`` first shrinks the parameter (AdamW)."""
        beta1, beta2 = self.betas
        step = self.steps + 1
        arrays = parameter.data, parameter.grad, self.exp_avgs[index], self.exp_avg_sqs[index]
        rules, arrays = _rule(*arrays)
        rules.adam_update(*arrays, self.lr / (1 - beta1**step), math.sqrt(1 - beta2**step),
                          beta1, beta2, self.eps, weight_decay, decay_factor)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as ``torch.optim.AdamW``.

    Each step first shrinks the parameter, ``p *= 1 - lr * weight_decay``, then takes Adam's step
    on the plain gradient (no decay term in the moments). Default ``weight_decay=0.01``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _update(self, index, parameter):
        self._adam_step(index, parameter, 0.0, 1 - self.lr * self.weight_decay)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``: ``g = grad + weight_decay * p``,
    ``v = alpha * v + (1 - alpha) * g * g``; centered: ``m += (1 - alpha) * (g - m)`` and
    ``d = sqrt(v - m * m) + eps``, else ``d = sqrt(v) + eps``; with momentum
    ``buf = momentum * buf + g / d`` and ``p -= lr * buf``, else ``p -= lr * g / d``.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False):
        super().__init__(params)
        self._configure(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        self.square_avgs = [np.zeros_like(p.data) for p in self.params]
        self.momentum_buffers = (
            [np.zeros_like(p.data) for p in self.params] if self.momentum != 0 else []
        )
        self.grad_avgs = [np.zeros_like(p.data) for p in self.params] if self.centered else []

    def _configure(self, lr, alpha, eps, weight_decay, momentum, centered):
        alpha = check.real("RMSprop", "alpha", alpha, 0.0)
        if alpha > 1:  # PyTorch accepts it; the running average would then go negative
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {alpha}")
        eps = check.real("RMSprop", "eps", eps, 0.0)
        weight_decay = check.real("RMSprop", "weight_decay", weight_decay, 0.0)
        momentum = check.real("RMSprop", "momentum", momentum, 0.0)
        centered = check.boolean("RMSprop", "centered", centered)
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = centered

    def hyperparameters(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum,
                "centered": self.centered}

    def _buffers(self):
        buffers = {"square_avg": self.square_avgs}
        if self.momentum != 0:
            buffers["momentum_buffer"] = self.momentum_buffers
        if self.centered:
            buffers["grad_avg"] = self.grad_avgs
        return buffers

    def _update(self, index, parameter):
        grad = parameter.grad
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * parameter.data
        square_avg = self.square_avgs[index]
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * grad * grad
        if self.centered:
            grad_avg = self.grad_avgs[index]
            grad_avg += (1 - self.alpha) * (grad - grad_avg)  # torch's lerp form
            denominator = np.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            denominator = np.sqrt(square_avg) + self.eps
        if self.momentum != 0:
            buffer = self.momentum_buffers[index]
            buffer *= self.momentum
            buffer += grad / denominator
            parameter.data -= self.lr * buffer
        else:
            parameter.data -= self.lr * (grad / denominator)


@dataclass(frozen=True)
class OptimizerEntry:
    """An optimizer as the command line offers it: its class, a one-line summary, and the
    defaults of the hyper-parameters a user can set there (``lr`` always; any other, such as
    SGD's ``momentum``, applies to this optimizer only)."""

    cls: type
    summary: str
    defaults: dict = field(default_factory=dict)


# name -> entry: the CLI's --optimizer choices, help and defaults come from here.
OPTIMIZERS = {
    "adam": OptimizerEntry(Adam, "Adam, PyTorch's update rule", {"lr": 3e-3}),
    "adamw": OptimizerEntry(AdamW, "AdamW: Adam with decoupled weight decay",
                            {"lr": 3e-3, "weight_decay": 1e-2}),
    "rmsprop": OptimizerEntry(RMSprop, "RMSprop, PyTorch's update rule", {"lr": 1e-3}),
    "sgd": OptimizerEntry(SGD, "SGD with momentum", {"lr": 0.05, "momentum": 0.9}),
}
