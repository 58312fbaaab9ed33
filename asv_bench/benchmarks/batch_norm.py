from mint import bench

from .common import STRATEGIES, prepare


class BatchNorm:
    params = [STRATEGIES, list(bench.SPECS["batch_norm"].shapes)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        cases = bench.SPECS["batch_norm"].cases([shape])
        self.forward, self.forward_backward = prepare(cases, strategy)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
