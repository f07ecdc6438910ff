"""Code health runs with the tests, so CI fails on it: the formatter, the linter, the type checker and the
layer contracts.

Each runs as the developer would run it from the repository root, with the configuration in pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREES = ["src", "tests", "benchmarks"]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def _tool(name: str) -> str:
    # The venv's own copy (next to this Python) first: a stray global ruff may have other rules.
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' installs it")
    return found


def test_the_code_is_formatted() -> None:
    result = _run(_tool("ruff"), "format", "--check", *TREES)
    assert result.returncode == 0, "run `ruff format src tests benchmarks`:\n" + result.stdout + result.stderr


def test_the_linter_is_clean() -> None:
    result = _run(_tool("ruff"), "check", *TREES)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_type_checker_is_clean() -> None:
    result = _run(_tool("mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_only_point_down() -> None:
    # The contracts are [tool.importlinter] in pyproject.toml (docs/architecture.md): an import from a
    # lower layer to a higher one, direct or through a chain, breaks one and fails here.
    result = _run(_tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def test_importing_the_package_imports_only_its_version() -> None:
    # envkernels/__init__.py is a lazy facade (docs/architecture.md): every CLI start and kernel-side
    # import pays for it, and no layer may reach the front ends through it.
    code = "import sys, envkernels; print(sorted(m for m in sys.modules if m.split('.')[0] == 'envkernels'))"
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['envkernels',", "'envkernels._version']"]


def test_no_module_imports_itself_back() -> None:
    # The `no-cycles` contract covers sibling modules; this covers the rest (a package's __init__ and
    # its own modules): no chain of imports leads from a module back to itself.
    try:
        import grimp  # import-linter's graph builder, installed with it
    except ImportError:
        pytest.fail("import-linter is not installed: pip install -e '.[test]' installs it")

    graph = grimp.build_graph("envkernels", include_external_packages=False)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycles = [sorted(c) for c in _strongly_connected(imports) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the module graph is deeper than the recursion limit allows)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found
