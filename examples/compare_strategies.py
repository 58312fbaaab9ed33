"""Loop vs vectorized on one layer: the same numbers, computed two ways, at two speeds.

Builds the second convolution of ``mint.models.lenet`` on MNIST (64 images of 32 x 14 x 14,
64 filters of 3 x 3, padding 1) once per strategy with the same weights, checks that the
outputs and all three gradients agree, and times forward and backward of each strategy with
``mint.bench`` (warm-up first, strategies interleaved round after round, medians), as
``mint bench`` does. Run from the repository root:

    python examples/compare_strategies.py
    python examples/compare_strategies.py --rounds 30
"""

import argparse

import numpy as np

import mint
from mint import bench, nn
from mint import functional as F

# (N, C_in, C_out, H = W, kernel, stride, padding), one of the conv2d shapes of mint.bench
SHAPE = (64, 32, 64, 14, 3, 1, 1)
TOLERANCE = 1e-4  # float32; the strategies add the same products in different orders


def make_layers(shape):
    """One Conv2d per strategy, all holding the same weights."""
    _, c_in, c_out, _, kernel, stride, padding = shape
    layers = {s: nn.Conv2d(c_in, c_out, kernel, stride, padding, strategy=s)
              for s in mint.STRATEGIES}
    weights = next(iter(layers.values())).state_dict()
    for layer in layers.values():
        layer.load_state_dict(weights)
    return layers


def forward_and_gradients(layer, x, grad_out):
    """The output, dL/dx, dL/dweight and dL/dbias of one forward and backward pass."""
    layer.zero_grad()
    out = layer(x)
    grad_x = layer.backward(grad_out)
    return {"output": out, "grad input": grad_x, "grad weight": layer.weight.grad.copy(),
            "grad bias": layer.bias.grad.copy()}


def timing_cases(layers, x, grad_out, label):
    """mint.bench cases timing the layers' forward, and their backward alone."""
    flops = 2.0 * grad_out.size * layers["loop"].weight.data[0].size  # one multiply-add each

    def forward(strategy):
        return lambda: layers[strategy](x)

    def backward(strategy):  # what Conv2d.backward computes (a module's backward runs once
        layer = layers[strategy]  # per forward, so time the function it calls)
        return lambda: F.conv2d_backward(grad_out, x, layer.weight.data, layer.stride,
                                         layer.padding, layer.dilation, layer.groups,
                                         strategy=strategy)

    return [bench.Case("Conv2d", "forward", label, flops, len(x), forward),
            # backward computes two products as large as the forward: input and weight grads
            bench.Case("Conv2d", "backward", label, 2 * flops, len(x), backward)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed calls per strategy")
    args = parser.parse_args()

    mint.manual_seed(0)
    layers = make_layers(SHAPE)
    # seeded float32 input and upstream gradient
    (x, _, _), _, grad_out = bench.SPECS["conv2d"].inputs(SHAPE)
    results = {s: forward_and_gradients(layer, x, grad_out) for s, layer in layers.items()}

    label = "N={} Cin={} Cout={} H={} k={} s={} p={}".format(*SHAPE)
    print(f"Conv2d {label}: max |vectorized - loop| / max |loop|")
    differences = {}
    for name, expected in results["loop"].items():
        actual = results["vectorized"][name]
        differences[name] = float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))
        print(f"  {name:<12} {differences[name]:.1e}")

    timings = []
    for case in timing_cases(layers, x, grad_out, label):
        timings += bench.time_case(case, list(layers), rounds=args.rounds)
    print(f"\nmedian of {args.rounds} interleaved rounds, {mint.get_num_threads()} thread(s):")
    print(bench.format_table(timings))

    assert all(d < TOLERANCE for d in differences.values()), f"strategies differ: {differences}"
    assert all(r.median_ms > 0 for r in timings)


if __name__ == "__main__":
    main()
