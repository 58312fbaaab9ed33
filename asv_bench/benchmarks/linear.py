from mint import bench

from .common import STRATEGIES, gflops, prepare


class Linear:
    params = [STRATEGIES, list(bench.SPECS["linear"].shapes)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.cases = bench.SPECS["linear"].cases([shape])
        self.forward, self.forward_backward = prepare(self.cases, strategy)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()

    def track_gflops_forward_backward(self, strategy, shape):
        return gflops(self.cases[1], self.forward_backward)

    track_gflops_forward_backward.unit = "GFLOP/s"
