"""``mint bench``: every op, and whole networks, timed for each strategy (and PyTorch) side by
side (the cases and their timing are :mod:`mint.bench`)."""

import argparse
import functools

import numba
from tqdm import tqdm

from mint import bench
from mint.cli.options import _path, _png_file, _threads, positive_int
from mint.cli.output import _check_writable, _UsageError


def _comma_list(choices):
    """An argparse ``type``: a comma-separated list of some of ``choices``, in the given order."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {', '.join(choices)}, got {text!r}"
            )
        return list(dict.fromkeys(names))

    parse.__name__ = "list"
    return parse


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "bench", help="time every op for each strategy (and PyTorch) side by side",
        description=(
            "Time each op, forward and forward+backward, one training step and one inference "
            "pass of lenet, resnet and torchvision's resnet18 (8 images of 3 x 224 x 224), for "
            "each strategy side by side in this process: every callable is warmed first "
            "(compilation is never timed), then the strategies are timed in turn, round after "
            "round, and the table gives medians, GFLOP/s and the ratio to the fastest. torch is "
            "PyTorch eager, torch-cl the same with 4-D tensors in channels_last memory. float32; "
            "LeNet-sized shapes, and ResNet-18's convolutions under conv2d_resnet18 (see "
            "mint.bench)."
        ),
    )
    work = parser.add_mutually_exclusive_group()
    work.add_argument("--ops", type=_comma_list(bench.OPS),
                      help=f"comma-separated ops to time (default: {','.join(bench.OPS)})")
    work.add_argument(
        "--sweep", choices=("batch",),
        help="instead of the ops: images/s of the lenet training step and inference for batch "
             f"sizes {', '.join(map(str, bench.SWEEP_BATCHES))} with "
             f"{' and '.join(map(str, bench.SWEEP_THREADS))} thread(s) (~3 min on 2 cores); "
             "--plot draws lines",
    )
    parser.add_argument(
        "--strategies", type=_comma_list(bench.ALL_STRATEGIES),
        help="comma-separated strategies (default: loop,vectorized and torch,torch-cl when "
             "installed)",
    )
    parser.add_argument("--threads", metavar="N", type=_threads,
                        help="threads for Mint's kernels, BLAS and torch (default: all cores; "
                             "with --sweep: only N instead of each sweep count)")
    parser.add_argument("--rounds", metavar="N", type=positive_int, default=15,
                        help="timed calls per strategy and case; medians are reported "
                             "(default: 15)")
    parser.add_argument("--json", metavar="FILE", type=_path,
                        help="also write the results and the machine description as JSON")
    parser.add_argument("--plot", metavar="FILE", type=_png_file,
                        help="also write a bar chart (PNG) of each strategy's speed "
                             "relative to the fastest (with --sweep: images/s against the "
                             "batch size)")
    parser.set_defaults(handler=run)


def run(args):
    strategies = args.strategies or [
        *bench.MINT_STRATEGIES, *(bench.TORCH_STRATEGIES if bench.torch_available() else ())
    ]
    uses_torch = any(s in bench.TORCH_STRATEGIES for s in strategies)
    if uses_torch and not bench.torch_available():
        raise _UsageError("torch is not installed (python -m pip install torch==2.13.0)")
    if args.sweep:
        threads = [args.threads] if args.threads else [
            n for n in bench.SWEEP_THREADS if n <= numba.config.NUMBA_NUM_THREADS]
    else:
        threads = [args.threads or numba.config.NUMBA_NUM_THREADS]
        bench.set_threads(threads[0], strategies)
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        _check_writable(option, path)
    meta = bench.machine_description(threads if args.sweep else threads[0])
    print(f"mint bench: {meta['cpu']}, {meta['cores']} cores, "
          f"{' and '.join(map(str, threads))} thread(s), float32, "
          f"medians of {args.rounds} interleaved rounds")
    progress = functools.partial(tqdm, desc="timing", unit="case", leave=False, disable=None)
    if args.sweep:
        results = bench.sweep(strategies, threads, bench.SWEEP_BATCHES, args.rounds,
                              progress=progress)
    else:
        results = bench.run(args.ops or bench.OPS, strategies, args.rounds, progress=progress)
    print(bench.format_table(results))
    if args.json:
        bench.write_json(results, args.json, meta)
        print(f"wrote {args.json}")
    if args.plot:
        (bench.plot_sweep if args.sweep else bench.plot)(results, args.plot)
        print(f"wrote {args.plot}")
    return 0
