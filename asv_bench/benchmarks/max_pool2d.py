from mint import bench

from .common import STRATEGIES, prepare


class MaxPool2d:
    params = [STRATEGIES, list(bench.POOL_SHAPES)]
    param_names = ["strategy", "shape"]

    def setup(self, strategy, shape):
        self.forward, self.forward_backward = prepare(bench.max_pool2d_cases(shape), strategy)

    def time_forward(self, strategy, shape):
        self.forward()

    def time_forward_backward(self, strategy, shape):
        self.forward_backward()
