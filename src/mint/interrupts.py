"""Noting a Ctrl-C (SIGINT) instead of only raising it, for the code that must know one came:
:func:`mint.train.fit`, which stops at its next step, and the ``mint`` command while it starts.
Standard library only, so that it can run before NumPy and Numba are imported."""

import contextlib
import signal
import sys
import threading


@contextlib.contextmanager
def noting_interrupts(raise_at_once=True):
    """Inside the block, note each SIGINT (Ctrl-C) in the list the block gets, and with
    ``raise_at_once`` raise KeyboardInterrupt as Python's own handler does.

    A KeyboardInterrupt raised inside a weakref callback or a ``__del__`` (a progress bar's,
    say) does not propagate, and Python prints it as "Exception ignored in ..."; one raised
    while a compiled extension starts (NumPy's core imports ``datetime`` from C) may come out as
    an ImportError. The list tells the caller a SIGINT came all the same, and the block keeps
    the "Exception ignored" report of a noted one quiet. Without ``raise_at_once`` the SIGINT is
    only noted: a distributed run's processes must all stop at the same step, which fit's step
    agrees on. A SIGINT handler other than Python's own (or any, outside the main thread) is
    left as it is.
    """
    noted = []
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield noted
        return

    def note(signum, frame):
        noted.append(signum)
        if raise_at_once:
            raise KeyboardInterrupt

    def report_unraisable(unraisable):
        if not (noted and issubclass(unraisable.exc_type, KeyboardInterrupt)):
            previous_hook(unraisable)

    previous, previous_hook = signal.signal(signal.SIGINT, note), sys.unraisablehook
    sys.unraisablehook = report_unraisable
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
