import numpy as np

from mint import functional as F

from .common import STRATEGIES, Benchmark, prepared, random_arrays

# label -> (N, classes): lenet's loss on MNIST, and a wide one.
SHAPES = {"N=64 C=10": (64, 10), "N=512 C=1000": (512, 1000)}


@prepared
def cross_entropy_calls(strategy, shape):
    n, classes = SHAPES.get(shape, shape)
    (logits,) = random_arrays((n, classes))
    target = np.random.default_rng(1).integers(0, classes, n)

    def forward_backward():
        _, probs = F.cross_entropy(logits, target, strategy=strategy)
        F.cross_entropy_backward(probs, target, strategy=strategy)

    return (forward_backward,)


class CrossEntropy(Benchmark):
    params = [STRATEGIES, list(SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        (self.forward_backward,) = cross_entropy_calls(strategy, shape)

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
