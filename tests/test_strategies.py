"""Each kernel module in mint.kernels (loop) has a twin of the same name in mint.vectorized with
the same public functions and signatures, so that ``STRATEGIES[name].<module>.<function>`` means
the same call for every strategy. Modules are discovered by listing the packages: a new op module
is covered without editing this file."""

import importlib
import inspect
import pkgutil

import pytest
from numba.core.dispatcher import Dispatcher

from mint import STRATEGIES

# Modules that exist on one side only on purpose: helpers that the op modules of that strategy
# import, which callers never reach through STRATEGIES.
ONE_SIDED = {
    "loop": {"products": "the 4x4 register-blocked products shared by conv2d and linear",
             "layouts": "the padded and channels-last copies the direct and Winograd "
                        "convolutions share",
             "vector_math": "exp, expm1, tanh, log1p and erf that LLVM vectorises without SVML, "
                            "for the activations and losses",
             "winograd_rows": "the 1-D transforms of F(4x4, 3x3) along rows, for winograd"},
    "vectorized": {"windows": "the sliding-window (im2col) view shared by conv2d and max_pool2d"},
}


def _module_names(strategy):
    package = STRATEGIES[strategy]
    return {info.name for info in pkgutil.iter_modules(package.__path__)}


def _public_functions(module):
    """name -> signature of the public functions defined in ``module`` (Numba dispatchers
    through their Python function), leaving out whatever it imports (np, njit, helpers)."""
    found = {}
    for name, value in vars(module).items():
        function = value.py_func if isinstance(value, Dispatcher) else value
        if (not name.startswith("_") and inspect.isfunction(function)
                and function.__module__ == module.__name__):
            found[name] = inspect.signature(function)
    return found


def _paired_modules():
    loop, vectorized = _module_names("loop"), _module_names("vectorized")
    return sorted((loop - set(ONE_SIDED["loop"])) | (vectorized - set(ONE_SIDED["vectorized"])))


def test_the_one_sided_modules_exist_on_their_side_only():
    for strategy, modules in ONE_SIDED.items():
        for other in STRATEGIES:
            names = _module_names(other)
            for module in modules:
                assert (module in names) == (other == strategy), (
                    f"{module!r} is listed as a {strategy}-only helper module, but it is "
                    f"{'missing from' if other == strategy else 'also in'} {other}")


@pytest.mark.parametrize("module", _paired_modules())
def test_each_kernel_module_has_a_twin_with_the_same_functions_and_signatures(module):
    functions = {}
    for strategy, package in STRATEGIES.items():
        assert module in _module_names(strategy), (
            f"{package.__name__} has no module {module!r}: every op module needs a twin in "
            f"each strategy (or an entry in ONE_SIDED)")
        functions[strategy] = _public_functions(
            importlib.import_module(f"{package.__name__}.{module}"))
    (first, expected), *others = functions.items()
    assert expected, f"{first}: {module} defines no public function"
    for strategy, actual in others:
        assert sorted(actual) == sorted(expected), (module, first, strategy)
        for name, signature in expected.items():
            assert actual[name] == signature, (
                f"{module}.{name}: {first} {signature} but {strategy} {actual[name]}")
