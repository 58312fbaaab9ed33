"""Choosing how ops compute: ``loop`` (Numba kernels) or ``vectorized`` (NumPy twins).

The registry maps each strategy name to a package of kernel modules with identical function
names and signatures, so code picks one with ``STRATEGIES[name].conv2d.conv2d_forward``.
"""

import contextlib
from types import ModuleType

from mint import kernels, vectorized

STRATEGIES: dict[str, ModuleType] = {"loop": kernels, "vectorized": vectorized}

_default = "loop"


def _check_name(name):
    if name not in STRATEGIES:
        raise ValueError(
            f"strategy must be one of {sorted(STRATEGIES)}, got {name!r}"
        )
    return name


def get_strategy() -> str:
    """The name of the strategy used when an op or layer is given ``strategy=None``."""
    return _default


def set_strategy(name: str) -> None:
    """Make ``name`` ("loop" or "vectorized") the default strategy."""
    global _default
    _default = _check_name(name)


@contextlib.contextmanager
def use_strategy(name: str):
    """Use ``name`` as the default strategy inside a ``with`` block, then restore the old one."""
    previous = get_strategy()
    set_strategy(name)
    try:
        yield
    finally:
        set_strategy(previous)


def resolve(strategy: str | None) -> ModuleType:
    """The kernel package for ``strategy`` (``None`` means the current default)."""
    return STRATEGIES[_default if strategy is None else _check_name(strategy)]
