"""docs/backprop.md names real kernels: every ``src/mint/<path>.py:<function>`` it cites exists.

Modules are parsed with :mod:`ast`, never imported, so these tests need no Numba compilation.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "backprop.md"
FUNCTIONAL = ROOT / "src" / "mint" / "functional"  # the package that dispatches to kernels
# The two strategy packages; each op module of one has a twin of the same name in the other.
PACKAGES = ("kernels", "vectorized")
CITATION = re.compile(r"\bsrc/mint/((?:\w+/)*\w+)\.py:(\w+)")
KERNEL_NAME = re.compile(r"^\w+_(forward|backward)(_\w+)?$")


def cited_functions(text):
    """``(module path, function)`` pairs cited in ``text``, once each, in order of appearance."""
    return list(
        dict.fromkeys((f"src/mint/{module}.py", name) for module, name in CITATION.findall(text))
    )


def defined_names(path):
    """Names a module defines at top level: functions and assigned names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def broken_citations(citations, root):
    """A message for every citation whose module is missing or does not define the function."""
    problems = []
    for module, name in citations:
        path = root / module
        if not path.is_file():
            problems.append(f"{module}:{name}: there is no file {module}")
        elif name not in defined_names(path):
            problems.append(f"{module}:{name}: {module} defines no function {name}")
    return problems


def op_modules(package):
    """The op modules a strategy package imports in its ``__init__.py`` (conv2d, linear, ...)."""
    init = ROOT / "src" / "mint" / package / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    return sorted(
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == f"mint.{package}"
        for alias in node.names
    )


def dispatched_kernels():
    """Kernel function names that mint.functional calls: attributes and ``_elementwise``
    names, in every module of the package."""
    names = set()
    nodes = (node for path in sorted(FUNCTIONAL.glob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    for node in nodes:
        if isinstance(node, ast.Attribute) and KERNEL_NAME.match(node.attr):
            names.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_elementwise"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
        ):
            names.add(node.args[1].value)
    return names


def doc_citations():
    return cited_functions(DOC.read_text(encoding="utf-8"))


def test_backprop_doc_cites_only_functions_that_exist():
    citations = doc_citations()
    assert citations, f"{DOC.name} cites no src/mint/<path>.py:<function>"
    problems = broken_citations(citations, ROOT)
    assert not problems, "docs/backprop.md cites functions that do not exist:\n" + "\n".join(
        problems
    )


def test_backprop_doc_cites_every_op_module_of_both_strategies():
    cited_modules = {module for module, _ in doc_citations()}
    missing = []
    for package in PACKAGES:
        modules = op_modules(package)
        assert modules, f"found no op modules in src/mint/{package}/__init__.py"
        missing += [
            f"src/mint/{package}/{op}.py"
            for op in modules
            if f"src/mint/{package}/{op}.py" not in cited_modules
        ]
    assert not missing, f"docs/backprop.md cites nothing in {missing}"


def test_backprop_doc_names_both_implementations_of_every_dispatched_kernel():
    kernels = dispatched_kernels()
    # mint.functional dispatches forward and backward of five ops; fewer means the parse broke.
    assert len(kernels) >= 10, f"expected the kernel names mint.functional calls, got {kernels}"
    cited = doc_citations()
    missing = [
        f"{package}: {name}"
        for package in PACKAGES
        for name in sorted(kernels)
        if not any(
            module.startswith(f"src/mint/{package}/") and function == name
            for module, function in cited
        )
    ]
    assert not missing, f"docs/backprop.md never cites these kernels: {missing}"


def test_broken_citations_reports_misspelled_function_and_missing_module(tmp_path):
    module = tmp_path / "src" / "mint" / "kernels" / "conv2d.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from numba import njit\n\n\n"
        "@njit(cache=True)\n"
        "def conv2d_forward(x, weight, bias, stride, padding, dilation):\n"
        "    return x\n\n\n"
        "conv2d_backward_bias = None\n",
        encoding="utf-8",
    )
    text = (
        "Good: `src/mint/kernels/conv2d.py:conv2d_forward` and "
        "`src/mint/kernels/conv2d.py:conv2d_backward_bias`.\n"
        "Misspelled: src/mint/kernels/conv2d.py:conv2d_forwrd, "
        "wrong module: `src/mint/kernels/conv3d.py:conv2d_forward`."
    )
    citations = cited_functions(text)
    assert len(citations) == 4
    assert broken_citations(citations, tmp_path) == [
        "src/mint/kernels/conv2d.py:conv2d_forwrd: src/mint/kernels/conv2d.py defines no "
        "function conv2d_forwrd",
        "src/mint/kernels/conv3d.py:conv2d_forward: there is no file src/mint/kernels/conv3d.py",
    ]
