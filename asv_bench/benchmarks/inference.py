import numpy as np

import mint
from mint import models

from .common import STRATEGIES, Benchmark, prepared

BATCH = 1000


@prepared
def inference_calls(strategy):
    """lenet's forward pass in eval mode (no activations kept) on a fixed batch of
    MNIST-shaped images."""
    images = np.random.default_rng(0).random((BATCH, 1, 28, 28), dtype=np.float32)
    mint.manual_seed(0)
    model = models.lenet(strategy=strategy).eval()

    def forward():
        model(images)

    return (forward,)


class Inference(Benchmark):
    """lenet, eval mode, forward only, batch 1,000, 1x28x28 images."""

    params = [STRATEGIES]
    param_names = ["strategy"]

    def setup(self, strategy):
        (self.forward,) = inference_calls(strategy)

    def time_inference(self, strategy):
        self.forward()
