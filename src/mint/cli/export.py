"""``mint export``: a saved model as an ONNX file, checked, and run in ONNX Runtime when it is
installed."""

import sys
from pathlib import Path

import mint.onnx
from mint.checkpoint import load_checkpoint
from mint.cli.options import positive_int
from mint.cli.output import _check_writable, _UsageError
from mint.cli.runs import _finite_model


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="write a saved model as an ONNX file",
        description=(
            "Export the model saved in FILE (a model.npz from mint train) to the ONNX file OUT, "
            "as it computes in eval mode, for ONNX Runtime and other runtimes. The file is "
            "checked with onnx.checker and, when onnxruntime is installed, run in ONNX Runtime "
            "on a random batch and compared with Mint. Needs the onnx package "
            f"({mint.onnx.INSTALL['onnx']}; with onnxruntime: {mint.onnx.INSTALL['onnxruntime']})."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="checkpoint (model.npz)")
    parser.add_argument("out", metavar="OUT", type=Path, help="ONNX file to write (model.onnx)")
    parser.add_argument("--opset", metavar="N", type=positive_int, default=mint.onnx.DEFAULT_OPSET,
                        help=f"ONNX operator set version (default: {mint.onnx.DEFAULT_OPSET})")
    parser.add_argument("--batch", metavar="N", type=positive_int,
                        help="fix the batch size to N (default: any batch size)")
    parser.set_defaults(handler=run)


def run(args):
    _check_writable("OUT", args.out)
    checkpoint = load_checkpoint(args.file)
    model = _finite_model(checkpoint, "export")
    in_shape = tuple(checkpoint.architecture.get("in_shape", ()))
    try:
        proto = mint.onnx.export(model, args.out, (args.batch or 1, *in_shape), opset=args.opset,
                                 dynamic_batch=args.batch is None)
    except ImportError as error:
        print(f"mint export: error: {error}", file=sys.stderr)
        return 1
    except ValueError as error:  # an opset the installed onnx does not know, or too old
        raise _UsageError(error) from None
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, opset {args.opset}): "
          f"{mint.onnx.signature(proto)}")
    check_shape = (args.batch or 7, *in_shape)
    try:
        difference = mint.onnx.onnxruntime_difference(model, args.out, check_shape)
    except ImportError:
        print(f"onnxruntime is not installed, so the file was not run in it (to check it: "
              f"{mint.onnx.INSTALL['onnxruntime']})")
    else:
        print(f"ONNX Runtime on a random batch {check_shape}: largest difference from Mint "
              f"{difference:.1e} of the largest output")
    return 0
