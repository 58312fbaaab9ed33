"""``mint summary``: the layers of a saved or named model, with output shapes, parameters,
multiply-adds and the bytes each keeps for backward."""

import argparse
from pathlib import Path

import mint
from mint import models
from mint.checkpoint import load_checkpoint
from mint.cli.options import positive_int
from mint.cli.output import _UsageError


def _image_shape(text):
    """An argparse ``type``: "C,H,W" as a tuple of three positive ints."""
    try:
        shape = tuple(positive_int(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        shape = ()
    if len(shape) != 3:
        raise argparse.ArgumentTypeError(
            f"expected channels,height,width as positive integers (as 1,28,28), got {text!r}"
        )
    return shape


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "summary", help="layers, output shapes, parameters and multiply-adds of a model",
        description=(
            "Print the layers of the model saved in FILE, or of --model built for --input "
            "images, with each layer's output shape, parameters, multiply-adds and the bytes it "
            "keeps for backward, and their totals, for a batch of --batch images (definitions "
            "in mint.summarize)."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, nargs="?",
                        help="checkpoint (model.npz); or give --model")
    parser.add_argument("--model", choices=sorted(models.MODELS),
                        help="a model of mint.models instead of a checkpoint")
    parser.add_argument("--input", metavar="C,H,W", type=_image_shape,
                        help="shape of one input image for --model (default: 1,28,28)")
    parser.add_argument("--batch", metavar="N", type=positive_int, default=1,
                        help="images per batch, for the multiply-adds and activations "
                             "(default: 1)")
    parser.set_defaults(handler=run)


def run(args):
    if (args.file is None) == (args.model is None):
        raise _UsageError("give either a checkpoint FILE or --model NAME")
    if args.file is not None:
        if args.input is not None:
            raise _UsageError("--input applies to --model; a checkpoint's model takes the "
                              "images it was trained on")
        checkpoint = load_checkpoint(args.file)
        model = checkpoint.build_model()
        in_shape = tuple(checkpoint.architecture.get("in_shape", ()))
        title = f"{args.file}: {checkpoint.architecture['name']}"
    else:
        in_shape = args.input or (1, 28, 28)
        try:
            model = models.build(models.architecture(args.model, in_shape=in_shape))
        except ValueError as error:
            raise _UsageError(f"--input: {error}") from None
        title = args.model
    print(f"{title}, input batch {(args.batch, *in_shape)}")
    print(mint.summary(model, (args.batch, *in_shape)))
    return 0
