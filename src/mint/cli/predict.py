"""``mint predict``: the classes a saved model gives image files, one line per image."""

import csv
import io

import mint
from mint import files
from mint.checkpoint import load_checkpoint
from mint.cli.options import _compute_settings, _path, _threads, positive_int
from mint.cli.output import _check_writable, _count, _UsageError


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "predict", help="the classes a saved model gives image files",
        description=(
            "For each image file in PATH (a folder: every .png, .jpg, .jpeg and .bmp file in it "
            "and below), print the class the model saved in FILE gives it and its probability, "
            "one line per image. Each image is read as the training images were: converted "
            "to grayscale or RGB as the model takes, cropped to its aspect ratio around the "
            "centre and resized to its input size, standardised by the statistics the "
            "checkpoint stores."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=_path, help="checkpoint (model.npz)")
    parser.add_argument("paths", metavar="PATH", type=_path, nargs="+",
                        help="image files, or folders of them")
    parser.add_argument("--top", metavar="K", type=positive_int, default=1,
                        help="print the K most probable classes of each image (default: 1)")
    parser.add_argument("--csv", metavar="FILE", type=_path,
                        help="also write a table: path, then class and probability for each "
                             "of the top K")
    parser.add_argument("--strategy", choices=sorted(mint.STRATEGIES), default="vectorized",
                        help="how ops compute (default: vectorized: for one pass, compiling "
                             "the loops would take longer than the pass)")
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for the kernels and BLAS (default: all cores)")
    parser.set_defaults(handler=run)


def run(args):
    _check_writable("--csv", args.csv)
    checkpoint = load_checkpoint(args.file)
    num_classes = checkpoint.architecture.get("num_classes")
    if args.top > num_classes:
        classes = _count(num_classes, "class", "classes")
        raise _UsageError(f"--top {args.top}: the model has {classes}")
    with _compute_settings(args.strategy, args.threads):
        results = mint.predict(checkpoint, args.paths, top=args.top)
    rows = []
    for path, ranked in results:
        print(f"{path}: " + ", ".join(f"{name} {100 * p:.1f}%" for name, p in ranked))
        rows.append([path, *(cell for name, p in ranked for cell in (name, f"{p:.6f}"))])
    if args.csv:
        header = ["path", *(f"{cell}_{k}" for k in range(1, args.top + 1)
                            for cell in ("class", "probability"))]
        table = io.StringIO()
        csv.writer(table, lineterminator="\n").writerows([header, *rows])
        files.write_atomically(args.csv, lambda file: file.write(table.getvalue().encode()))
        print(f"wrote {args.csv}")
    return 0
