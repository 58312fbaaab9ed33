"""``mint evaluate``: the accuracy and confusion matrix of a saved model on a data set."""

import numpy as np

from mint import data
from mint.checkpoint import load_checkpoint
from mint.cli.options import _add_data_options, _compute_settings, _path, _png_file_or_folder
from mint.cli.output import _Failure
from mint.cli.runs import _check_input_shape, _load, _saved_settings
from mint.evaluation import evaluate
from mint.train import save_confusion


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="accuracy and confusion matrix of a saved model",
        description=(
            "Evaluate the model saved in FILE (a model.npz from mint train) on a data set: "
            "prints the accuracy and the confusion matrix, and saves the matrix as a PNG."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=_path, help="checkpoint (model.npz)")
    _add_data_options(parser, "auto (default): the data set the model was trained on",
                      "use only the first N images of the split")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which part of the data set (default: test)")
    parser.add_argument("--out", metavar="PNG", type=_png_file_or_folder,
                        help="confusion-matrix image: a .png file, or a folder to write "
                             "confusion.png in (default: confusion.png beside FILE)")
    parser.set_defaults(handler=run)


def run(args):
    checkpoint = load_checkpoint(args.file)
    model = checkpoint.build_model()
    settings = _saved_settings(checkpoint)
    dataset = args.dataset
    if dataset == "auto":
        in_shape = tuple(checkpoint.architecture.get("in_shape", ()))
        dataset = settings.get("dataset") or ("digits" if in_shape == (1, 8, 8) else "mnist")
    train, test = _load({**settings, "dataset": dataset}, args.data_dir, args.limit, checkpoint)
    images, labels = test if args.split == "test" else train
    _check_input_shape(checkpoint, images)
    strategy = args.strategy or data.DATASETS[dataset].strategy
    threads = args.threads or data.DATASETS[dataset].threads
    with _compute_settings(strategy, threads):
        result = evaluate(model, (images, labels))
    num_classes = int(checkpoint.architecture.get("num_classes", 10))
    matrix = np.bincount(labels * num_classes + result["predictions"],
                         minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    print(f"{dataset} {args.split} ({len(labels)} images): accuracy "
          f"{100 * result['accuracy']:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted class):")
    width = len(str(matrix.max()))
    for row in matrix:
        print("  " + " ".join(f"{count:>{width}d}" for count in row))
    out = args.out or checkpoint.path.parent
    if out.is_dir():
        out = out / "confusion.png"
    title = f"{dataset} {args.split}: accuracy {100 * result['accuracy']:.2f}%"
    try:
        save_confusion(matrix, out, title)
    except OSError as error:
        raise _Failure(f"cannot write {out} ({error.strerror or error})") from None
    print(f"wrote {out}")
    return 0
