"""``python -m mint`` and the ``mint`` command: :func:`mint.cli.main`, and a Ctrl-C while it
starts (loading Numba and NumPy, about a second, then building the argument parser) ends in one
line instead of a traceback."""

import sys


def main(argv=None):
    """Load :mod:`mint.cli` and run it; returns the exit status.

    Once a command runs, :mod:`mint.cli` reports a Ctrl-C itself (what was saved, how to
    continue), so one that reaches this handler came before the command began."""
    try:
        from mint.cli import main as run

        return run(argv)
    except KeyboardInterrupt:
        print("mint: interrupted while starting; nothing was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
