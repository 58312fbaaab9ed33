from mint import bench

from .common import STRATEGIES, prepare


class CrossEntropy:
    params = [STRATEGIES, list(bench.CROSS_ENTROPY_SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        (self.forward_backward,) = prepare(bench.cross_entropy_cases(shape), strategy)

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
