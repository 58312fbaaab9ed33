"""The docs agree with the code and with themselves.

* The README and every page of ``docs/``: each Python block compiles, the README's tour runs, the
  commands and options the shell blocks give ``mint`` exist, every cited function
  (``src/mint/<path>.py:<name>``) exists, and every relative link (a file, a heading's anchor, an
  image) resolves. The blocks other tests run are found here by page and
  heading (:func:`code_block`): the ONNX Runtime snippet (``test_onnx.py``), the README's
  ``DenseBlock`` (``test_composition.py``).
* ``docs/backprop.md`` and ``docs/implementation.md`` cite only real functions
  (``src/mint/<path>.py:<name>``), the guide's index lists every labelled equation with its loop
  kernel and its twin, and every dispatched kernel is cited.
* The parallelisation table of ``docs/implementation.md`` calls serial exactly the kernels that
  run no ``prange``.
* The guide's less obvious claims hold numerically: (C5) in both of its forms, (C7) built by (C8),
  worked example 3, and when pooling windows overlap.

Modules are parsed with :mod:`ast`, never imported, and the numeric checks use NumPy (and
PyTorch when installed), so these tests need no Numba compilation, but for the README's tour
(a small convolutional network's five steps, kernels every training test compiles too).
"""

import ast
import re
import shlex
from math import gcd
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mint
import mint.cli
from helpers import requires_torch, to_torch, torch

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The README and the reference pages it leads to.
PAGES = (README, *sorted((ROOT / "docs").glob("*.md")))
GUIDE = ROOT / "docs" / "backprop.md"
NOTES = ROOT / "docs" / "implementation.md"
FUNCTIONAL = ROOT / "src" / "mint" / "functional"  # the package that dispatches to kernels
# The two strategy packages; each op module of one has a twin of the same name in the other.
PACKAGES = ("kernels", "vectorized")
CITATION = re.compile(r"\bsrc/mint/((?:\w+/)*\w+)\.py:(\w+)")
KERNEL_NAME = re.compile(r"^\w+_(forward|backward)(_\w+)?$")
# An equation label, "(C7)"; the guide defines each one in bold, "**(C7)**".
LABEL = re.compile(r"\(([A-Z]\d+)\)")
DEFINED_LABEL = re.compile(r"\*\*\(([A-Z]\d+)\)\*\*")
# How the code cites a label: "(C7)", "(C4) and", "(L2, delta . W)".
CODE_LABEL = re.compile(r"\(([A-Z]\d+)[,)]")
# The index is the last section; its number grows as ops add sections before it.
INDEX_HEADING = re.compile(r"^## \d+\. Index of equations and kernels$", re.MULTILINE)
PARALLEL_TABLE_HEADER = "| kernel | `prange` over |"

# ------------------------------------------------------------------------- parsing the sources


def cited_functions(text):
    """``(module path, function)`` pairs cited in ``text``, once each, in order of appearance."""
    return list(
        dict.fromkeys((f"src/mint/{module}.py", name) for module, name in CITATION.findall(text))
    )


def top_level_functions(path):
    """``{name: ast node}`` of the functions a module defines at top level."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def defined_names(path):
    """Names a module defines at top level: functions and assigned names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set(top_level_functions(path))
    for node in tree.body:
        if isinstance(node, ast.Assign):
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


def runs_prange(path, name):
    """Whether function ``name`` of module ``path``, or a function of that module it refers to
    (calls, or passes on as an argument), holds a ``prange`` loop."""
    functions = top_level_functions(path)
    seen, todo = set(), [name]
    while todo:
        function = todo.pop()
        if function in seen:
            continue
        seen.add(function)
        for node in ast.walk(functions[function]):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "prange":
                return True
            if isinstance(node, ast.Name) and node.id in functions:
                todo.append(node.id)
    return False


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


def table_rows(text, header):
    """The cells of each row of the markdown table whose header line starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:  # past the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def guide_index_rows():
    text = GUIDE.read_text(encoding="utf-8")
    heading = INDEX_HEADING.search(text)
    assert heading, f"{GUIDE.name} has no section '<number>. Index of equations and kernels'"
    return table_rows(text[heading.end():].lstrip("\n"), "| equations |")


# ------------------------------------------------------------------ pages: blocks and links

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *$", re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def page_id(path):
    """A page's path in the repository (its name, outside it)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def without_code_blocks(text):
    """``text`` with each fenced block blanked (its length kept), so its ``#`` comments are no
    headings."""
    return FENCE.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), text)


def section(path, heading):
    """The text of ``path`` under the heading titled ``heading`` (any level), up to the next
    heading of the same or a higher level."""
    text = path.read_text(encoding="utf-8")
    headings = list(HEADING.finditer(without_code_blocks(text)))
    for i, match in enumerate(headings):
        if match.group(2) == heading:
            level = len(match.group(1))
            end = next((later.start() for later in headings[i + 1:]
                        if len(later.group(1)) <= level), len(text))
            return text[match.end():end]
    raise AssertionError(f"{page_id(path)} has no heading {heading!r}")


def code_blocks(text, language):
    """The fenced blocks of ``language`` in ``text``, in order."""
    return [body for lang, body in FENCE.findall(text) if lang == language]


def code_block(path, heading, language="python"):
    """The first ``language`` block under ``heading`` in ``path``: what a test runs."""
    blocks = code_blocks(section(path, heading), language)
    assert blocks, f"{page_id(path)}, {heading!r}: no {language} block"
    return blocks[0]


def anchors(path):
    """The anchors GitHub gives the headings of ``path``: lower case, punctuation but hyphens
    and underscores dropped, spaces as hyphens; a repeated one gets ``-1``, ``-2``, ..."""
    seen, result = {}, set()
    for match in HEADING.finditer(without_code_blocks(path.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", match.group(2).lower()).replace(" ", "-")
        result.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return result


def broken_links(path):
    """A message for every relative link of ``path`` whose file or heading does not exist."""
    text = INLINE_CODE.sub("", without_code_blocks(path.read_text(encoding="utf-8")))
    problems = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not this repository's
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            problems.append(f"{target}: there is no file {file}")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            problems.append(f"{target}: {file or page_id(path)} has no heading #{anchor}")
    return problems


def mint_commands(text):
    """Each ``mint ...`` line of the shell blocks of ``text``, as its arguments after ``mint``
    (the comment dropped; ``mpiexec ... mint train`` counts)."""
    commands = []
    for block in code_blocks(text, "bash"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if "mint" in words:
                commands.append(words[words.index("mint") + 1:])
    return commands


def mint_help(command, capsys):
    """What ``mint <command> --help`` prints."""
    with pytest.raises(SystemExit):
        mint.cli.main([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_python_block_compiles(page):
    for number, block in enumerate(code_blocks(page.read_text(encoding="utf-8"), "python")):
        compile(block, f"{page_id(page)}, python block {number + 1}", "exec")


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_cited_function_exists(page):
    problems = broken_citations(cited_functions(page.read_text(encoding="utf-8")), ROOT)
    assert not problems, f"{page_id(page)} cites functions that do not exist:\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_and_images_resolve(page):
    problems = broken_links(page)
    assert not problems, f"{page_id(page)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_mint_commands_in_shell_blocks_exist_with_their_options(page, capsys):
    helps, problems = {}, []
    for arguments in mint_commands(page.read_text(encoding="utf-8")):
        command = arguments[0] if arguments else ""
        if command not in helps:
            try:
                helps[command] = mint_help(command, capsys)
            except BaseException as error:  # argparse's exit on an unknown command
                problems.append(f"mint {command}: not a command ({error!r})")
                continue
        problems += [
            f"mint {' '.join(arguments)}: mint {command} has no option {word}"
            for word in arguments[1:]
            if word.startswith("--") and re.search(rf"{re.escape(word)}\b", helps[command]) is None
        ]
    assert not problems, f"{page_id(page)}:\n" + "\n".join(problems)


def test_ci_runs_the_readmes_test_command():
    (command,) = code_blocks(section(README, "Run the tests"), "bash")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command.strip() in ci, f".ci/run does not run the README's {command.strip()!r}"


def test_readme_tour_runs_the_api_and_strategies_blocks():
    namespace = {}
    strategy = mint.get_strategy()
    try:
        for heading in ("The API", "Two strategies: `loop` and `vectorized`"):
            exec(compile(code_block(README, heading), f"README.md, {heading}", "exec"), namespace)
    finally:
        mint.set_strategy(strategy)
    assert np.isfinite(namespace["loss"])
    assert namespace["out"].shape == (32, 8, 26, 26)


def test_link_checker_finds_missing_files_and_headings(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "plot.png").write_bytes(b"")
    (tmp_path / "other.md").write_text("# Other\n\n## The `mint bench` table, 2026\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## A section\n\n```bash\n# not a heading\n```\n\n"
        "[ok](other.md#the-mint-bench-table-2026) [ok](#a-section) ![ok](images/plot.png)\n"
        "[web](https://example.org/x.md) `[code](missing.md)`\n"
        "[gone](missing.md) [no heading](other.md#nowhere) [no heading](#not-a-heading)\n"
    )
    assert broken_links(page) == [
        "missing.md: there is no file missing.md",
        "other.md#nowhere: other.md has no heading #nowhere",
        "#not-a-heading: page.md has no heading #not-a-heading",
    ]


# ------------------------------------------------------------------------------ docs vs code


def test_docs_cite_only_functions_that_exist():
    for doc in (GUIDE, NOTES):
        citations = cited_functions(doc.read_text(encoding="utf-8"))
        assert citations, f"{doc.name} cites no src/mint/<path>.py:<function>"
        problems = broken_citations(citations, ROOT)
        assert not problems, f"{doc.name} cites functions that do not exist:\n" + "\n".join(
            problems
        )


def test_guide_cites_every_op_module_of_both_strategies():
    cited_modules = {module for module, _ in cited_functions(GUIDE.read_text(encoding="utf-8"))}
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


def test_guide_names_both_implementations_of_every_dispatched_kernel():
    kernels = dispatched_kernels()
    # mint.functional dispatches forward and backward of five ops; fewer means the parse broke.
    assert len(kernels) >= 10, f"expected the kernel names mint.functional calls, got {kernels}"
    cited = cited_functions(GUIDE.read_text(encoding="utf-8"))
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


def test_guide_index_lists_every_labelled_equation_with_a_kernel_and_its_twin():
    defined = DEFINED_LABEL.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(defined) >= 20, f"expected the guide's labelled equations, got {defined}"
    assert len(set(defined)) == len(defined), f"a label is defined twice: {sorted(defined)}"
    indexed = []
    for equations, loop, twin in guide_index_rows():
        labels = LABEL.findall(equations)
        assert labels, f"index row without an equation label: {equations!r}"
        indexed += labels
        for package, cell in (("kernels", loop), ("vectorized", twin)):
            modules = {module for module, _ in cited_functions(cell)}
            assert modules and all(m.startswith(f"src/mint/{package}/") for m in modules), (
                f"index row {equations}: expected functions of src/mint/{package}/, got {cell!r}"
            )
    assert sorted(indexed) == sorted(defined), (
        f"labels missing from the index: {sorted(set(defined) - set(indexed))}; "
        f"indexed but never defined: {sorted(set(indexed) - set(defined))}"
    )


def test_equation_labels_cited_by_the_code_are_defined_in_the_guide():
    defined = set(DEFINED_LABEL.findall(GUIDE.read_text(encoding="utf-8")))
    cited = {
        (label, str(path.relative_to(ROOT)))
        for path in sorted((ROOT / "src" / "mint").rglob("*.py"))
        for label in CODE_LABEL.findall(path.read_text(encoding="utf-8"))
    }
    assert cited, "expected the kernels' docstrings to cite equation labels"
    unknown = sorted((path, label) for label, path in cited if label not in defined)
    assert not unknown, f"labels the code cites but docs/backprop.md does not define: {unknown}"


def test_parallel_table_calls_serial_exactly_the_kernels_without_prange():
    rows = table_rows(NOTES.read_text(encoding="utf-8"), PARALLEL_TABLE_HEADER)
    assert rows, f"{NOTES.name} has no table headed {PARALLEL_TABLE_HEADER!r}"
    wrong, listed = [], set()
    for kernels, parallel_index, _ in rows:
        citations = cited_functions(kernels)
        assert citations, f"row without a kernel: {kernels!r}"
        for module, name in citations:
            listed.add(name)
            claims_parallel = parallel_index != "serial"
            if runs_prange(ROOT / module, name) != claims_parallel:
                wrong.append(f"{module}:{name} is listed as {parallel_index!r}")
    assert not wrong, "docs/implementation.md, parallel loops:\n" + "\n".join(wrong)
    missing = sorted(dispatched_kernels() - listed)
    assert not missing, f"docs/implementation.md's parallel table lacks {missing}"


def test_runs_prange_follows_helpers_and_reports_serial_functions(tmp_path):
    module = tmp_path / "kernel.py"
    module.write_text(
        "from numba import njit, prange\n\n\n"
        "def _loop(out):\n    for i in prange(3):\n        out[i] = i\n\n\n"
        "def _fill(kernel, out):\n    kernel(out)\n\n\n"
        "def parallel(out):\n    return _fill(_loop, out)\n\n\n"
        "def serial(out):\n    for i in range(3):\n        out[i] = i\n",
        encoding="utf-8",
    )
    assert runs_prange(module, "parallel")
    assert not runs_prange(module, "serial")


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


# ------------------------------------------------------- the guide's equations, written out


def correlate(maps, kernel, stride, dilation):
    """(C1) without padding or bias: maps (B, C, H, W), kernel (O, C, KH, KW) -> (B, O, H_out,
    W_out), every shift that fits."""
    (_, _, H, W), (_, _, KH, KW) = maps.shape, kernel.shape
    (SH, SW), (DH, DW) = stride, dilation
    H_out, W_out = (H - DH * (KH - 1) - 1) // SH + 1, (W - DW * (KW - 1) - 1) // SW + 1
    out = 0
    for i in range(KH):
        for j in range(KW):
            taps = maps[:, :, i * DH:i * DH + (H_out - 1) * SH + 1:SH,
                        j * DW:j * DW + (W_out - 1) * SW + 1:SW]
            out = out + np.einsum("bchw,oc->bohw", taps, kernel[:, :, i, j])
    return out


def pad(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))


def insert_zeros(delta, stride):
    """delta-check: stride - 1 zeros between neighbouring rows and columns of delta."""
    N, C, H, W = delta.shape
    out = np.zeros((N, C, (H - 1) * stride[0] + 1, (W - 1) * stride[1] + 1))
    out[:, :, ::stride[0], ::stride[1]] = delta
    return out


def weight_gradient_c4(x, delta, kernel_hw, stride, padding, dilation):
    """(C4), element by element."""
    x_pad, H_out, W_out = pad(x, padding), delta.shape[2], delta.shape[3]
    (SH, SW), (DH, DW) = stride, dilation
    grad = np.empty((delta.shape[1], x.shape[1], *kernel_hw))
    for i in range(kernel_hw[0]):
        for j in range(kernel_hw[1]):
            taps = x_pad[:, :, i * DH:i * DH + (H_out - 1) * SH + 1:SH,
                         j * DW:j * DW + (W_out - 1) * SW + 1:SW]
            grad[:, :, i, j] = np.einsum("nchw,nkhw->ck", delta, taps)
    return grad


def weight_gradient_c5(x, delta, stride, padding, dilation, zero_inserted):
    """(C5), every shift, indexed [c, c', i, j]: x-tilde-ddot correlated with the un-inserted
    delta-tilde (stride D, dilation S) or with the zero-inserted one (stride D, dilation 1)."""
    maps = pad(x, padding).transpose(1, 0, 2, 3)
    if zero_inserted:
        kernel, kernel_dilation = insert_zeros(delta, stride).transpose(1, 0, 2, 3), (1, 1)
    else:
        kernel, kernel_dilation = delta.transpose(1, 0, 2, 3), stride
    return correlate(maps, kernel, dilation, kernel_dilation).transpose(1, 0, 2, 3)


def input_gradient_chain_rule(delta, weight, input_hw, stride, padding, dilation):
    """dL/dx straight from (C1): each output pixel adds delta * k to the taps it read."""
    (N, _, H_out, W_out), (_, C_in, KH, KW) = delta.shape, weight.shape
    (SH, SW), (PH, PW), (DH, DW) = stride, padding, dilation
    grad_pad = np.zeros((N, C_in, input_hw[0] + 2 * PH, input_hw[1] + 2 * PW))
    for h in range(H_out):
        for w in range(W_out):
            for i in range(KH):
                for j in range(KW):
                    grad_pad[:, :, h * SH + i * DH, w * SW + j * DW] += (
                        delta[:, :, h, w] @ weight[:, :, i, j]
                    )
    return grad_pad[:, :, PH:PH + input_hw[0], PW:PW + input_hw[1]]


def pad_or_crop(a, axis, before, after):
    """``before`` and ``after`` zero rows along ``axis``; a negative count drops rows instead."""
    a = np.moveaxis(a, axis, 0)
    a = a[max(0, -before):a.shape[0] - max(0, -after)]
    a = np.pad(a, [(max(0, before), max(0, after))] + [(0, 0)] * (a.ndim - 1))
    return np.moveaxis(a, 0, axis)


def input_gradient_c7(delta, weight, input_hw, stride, padding, dilation):
    """(C7) on delta-check-ddot as (C8) builds it: insert zeros, then lambda zeros in front and
    tau = lambda + r at the end of each axis (dropping rows where negative)."""
    built = insert_zeros(delta, stride)
    for axis in (0, 1):
        F, S, P, D = weight.shape[2 + axis], stride[axis], padding[axis], dilation[axis]
        lead = D * (F - 1) - P
        r = (input_hw[axis] + 2 * P - (D * (F - 1) + 1)) % S
        built = pad_or_crop(built, 2 + axis, lead, lead + r)
    rotated = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    return correlate(built, rotated, (1, 1), dilation)


@st.composite
def convolutions(draw):
    """Random arrays and hyper-parameters of one convolution, any stride, padding, dilation."""
    axes = []
    for _ in range(2):
        F, S, D = (draw(st.integers(1, top)) for top in (3, 4, 3))
        P = draw(st.integers(0, 3))
        span = D * (F - 1) + 1
        axes.append((draw(st.integers(max(1, span - 2 * P), span + 2 * S + 2)), F, S, P, D))
    (H, FH, SH, PH, DH), (W, FW, SW, PW, DW) = axes
    N, C_in, C_out = (draw(st.integers(1, 3)) for _ in range(3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((N, C_in, H, W))
    weight = rng.standard_normal((C_out, C_in, FH, FW))
    H_out = (H + 2 * PH - DH * (FH - 1) - 1) // SH + 1
    W_out = (W + 2 * PW - DW * (FW - 1) - 1) // SW + 1
    delta = rng.standard_normal((N, C_out, H_out, W_out))
    return x, weight, delta, (SH, SW), (PH, PW), (DH, DW)


@given(convolutions())
def test_c5_both_forms_give_c4_in_the_first_F_of_F_plus_r_over_D_shifts(case):
    x, weight, delta, stride, padding, dilation = case
    kernel_hw = weight.shape[2:]
    expected = weight_gradient_c4(x, delta, kernel_hw, stride, padding, dilation)
    remainders = [
        (x.shape[2 + a] + 2 * padding[a] - dilation[a] * (kernel_hw[a] - 1) - 1) % stride[a]
        for a in (0, 1)
    ]
    shifts = tuple(kernel_hw[a] + remainders[a] // dilation[a] for a in (0, 1))
    for zero_inserted in (False, True):
        grad = weight_gradient_c5(x, delta, stride, padding, dilation, zero_inserted)
        assert grad.shape[2:] == shifts
        np.testing.assert_allclose(grad[:, :, :kernel_hw[0], :kernel_hw[1]], expected,
                                   rtol=1e-10, atol=1e-10)


@given(convolutions())
def test_c7_on_the_c8_padded_gradient_is_the_chain_rule_input_gradient(case):
    x, weight, delta, stride, padding, dilation = case
    input_hw = x.shape[2:]
    grad = input_gradient_c7(delta, weight, input_hw, stride, padding, dilation)
    expected = input_gradient_chain_rule(delta, weight, input_hw, stride, padding, dilation)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-10)


@requires_torch
@given(convolutions())
def test_c4_and_c7_match_torch_autograd(case):
    x, weight, delta, stride, padding, dilation = case
    x_t, weight_t = to_torch(x, requires_grad=True), to_torch(weight, requires_grad=True)
    out = torch.nn.functional.conv2d(x_t, weight_t, None, stride, padding, dilation)
    out.backward(to_torch(delta))
    np.testing.assert_allclose(
        weight_gradient_c4(x, delta, weight.shape[2:], stride, padding, dilation),
        weight_t.grad.numpy(), rtol=1e-10, atol=1e-10,
    )
    np.testing.assert_allclose(
        input_gradient_c7(delta, weight, x.shape[2:], stride, padding, dilation),
        x_t.grad.numpy(), rtol=1e-10, atol=1e-10,
    )


def test_worked_example_3_c5_with_dilation_2_and_stride_3():
    # H_in = 8, F = 2, S = 3, P = 0, D = 2 along the rows; one column, one channel.
    x = np.array([2.0, 3, 5, 7, 11, 13, 17, 19]).reshape(1, 1, 8, 1)
    d0, d1 = 0.5, -1.25
    delta = np.array([d0, d1]).reshape(1, 1, 2, 1)
    stride, padding, dilation = (3, 1), (0, 0), (2, 1)
    assert (8 - (2 * (2 - 1) + 1)) // 3 + 1 == delta.shape[2]  # (C2): H_out = 2, r = 2
    rows = x[0, 0, :, 0]
    table = [d0 * rows[0] + d1 * rows[3], d0 * rows[2] + d1 * rows[5], d0 * rows[4] + d1 * rows[7]]
    for zero_inserted in (False, True):
        shifts = weight_gradient_c5(x, delta, stride, padding, dilation, zero_inserted)
        np.testing.assert_allclose(shifts[0, 0, :, 0], table, rtol=1e-15)
    np.testing.assert_allclose(
        weight_gradient_c4(x, delta, (2, 1), stride, padding, dilation)[0, 0, :, 0], table[:2],
        rtol=1e-15,
    )
    # With the zero-inserted gradient and dilation 3 the kernel would span 10 rows of 8.
    assert (insert_zeros(delta, stride).shape[2] - 1) * 3 + 1 == 10


def windows_share_a_row(F, S, D, count):
    """Whether two of ``count`` windows along one axis read a common row of the padded input."""
    rows = [{h * S + i * D for i in range(F)} for h in range(count)]
    return any(rows[a] & rows[b] for a in range(count) for b in range(a + 1, count))


def test_pooling_windows_overlap_iff_lcm_of_stride_and_dilation_is_below_the_span():
    # Section 4.2: along one axis, some two of `count` windows share a row of the padded input
    # exactly when lcm(S, D) < F_D = D (F - 1) + 1 and count > D / gcd(S, D).
    wrong = []
    for F in range(1, 6):
        for S in range(1, 7):
            for D in range(1, 7):
                for count in range(1, 11):
                    lcm = S * D // gcd(S, D)
                    claimed = lcm < D * (F - 1) + 1 and count > D // gcd(S, D)
                    if windows_share_a_row(F, S, D, count) != claimed:
                        wrong.append((F, S, D, count))
    assert not wrong, f"(F, S, D, windows) where the guide's condition is wrong: {wrong}"
    # The guide's counterexample to "overlap iff S < F_D": F = 2, S = 2 < F_D = 4, D = 3.
    assert not windows_share_a_row(2, 2, 3, 10)
