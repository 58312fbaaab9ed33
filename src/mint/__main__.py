"""``python -m mint`` and the ``mint`` command: :func:`mint.cli.main`, and a Ctrl-C while it
loads (Numba and NumPy take about a second) ends in one line instead of a traceback."""

import sys


def main(argv=None):
    """Load :mod:`mint.cli` and run it; returns the exit status."""
    try:
        from mint.cli import main as run
    except KeyboardInterrupt:
        print("mint: interrupted while starting; nothing was saved", file=sys.stderr)
        return 130
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
