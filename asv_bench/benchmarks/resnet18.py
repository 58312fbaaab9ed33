"""torchvision's ResNet-18 on ImageNet-sized images (batch 8, 3 x 224 x 224): its convolutions,
a training step and inference, with the thread settings a user's program has (Numba's THREADS
and BLAS's default threads, :func:`~.common.use_default_threads`), not the suite's one BLAS
thread. Its shapes (many channels on small maps) and the default threads are what showed that the
Winograd kernels started BLAS threads inside their parallel loops: 4-26x the time of a 256-channel
layer; lenet's shapes did not show it."""

import numpy as np

import mint
from mint import models

from . import conv2d
from .common import STRATEGIES, Benchmark, prepared, use_default_threads

BATCH = 8

# label -> (C_in, C_out, H=W, kernel, stride, padding), batch BATCH: the 7x7 stride-2 stem, each
# stage's 3x3, a stride-2 3x3 and a 1x1 shortcut
SHAPES = {
    "Cin=3 Cout=64 H=224 k=7 s=2 p=3": (3, 64, 224, 7, 2, 3),
    "Cin=64 Cout=64 H=56 k=3 s=1 p=1": (64, 64, 56, 3, 1, 1),
    "Cin=128 Cout=128 H=28 k=3 s=1 p=1": (128, 128, 28, 3, 1, 1),
    "Cin=256 Cout=256 H=14 k=3 s=1 p=1": (256, 256, 14, 3, 1, 1),
    "Cin=512 Cout=512 H=7 k=3 s=1 p=1": (512, 512, 7, 3, 1, 1),
    "Cin=128 Cout=256 H=28 k=3 s=2 p=1": (128, 256, 28, 3, 2, 1),
    "Cin=256 Cout=512 H=14 k=1 s=2 p=0": (256, 512, 14, 1, 2, 0),
}


@prepared
def conv2d_calls(strategy, shape):
    # no bias, as in the network
    return conv2d.convolution_calls(strategy, BATCH, *SHAPES[shape], with_bias=False)


class ResNet18Conv2d(conv2d.Conv2d):
    """ResNet-18's convolutions, batch 8, default threads (the timed calls are Conv2d's)."""

    params = [STRATEGIES, list(SHAPES)]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = conv2d_calls(strategy, shape)
        use_default_threads()


@prepared
def network_calls(strategy):
    """A training step (SGD with momentum) and an eval-mode forward pass of ResNet-18."""
    rng = np.random.default_rng(0)
    images = rng.random((BATCH, 3, 224, 224), dtype=np.float32)
    labels = rng.integers(0, 1000, BATCH)
    mint.manual_seed(0)
    model = models.resnet18(in_shape=(3, 224, 224), num_classes=1000, strategy=strategy)
    loss_fn = mint.nn.CrossEntropyLoss(strategy=strategy)
    optimizer = mint.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        model.train()
        optimizer.zero_grad()
        loss_fn(model(images), labels)
        model.backward_parameters(loss_fn.backward())
        optimizer.step()

    def inference():
        model.eval()
        model(images)

    return step, inference


class ResNet18(Benchmark):
    """ResNet-18, batch 8, 3 x 224 x 224, default threads: the loop strategy only (the
    vectorized one takes seconds a step; its convolutions are timed above)."""

    params = [["loop"]]
    param_names = ["strategy"]
    repeat = (5, 20, 10.0)  # 0.3-1 s a call

    def setup(self, strategy):
        self.step, self.inference = network_calls(strategy)
        use_default_threads()

    def time_train_step(self, strategy):
        self.step()

    def time_inference(self, strategy):
        self.inference()
