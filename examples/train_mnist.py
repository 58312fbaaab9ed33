"""Train a small convnet with the training loop written out by hand.

Shows the layer API end to end: a network built from ``mint.nn`` layers, then for every batch
the forward pass, the loss, ``model.backward(loss_fn.backward())`` and an optimizer step. It
prints the loss of each epoch and the final test accuracy, and asserts that accuracy.

Data: MNIST when its files are in the ``MINT_DATA`` folder (it never downloads), else the
8x8 digits bundled with scikit-learn. Run from the repository root:

    python examples/train_mnist.py              # 6,000 MNIST images, 2 epochs
    python examples/train_mnist.py --limit 3000  # fewer training images, quicker
"""

import argparse
import time

import numpy as np

import mint
from mint import data, nn, optim

MIN_ACCURACY = 0.90  # chance is 0.10; this net reaches ~0.96 on MNIST and on the digits


def load_dataset():
    """``(train, test, name)``: MNIST from $MINT_DATA when present, else the bundled digits."""
    try:
        train = data.load_mnist(split="train", download=False)
        test = data.load_mnist(split="test", download=False)
        return train, test, "MNIST"
    except data.DataError:
        print("MNIST not found (point MINT_DATA at its folder): using the bundled 8x8 digits")
        return data.load_digits("train"), data.load_digits("test"), "digits"


def small_convnet(in_shape, num_classes=10):
    """Two conv -> ReLU -> 2x2 max-pool stages, then one linear layer to the classes."""
    channels, height, width = in_shape
    return nn.Sequential(
        nn.Conv2d(channels, 8, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * (height // 4) * (width // 4), num_classes),
    )


def accuracy(model, images, labels, batch_size=500):
    """Fraction of ``images`` whose highest logit is the label."""
    model.eval()  # keep no activations: nothing will call backward
    correct = 0
    for x, y in data.Batches(images, labels, batch_size):
        correct += int(np.sum(np.argmax(model(x), axis=1) == y))
    model.train()
    return correct / len(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=6_000,
                        help="train on the first LIMIT training images (default 6000)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the training images (default 2 on MNIST, 15 on digits)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    (train_images, train_labels), (test_images, test_labels), name = load_dataset()
    train_images, train_labels = train_images[:args.limit], train_labels[:args.limit]
    epochs = args.epochs or (2 if name == "MNIST" else 15)
    print(f"{name}: {len(train_labels)} training and {len(test_labels)} test images of shape "
          f"{train_images.shape[1:]}, {epochs} epochs")

    mint.manual_seed(args.seed)  # reproducible initial weights
    model = small_convnet(train_images.shape[1:])
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    batches = data.Batches(train_images, train_labels, args.batch_size, shuffle=True,
                           seed=args.seed)

    for epoch in range(1, epochs + 1):
        start, total_loss = time.perf_counter(), 0.0
        for x, y in batches:
            logits = model(x)                    # forward: each layer keeps what backward needs
            loss = loss_fn(logits, y)            # a float; the loss keeps the softmax
            optimizer.zero_grad()                # gradients accumulate, so reset them first
            model.backward(loss_fn.backward())   # dL/dlogits, back through every layer
            optimizer.step()                     # update every parameter.data in place
            total_loss += loss * len(y)
        print(f"epoch {epoch}: loss {total_loss / len(train_labels):.4f} "
              f"({time.perf_counter() - start:.1f} s)")

    test_accuracy = accuracy(model, test_images, test_labels)
    print(f"test accuracy: {test_accuracy:.2%} on {len(test_labels)} {name} test images")
    assert test_accuracy >= MIN_ACCURACY, f"accuracy {test_accuracy:.2%} < {MIN_ACCURACY:.0%}"


if __name__ == "__main__":
    main()
