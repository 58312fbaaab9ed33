from mint import bench

from .common import STRATEGIES, gflops, median_seconds, prepare


class TrainStep:
    """One SGD-with-momentum step of lenet on a batch of 64 MNIST-shaped images."""

    params = [STRATEGIES]
    param_names = ["strategy"]

    def setup(self, strategy):
        self.cases = bench.SPECS["train_step"].cases()
        (self.step,) = prepare(self.cases, strategy)

    def time_train_step(self, strategy):
        self.step()

    def peakmem_train_step(self, strategy):
        self.step()

    def track_gflops(self, strategy):
        return gflops(self.cases[0], self.step)

    def track_images_per_second(self, strategy):
        return self.cases[0].items / median_seconds(self.step)

    track_gflops.unit = "GFLOP/s"
    track_images_per_second.unit = "images/s"
