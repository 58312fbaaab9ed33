"""The benchmark cases: what each op and the training step compute, on which shapes.

``mint bench`` and the asv suite in ``asv_bench/`` both build their work from the cases here,
so they time the same shapes. Each case turns a strategy name into a zero-argument callable.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import mint
from mint import functional as F

MINT_STRATEGIES = tuple(mint.STRATEGIES)
ALL_STRATEGIES = (*MINT_STRATEGIES, "torch")

# (N, C_in, C_out, H=W, kernel, stride, padding): the layers of a LeNet-sized network on MNIST.
CONV_SHAPES = (
    (64, 1, 32, 28, 3, 1, 1),
    (64, 32, 64, 14, 3, 1, 1),
    (64, 32, 64, 26, 3, 1, 0),
    (64, 64, 128, 16, 3, 2, 1),
)
# (N, C, H=W, kernel, stride)
POOL_SHAPES = ((64, 32, 28, 2, 2), (64, 64, 14, 2, 2), (64, 32, 27, 3, 2))
# (N, in_features, out_features)
LINEAR_SHAPES = ((64, 3136, 128), (64, 128, 10))
# (N, classes)
CROSS_ENTROPY_SHAPES = ((64, 10), (512, 1000))
TRAIN_BATCH = 64

OPS = ("conv2d", "max_pool2d", "linear", "cross_entropy", "train_step")


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


def _rng_array(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def _torch_tensors(*arrays, requires_grad=False):
    import torch

    return [torch.from_numpy(a.copy()).requires_grad_(requires_grad) for a in arrays]


def _torch_forward(name, arrays, *args):
    """``torch.nn.functional.<name>(*arrays, *args)`` without autograd, as a callable."""
    import torch

    function = getattr(torch.nn.functional, name)
    tensors = _torch_tensors(*arrays)

    def run():
        with torch.no_grad():
            return function(*tensors, *args)
    return run


def _torch_forward_backward(name, arrays, grad_out, *args):
    """The same op with autograd, back-propagating ``grad_out`` to every array, as a callable."""
    import torch

    function = getattr(torch.nn.functional, name)
    tensors = _torch_tensors(*arrays, requires_grad=True)
    (grad,) = _torch_tensors(grad_out)
    return lambda: function(*tensors, *args).backward(grad)


# ------------------------------------------------------------------------------------- conv2d


def conv2d_inputs(shape, seed=0):
    """Seeded float32 ``(x, weight, bias, grad_out)`` for a CONV_SHAPES entry."""
    n, c_in, c_out, size, k, _, _ = shape
    rng = np.random.default_rng(seed)
    x = _rng_array(rng, (n, c_in, size, size))
    weight = _rng_array(rng, (c_out, c_in, k, k)) / np.float32(np.sqrt(c_in * k * k))
    bias = _rng_array(rng, (c_out,))
    out_shape = F.conv2d_output_shape(x.shape, weight.shape, (shape[5],) * 2, (shape[6],) * 2,
                                      (1, 1))
    return x, weight, bias, _rng_array(rng, out_shape)


def conv2d_cases(shape):
    x, weight, bias, grad_out = conv2d_inputs(shape)
    stride, padding = shape[5], shape[6]
    n = shape[0]
    flops = 2.0 * grad_out.size * weight[0].size
    label = "N={} Cin={} Cout={} H={} k={} s={} p={}".format(*shape)

    def forward(strategy):
        if strategy == "torch":
            return _torch_forward("conv2d", (x, weight, bias), stride, padding)
        return lambda: F.conv2d(x, weight, bias, stride, padding, strategy=strategy)

    def forward_backward(strategy):
        if strategy == "torch":
            return _torch_forward_backward("conv2d", (x, weight, bias), grad_out, stride, padding)

        def run():
            F.conv2d(x, weight, bias, stride, padding, strategy=strategy)
            return F.conv2d_backward(grad_out, x, weight, stride, padding, strategy=strategy)
        return run

    return [
        Case("conv2d", "forward", label, flops, n, forward),
        Case("conv2d", "forward+backward", label, 3 * flops, n, forward_backward),
    ]


# ---------------------------------------------------------------------------------- max_pool2d


def max_pool2d_inputs(shape, seed=0):
    """Seeded float32 ``(x, grad_out)`` for a POOL_SHAPES entry."""
    n, c, size, k, stride = shape
    rng = np.random.default_rng(seed)
    out = (size - k) // stride + 1
    return _rng_array(rng, (n, c, size, size)), _rng_array(rng, (n, c, out, out))


def max_pool2d_cases(shape):
    x, grad_out = max_pool2d_inputs(shape)
    k, stride = shape[3], shape[4]
    label = "N={} C={} H={} k={} s={}".format(*shape)
    comparisons = float(grad_out.size * k * k)

    def forward(strategy):
        if strategy == "torch":
            return _torch_forward("max_pool2d", (x,), k, stride)
        return lambda: F.max_pool2d(x, k, stride, strategy=strategy)

    def forward_backward(strategy):
        if strategy == "torch":
            return _torch_forward_backward("max_pool2d", (x,), grad_out, k, stride)

        def run():
            _, argmax = F.max_pool2d(x, k, stride, strategy=strategy)
            return F.max_pool2d_backward(grad_out, argmax, x.shape, strategy=strategy)
        return run

    return [
        Case("max_pool2d", "forward", label, comparisons, shape[0], forward),
        Case("max_pool2d", "forward+backward", label, comparisons, shape[0], forward_backward),
    ]


# -------------------------------------------------------------------------------------- linear


def linear_inputs(shape, seed=0):
    """Seeded float32 ``(x, weight, bias, grad_out)`` for a LINEAR_SHAPES entry."""
    n, c_in, c_out = shape
    rng = np.random.default_rng(seed)
    return (_rng_array(rng, (n, c_in)), _rng_array(rng, (c_out, c_in)),
            _rng_array(rng, (c_out,)), _rng_array(rng, (n, c_out)))


def linear_cases(shape):
    x, weight, bias, grad_out = linear_inputs(shape)
    label = "N={} in={} out={}".format(*shape)
    flops = 2.0 * x.size * weight.shape[0]

    def forward(strategy):
        if strategy == "torch":
            return _torch_forward("linear", (x, weight, bias))
        return lambda: F.linear(x, weight, bias, strategy=strategy)

    def forward_backward(strategy):
        if strategy == "torch":
            return _torch_forward_backward("linear", (x, weight, bias), grad_out)

        def run():
            F.linear(x, weight, bias, strategy=strategy)
            return F.linear_backward(grad_out, x, weight, strategy=strategy)
        return run

    return [
        Case("linear", "forward", label, flops, shape[0], forward),
        Case("linear", "forward+backward", label, 3 * flops, shape[0], forward_backward),
    ]


# ------------------------------------------------------------------------------- cross-entropy


def cross_entropy_inputs(shape, seed=0):
    """Seeded ``(logits float32, target int64)`` for a CROSS_ENTROPY_SHAPES entry."""
    n, classes = shape
    rng = np.random.default_rng(seed)
    return _rng_array(rng, (n, classes)), rng.integers(0, classes, n)


def cross_entropy_cases(shape):
    logits, target = cross_entropy_inputs(shape)
    label = "N={} C={}".format(*shape)

    def forward_backward(strategy):
        if strategy == "torch":
            import torch

            (lt,) = _torch_tensors(logits, requires_grad=True)
            tt = torch.from_numpy(target)
            return lambda: torch.nn.functional.cross_entropy(lt, tt).backward()

        def run():
            _, probs = F.cross_entropy(logits, target, strategy=strategy)
            return F.cross_entropy_backward(probs, target, strategy=strategy)
        return run

    return [Case("cross_entropy", "forward+backward", label, None, shape[0], forward_backward)]


# ---------------------------------------------------------------------------------- train step


def lenet_flops(batch, in_shape=(1, 28, 28)):
    """Multiply-add flops of one lenet forward pass (convolutions and linear layers)."""
    channels, height, width = in_shape
    conv1 = 2.0 * batch * 32 * height * width * channels * 9
    conv2 = 2.0 * batch * 64 * (height // 2) * (width // 2) * 32 * 9
    fc = 2.0 * batch * (64 * (height // 4) * (width // 4) * 128 + 128 * 10)
    return conv1 + conv2 + fc


def train_step_inputs(batch=TRAIN_BATCH, seed=0):
    """Seeded MNIST-shaped ``(images float32 (N, 1, 28, 28), labels int64 (N,))``."""
    rng = np.random.default_rng(seed)
    return rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)


def make_mint_train_step(strategy, batch=TRAIN_BATCH, seed=0):
    """One SGD-with-momentum step of lenet on a fixed batch, as a zero-argument callable."""
    from mint import models

    images, labels = train_step_inputs(batch, seed)
    mint.manual_seed(seed)
    with mint.use_strategy(strategy):
        model = models.lenet()
    loss_fn = mint.nn.CrossEntropyLoss()
    optimizer = mint.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        with mint.use_strategy(strategy):
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            # The images need no gradient (as in the torch step, where they do not require grad).
            model.backward_parameters(loss_fn.backward())
            optimizer.step()
        return loss

    return step


def make_torch_train_step(batch=TRAIN_BATCH, seed=0):
    """The same step in PyTorch eager mode (same layers, batch and optimizer)."""
    import torch

    images, labels = train_step_inputs(batch, seed)
    torch.manual_seed(seed)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def train_step_cases():
    def make(strategy):
        return make_torch_train_step() if strategy == "torch" else make_mint_train_step(strategy)

    label = f"lenet N={TRAIN_BATCH} 1x28x28"
    return [Case("train_step", "step", label, 3 * lenet_flops(TRAIN_BATCH), TRAIN_BATCH, make)]


def cases(ops=OPS):
    """Every benchmark case of the named ops, in a stable order."""
    builders = {
        "conv2d": lambda: [c for s in CONV_SHAPES for c in conv2d_cases(s)],
        "max_pool2d": lambda: [c for s in POOL_SHAPES for c in max_pool2d_cases(s)],
        "linear": lambda: [c for s in LINEAR_SHAPES for c in linear_cases(s)],
        "cross_entropy": lambda: [c for s in CROSS_ENTROPY_SHAPES
                                  for c in cross_entropy_cases(s)],
        "train_step": train_step_cases,
    }
    unknown = [op for op in ops if op not in builders]
    if unknown:
        raise ValueError(f"unknown op(s) {unknown}; choose from {list(OPS)}")
    return [case for op in ops for case in builders[op]()]
