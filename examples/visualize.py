"""Look inside a convnet: the first convolution's learned filters, and what they see.

Trains ``mint.models.lenet`` briefly with ``mint.train.fit`` (or loads a checkpoint such as the
``model.npz`` that ``mint train`` writes), then saves two PNGs to ``--out``: ``filters.png``,
the 3 x 3 filters of the first Conv2d, and ``feature_maps.png``, one test image and the maps
those filters compute from it. Data: MNIST when its files are in the ``MINT_DATA`` folder (it
never downloads), else the 8x8 digits bundled with scikit-learn. Run from the repository root:

    python examples/visualize.py                                 # writes runs/visualize/
    python examples/visualize.py runs/train/model.npz --out /tmp/filters
"""

import argparse
import math
from pathlib import Path

import numpy as np

import mint
from mint import data, models, nn, optim
from mint.checkpoint import load_checkpoint
from mint.train import evaluate, fit


def load_dataset(in_shape=None):
    """``(train, test)``: MNIST when present (or ``in_shape`` asks for 28x28), else digits."""
    if in_shape is None or tuple(in_shape[1:]) != (8, 8):
        try:
            return (data.load_mnist(split="train", download=False),
                    data.load_mnist(split="test", download=False))
        except data.DataError as error:
            if in_shape is not None:  # a 28x28 model cannot look at 8x8 digits
                raise SystemExit(f"this checkpoint needs MNIST: {error}") from None
            print("MNIST not found (point MINT_DATA at its folder): using the bundled 8x8 digits")
    return data.load_digits("train"), data.load_digits("test")


def train_briefly(train, limit, epochs):
    """lenet after ``epochs`` passes over the first ``limit`` training images."""
    images, labels = train[0][:limit], train[1][:limit]
    mint.manual_seed(0)
    model = models.lenet(in_shape=images.shape[1:])
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    fit(model, nn.CrossEntropyLoss(), optimizer, (images, labels), epochs=epochs, batch_size=64,
        progress=False)
    return model


def first_conv_output(model, image):
    """The first Conv2d of ``model`` and its output for one ``image`` (C, H, W)."""
    x = image[None]  # a batch of one
    for layer in model:  # run the layers in order up to the first convolution
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            return layer, x[0]
    raise SystemExit("this model has no Conv2d layer to visualise")


def pyplot():
    """matplotlib's pyplot on the Agg backend: it writes files and needs no display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_grid(panels, titles, path, suptitle, cmap):
    """Draw 2-D arrays side by side, eight per row, into the PNG ``path``."""
    plt = pyplot()
    columns = min(8, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.4 * rows + 0.4),
                                squeeze=False, layout="constrained")
    for axis in axes.flat:
        axis.axis("off")
    for axis, panel, title in zip(axes.flat, panels, titles, strict=False):
        if cmap == "RdBu_r":  # signed weights: zero in white, the same scale either side
            limit = float(np.abs(panel).max()) or 1.0
            axis.imshow(panel, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            axis.imshow(panel, cmap=cmap)
        axis.set_title(title, fontsize=8)
    figure.suptitle(suptitle)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", nargs="?", type=Path,
                        help="a checkpoint (.npz) to load instead of training")
    parser.add_argument("--out", type=Path, default=Path("runs/visualize"),
                        help="folder for the PNGs (default runs/visualize)")
    parser.add_argument("--limit", type=int, default=2000,
                        help="training images when training (default 2000)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes when training (default 1 on MNIST, 5 on digits)")
    args = parser.parse_args()

    if args.checkpoint is not None:
        checkpoint = load_checkpoint(args.checkpoint)
        model = checkpoint.build_model()
        train, test = load_dataset(checkpoint.architecture.get("in_shape", (1, 28, 28)))
        print(f"loaded {args.checkpoint} (epoch {checkpoint.epoch})")
    else:
        train, test = load_dataset()
        epochs = args.epochs or (1 if train[0].shape[2] == 28 else 5)
        model = train_briefly(train, args.limit, epochs)
        print(f"trained lenet for {epochs} epoch(s) on {min(args.limit, len(train[1]))} images")
    accuracy = evaluate(model, (test[0][:1000], test[1][:1000]))["accuracy"]
    print(f"test accuracy on {min(1000, len(test[1]))} test images: {accuracy:.2%}")

    model.eval()  # keep no activations: nothing will call backward
    image, label = test[0][0], int(test[1][0])
    conv, maps = first_conv_output(model, image)
    weight = conv.weight.data  # (C_out, C_in, KH, KW)

    args.out.mkdir(parents=True, exist_ok=True)
    filters_png, maps_png = args.out / "filters.png", args.out / "feature_maps.png"
    save_grid(list(weight[:, 0]), [f"filter {c}" for c in range(len(weight))], filters_png,
              f"first Conv2d: {len(weight)} filters of {weight.shape[2]}x{weight.shape[3]} "
              "(input channel 0; red > 0 > blue)", "RdBu_r")
    save_grid([image[0], *maps], [f"input ({label})", *(f"map {c}" for c in range(len(maps)))],
              maps_png, "one test image and the first Conv2d's output for it", "gray")
    print(f"wrote {filters_png} and {maps_png}")

    for path in (filters_png, maps_png):
        assert path.is_file() and path.stat().st_size > 0, f"{path} was not written"


if __name__ == "__main__":
    main()
