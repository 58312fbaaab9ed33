"""``python -m mint`` and the ``mint`` command: :func:`mint.cli.main`, and a Ctrl-C while it
starts (loading Numba and NumPy, about a second, then building the argument parser) ends in one
line instead of a traceback."""

import contextlib
import signal
import sys


def main(argv=None):
    """Load :mod:`mint.cli` and run it; returns the exit status.

    Once a command runs, :mod:`mint.cli` reports a Ctrl-C itself (what was saved, how to
    continue), so one that reaches this handler came before the command began. A Ctrl-C that
    lands while a compiled extension starts (NumPy's core imports ``datetime`` from C) comes out
    of the import as an ImportError that no longer says it was one: the SIGINTs of the imports
    are noted, so that such an ImportError is known for what it is."""
    try:
        with _noting_interrupts() as interrupts:
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


@contextlib.contextmanager
def _noting_interrupts():
    """Inside the block, each SIGINT is noted in the list the block gets, then raises
    KeyboardInterrupt as Python's own handler does; a SIGINT handler other than Python's (an
    ignored SIGINT) is left as it is."""
    interrupts = []
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield interrupts
        return

    def note(signum, frame):
        interrupts.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


if __name__ == "__main__":
    sys.exit(main())
