from mint import bench

from .common import STRATEGIES, gflops, prepare


class Conv2d:
    params = [STRATEGIES, list(bench.SPECS["conv2d"].shapes)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.cases = bench.SPECS["conv2d"].cases([shape])
        self.forward, self.forward_backward = prepare(self.cases, strategy)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()

    def track_gflops_forward(self, strategy, shape):
        return gflops(self.cases[0], self.forward)

    def track_gflops_forward_backward(self, strategy, shape):
        return gflops(self.cases[1], self.forward_backward)

    track_gflops_forward.unit = "GFLOP/s"
    track_gflops_forward_backward.unit = "GFLOP/s"
