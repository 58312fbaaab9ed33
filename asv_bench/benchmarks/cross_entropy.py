from mint import bench

from .common import STRATEGIES, prepare


class CrossEntropy:
    params = [STRATEGIES, list(bench.SPECS["cross_entropy"].shapes)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        (self.forward_backward,) = prepare(bench.SPECS["cross_entropy"].cases([shape]), strategy)

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
