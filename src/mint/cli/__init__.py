"""The ``mint`` command: ``mint train``, ``evaluate``, ``predict``, ``bench``, ``export`` and
``summary``.

Each command is a module of this package with two functions: ``add_parser(subparsers)``
declares its options and ``run(args)`` does the work and returns the exit status (0 success,
1 a failure the message explains, 2 bad arguments, 130 interrupted, 141 quietly when the reader
of the output went away, as in ``mint evaluate ... | head -1``). They share the argument types
and common options of :mod:`mint.cli.options`, the ways to end of :mod:`mint.cli.output`, and
(``train`` and ``evaluate``) a run's settings, :mod:`mint.cli.runs`. Failures a user can fix
print one line, never a traceback; so do warnings, and an interrupt, which says what was saved.
"""

import argparse
import os
import sys
import warnings

import mint
from mint import data, distributed
from mint.checkpoint import CheckpointError
from mint.cli import bench, evaluate, export, predict, summary, train
from mint.cli.output import _Failure, _Interrupted, _os_error, _UsageError
from mint.train import TrainingDiverged

# The commands, in the order the help lists them.
COMMANDS = (train, evaluate, predict, bench, export, summary)
BROKEN_PIPE = 141  # the exit status when stdout's reader went away: 128 + SIGPIPE, as shells say


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, pointing at ``--help``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(
        prog="mint",
        description="Train, evaluate and benchmark small convolutional networks with Mint.",
    )
    parser.add_argument("--version", action="version", version=f"mint {mint.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv=None):
    """Entry point of the ``mint`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    status = _run(args)
    if status == 130 and getattr(args, "distributed", False):
        distributed.barrier()  # all stopped at one step (fit): end together once rank 0 has
        # said what it saved (a process that ended first would make mpiexec kill the others)
    elif status and getattr(args, "distributed", False):
        distributed.abort(status)  # the other processes would wait for this one forever
    return status


def _run(args):
    prog = f"mint {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, *_, **__: print(
                f"{prog}: warning: {message}", file=sys.stderr)
            status = args.handler(args)
            sys.stdout.flush()  # a reader gone (below) shows here, not as Python exits
            return status
    except BrokenPipeError:  # `mint evaluate ... | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return BROKEN_PIPE
    except _UsageError as error:
        print(f"{prog}: error: {error} (see {prog} --help)", file=sys.stderr)
        return 2
    except (_Failure, data.DataError, CheckpointError, TrainingDiverged,
            distributed.DistributedError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, ...
        print(f"{prog}: error: {_os_error(error)}", file=sys.stderr)
        return 1
    except _Interrupted as report:
        print(f"{prog}: {report}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # mint train says what it saved, by _Interrupted, once it can
        nothing = "; nothing was saved" if args.command == "train" else ""
        print(f"{prog}: interrupted{nothing}", file=sys.stderr)
        return 130
