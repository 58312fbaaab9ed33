"""Your own Module: a block that concatenates channels, with its own forward and backward.

DenseNet's idea in one block: the output is the input with new feature maps stacked on, along
the channels, ``concat(x, relu(conv(x)))``. ``Sequential`` (a chain) and ``Residual`` (a sum)
cannot express it, so the block says how to compute it and how to back-propagate through it:

- ``forward`` calls its layers and keeps, with ``save_for_backward``, what backward needs;
- ``backward(grad_out)`` splits the gradient by channels (the reverse of the concatenation),
  sends the new channels' part back through the layers in reverse order, and adds what comes
  out to the part that belongs to ``x`` itself (``x`` went two ways: its gradients add up).

The script checks that backward against central finite differences in float64, then trains a
network of two such blocks on scikit-learn's bundled 8x8 digits (offline, a few seconds) and
asserts its test accuracy. Run from the repository root:

    python examples/concat_block.py
"""

import argparse

import numpy as np

import mint
from mint import data, nn, optim
from mint.train import evaluate, fit


class DenseBlock(nn.Module):
    """``out = concat(x, relu(conv3x3(x)))`` along the channels: (N, C, H, W) -> (N, C + growth,
    H, W)."""

    def __init__(self, in_channels, growth, *, dtype=np.float32):
        self.in_channels, self.growth = in_channels, growth
        self.conv = nn.Conv2d(in_channels, growth, 3, padding=1, dtype=dtype)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = np.concatenate([x, self.relu(self.conv(x))], axis=1)
        self.save_for_backward(out.shape)  # backward needs nothing but the shape check
        return out

    def _split(self, grad_out):
        self.saved_for_backward(grad_out)  # raises if forward did not run in train mode
        return grad_out[:, :self.in_channels], grad_out[:, self.in_channels:]

    def backward(self, grad_out):
        grad_x, grad_new = self._split(grad_out)
        return grad_x + self.conv.backward(self.relu.backward(grad_new))

    def backward_parameters(self, grad_out):
        # A first layer's input is the data, which needs no gradient: skip dL/dx (optional).
        _, grad_new = self._split(grad_out)
        self.conv.backward_parameters(self.relu.backward(grad_new))

    def extra_repr(self):
        return f"in_channels={self.in_channels}, growth={self.growth}"


def network(growth=8, dtype=np.float32):
    """Two dense blocks, 2x2 max-pooling and a linear classifier, for (N, 1, 8, 8) digits."""
    channels = 1 + 2 * growth
    return nn.Sequential(DenseBlock(1, growth, dtype=dtype),
                         DenseBlock(1 + growth, growth, dtype=dtype), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(channels * 4 * 4, 10, dtype=dtype))


def gradient_error(rng):
    """Worst relative error of the network's backward (input and every parameter) against
    central differences of ``sum(model(x) * g)``, in float64."""
    model = network(growth=2, dtype=np.float64)
    x = rng.standard_normal((2, 1, 8, 8))
    g = rng.standard_normal(model(x).shape)
    grad_x = model.backward(g)
    errors = []
    for name, array, analytic in [("input", x, grad_x)] + [
            (name, p.data, p.grad) for name, p in model.named_parameters()]:
        numeric = np.zeros_like(array)
        flat = array.reshape(-1)  # a view: nudging flat nudges the array the model reads
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + 1e-6
            plus = np.sum(model(x) * g)
            flat[i] = saved - 1e-6
            minus = np.sum(model(x) * g)
            flat[i] = saved
            numeric.reshape(-1)[i] = (plus - minus) / 2e-6
        errors.append((np.abs(analytic - numeric).max() / np.abs(numeric).max(), name))
    return max(errors)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    error, where = gradient_error(np.random.default_rng(0))
    print(f"backward vs finite differences: worst relative error {error:.1e} ({where})")
    assert error < 1e-6, f"backward disagrees with finite differences at {where}"

    mint.manual_seed(0)
    model = network()
    print(model)
    train, test = data.load_digits("train"), data.load_digits("test")
    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3), train,
        epochs=args.epochs, batch_size=32, progress=False)
    accuracy = evaluate(model, test)["accuracy"]
    print(f"digits test accuracy after {args.epochs} epochs: {100 * accuracy:.1f}%")
    assert accuracy >= 0.9, f"expected at least 90% test accuracy, got {100 * accuracy:.1f}%"


if __name__ == "__main__":
    main()
