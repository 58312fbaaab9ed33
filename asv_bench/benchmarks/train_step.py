import tracemalloc

import numpy as np

import mint
from mint import models

from .common import STRATEGIES, Benchmark, prepared

BATCH = 64


NETWORKS = ("lenet", "resnet")  # names in mint.models.MODELS


@prepared
def train_step_calls(strategy, network, batch=BATCH):
    """One SGD-with-momentum step of ``network`` on a fixed batch of MNIST-shaped images."""
    rng = np.random.default_rng(0)
    images = rng.random((batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    mint.manual_seed(0)
    model = models.MODELS[network](strategy=strategy)
    loss_fn = mint.nn.CrossEntropyLoss(strategy=strategy)
    optimizer = mint.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad()
        loss_fn(model(images), labels)
        # The images need no gradient, as in a PyTorch step where they do not require grad.
        model.backward_parameters(loss_fn.backward())
        optimizer.step()

    return (step,)


class TrainStep(Benchmark):
    """lenet and the small resnet, batch 64, 1x28x28 images, SGD with momentum."""

    params = [STRATEGIES, list(NETWORKS)]
    param_names = ["strategy", "network"]

    def setup(self, strategy, network):
        (self.step,) = train_step_calls(strategy, network)

    def time_train_step(self, strategy, network):
        self.step()

    def track_step_peak_memory(self, strategy, network):
        """Peak bytes allocated during one step and not yet freed (MB): arrays, outputs and
        gradients that NumPy or Python allocate, the arrays the loop kernels return included.
        Temporaries that Numba-compiled code allocates inside a kernel are not seen (they do not
        go through Python's allocator), nor is Numba's compiler (asv's peakmem_ would count it).
        Deterministic for a given commit, so any change is a real one."""
        tracemalloc.start()
        try:
            self.step()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak / 1e6

    track_step_peak_memory.unit = "MB"
