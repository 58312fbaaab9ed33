"""Check every layer's backward against finite differences, in float64.

For a layer ``y = f(x)`` and a fixed random ``g`` shaped like ``y``, the scalar
``s = sum(f(x) * g)`` has the gradient ``backward(g)`` with respect to ``x`` (and adds into
each ``Parameter.grad``). Central differences ``(s(x + eps) - s(x - eps)) / (2 eps)`` estimate
the same numbers without any calculus. The script prints, per layer and strategy, the worst
relative error ``max |analytic - numeric| / max |numeric|`` over the input and the parameters,
and asserts each is below 1e-6. Run from the repository root:

    python examples/gradcheck.py
"""

import argparse

import numpy as np

import mint
from mint import nn

EPS = 1e-6  # float64 central differences: error ~ EPS**2 + 1e-16 / EPS, about 1e-10
THRESHOLD = 1e-6


def distinct_values(rng, shape, spacing=0.05):
    """Values far apart and away from zero, shuffled: no two within ``EPS`` of each other.

    Max-pooling and ReLU have kinks (ties, zero); finite differences across a kink measure a
    mix of the two one-sided slopes, so the inputs keep clear of them.
    """
    size = int(np.prod(shape))
    values = (np.arange(size) - size / 2 + 0.5) * spacing
    return rng.permutation(values).reshape(shape)


def numerical_gradient(objective, array):
    """Central differences of ``objective()`` with respect to each entry of ``array``."""
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)  # views: nudging flat nudges array
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + EPS
        plus = objective()
        flat[i] = saved - EPS
        minus = objective()
        flat[i] = saved
        flat_grad[i] = (plus - minus) / (2 * EPS)
    return grad


def relative_error(analytic, numeric):
    return float(np.max(np.abs(analytic - numeric)) / max(np.max(np.abs(numeric)), 1e-12))


def check_layer(layer, x, rng):
    """Worst relative error of ``layer.backward`` over its input and parameters."""
    grad_out = rng.standard_normal(layer(x).shape)
    layer.zero_grad()
    grad_x = layer.backward(grad_out)

    def objective():
        return float(np.sum(layer(x) * grad_out))

    errors = [relative_error(grad_x, numerical_gradient(objective, x))]
    for parameter in layer.parameters():
        errors.append(relative_error(parameter.grad, numerical_gradient(objective, parameter.data)))
    return max(errors)


def check_loss(loss_fn, logits, target):
    """Relative error of ``CrossEntropyLoss.backward`` (dL/dlogits) against the loss itself."""
    loss_fn(logits, target)
    analytic = loss_fn.backward()
    return relative_error(analytic, numerical_gradient(lambda: loss_fn(logits, target), logits))


def cases(rng):
    """``(name, layer, input)`` for each layer, float64, with small but awkward shapes."""
    f64 = np.float64
    return [
        ("Linear(7, 5)", nn.Linear(7, 5, dtype=f64), rng.standard_normal((4, 7))),
        ("Conv2d(3, 4, 3, stride=2, padding=1)",
         nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=f64), rng.standard_normal((2, 3, 7, 7))),
        ("Conv2d(2, 3, (3, 2), stride=(2, 3), padding=(0, 2), dilation=2)",
         nn.Conv2d(2, 3, (3, 2), stride=(2, 3), padding=(0, 2), dilation=2, dtype=f64),
         rng.standard_normal((2, 2, 10, 9))),  # strides leave the last rows unused
        ("MaxPool2d(2)", nn.MaxPool2d(2), distinct_values(rng, (2, 3, 6, 6))),
        ("MaxPool2d(3, stride=2, padding=1)", nn.MaxPool2d(3, stride=2, padding=1),
         distinct_values(rng, (2, 2, 7, 7))),
        ("ReLU", nn.ReLU(), distinct_values(rng, (3, 10))),
        ("LeakyReLU(0.1)", nn.LeakyReLU(0.1), distinct_values(rng, (3, 10))),
        ("Sigmoid", nn.Sigmoid(), rng.standard_normal((3, 10))),
        ("Tanh", nn.Tanh(), rng.standard_normal((3, 10))),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    strategies = list(mint.STRATEGIES)
    worst = {}  # (layer name, strategy) -> worst relative error
    for strategy in strategies:
        with mint.use_strategy(strategy):
            rng = np.random.default_rng(args.seed)
            mint.manual_seed(args.seed)
            for name, layer, x in cases(rng):
                worst[name, strategy] = check_layer(layer, x, rng)
            logits, target = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
            worst["CrossEntropyLoss", strategy] = check_loss(nn.CrossEntropyLoss(), logits, target)

    names = list(dict.fromkeys(name for name, _ in worst))
    width = max(len(name) for name in names)
    print(f"worst relative error of backward vs finite differences (float64, eps={EPS:g})")
    print(f"{'layer':<{width}}  " + "  ".join(f"{s:>10}" for s in strategies))
    for name in names:
        print(f"{name:<{width}}  " + "  ".join(f"{worst[name, s]:10.1e}" for s in strategies))

    failures = {key: error for key, error in worst.items() if not error < THRESHOLD}
    assert not failures, f"gradients off by more than {THRESHOLD:g}: {failures}"
    print(f"all {len(worst)} checks below {THRESHOLD:g}")


if __name__ == "__main__":
    main()
