"""``python -m mint`` and the ``mint`` command: :func:`mint.cli.main`, and a Ctrl-C while it
starts (loading Numba and NumPy, about a second, then building the argument parser) ends in one
line instead of a traceback."""

import sys

from mint.interrupts import noting_interrupts


def main(argv=None):
    """Load :mod:`mint.cli` and run it; returns the exit status.

    Once a command runs, :mod:`mint.cli` reports a Ctrl-C itself (what was saved, how to
    continue), so one that reaches this handler came before the command began. A Ctrl-C that
    lands while a compiled extension starts (NumPy's core imports ``datetime`` from C) comes out
    of the import as an ImportError that no longer says it was one: the SIGINTs of the imports
    are noted, so that such an ImportError is known for what it is."""
    try:
        with noting_interrupts() as interrupts:
            try:
                from mint.cli import main as run
            except ImportError:
                if not interrupts:
                    raise
                raise KeyboardInterrupt from None
        return run(argv)
    except KeyboardInterrupt:
        print("mint: interrupted while starting; nothing was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
