"""One set of import rules: ``%envcheck`` in a live kernel and ``envkernels check --notebook`` on the same
notebook give the same findings.

The notebook holds every kind of import the rules tell apart: guarded imports, imports of packages that
are not installed or not declared, local modules and packages, the standard library, ``import a.b``,
relative imports, imports inside functions, ``%pip``/``!pip`` lines, Python and non-Python cell magics.
It is executed for real with nbclient (failing cells allowed: importing what is not installed fails),
its last cell is ``%envcheck --json``, and the CLI is run as a process on the file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from magic_kernels import kernel_manager

CELLS = [
    "%pip --version",
    "!pip --version\nlisting = !echo import shell_only_zz",
    "import os, sys\nimport xml.etree.ElementTree as ET\nfrom __future__ import annotations",
    "import urllib3.util\nimport requests",
    "try:\n    import guarded_missing_zz\nexcept ImportError:\n    guarded_missing_zz = None",
    "try:\n    from guarded_from_zz import thing\nexcept (ModuleNotFoundError, KeyError):\n    thing = None",
    "import yaml",
    "from sklearn.linear_model import LinearRegression",
    "import helpers\nfrom localpkg import VALUE",
    "from . import sibling_zz",
    "from .relative_zz import x",
    "def later():\n    import inside_function_zz\n    return inside_function_zz",
    "%%bash\necho 'import bash_only_zz'",
    "%%capture\nimport captured_missing_zz",
    "%time import ipywidgets",
    "import IPython\nimport ipykernel",
    "ok = 1  # a cell without imports",
    "%envcheck --json",
]
# What the rules must make of those cells, whoever reads them (by package of the finding).
EXPECTED_ERRORS = {"pyyaml", "scikit-learn", "inside-function-zz", "captured-missing-zz"}
NOT_REPORTED = {
    "guarded-missing-zz",
    "guarded-from-zz",
    "shell-only-zz",
    "bash-only-zz",
    "helpers",
    "localpkg",
}


def _write_notebook(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "helpers.py").write_text("VALUE = 1\n")
    (directory / "localpkg").mkdir()
    (directory / "localpkg" / "__init__.py").write_text("VALUE = 2\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    path = directory / "analysis.ipynb"
    nbformat.write(nb, path)
    return path


def _run_in_kernel(
    tmp_path: Path, prefix: Path, nb_path: Path, *, tell_notebook: bool
) -> list[dict[str, Any]]:
    """Execute the notebook in a real kernel; the findings its last cell (``%envcheck --json``) printed."""
    from nbclient import NotebookClient

    # Jupyter tells a kernel its notebook (JPY_SESSION_NAME); without it the kernel knows only its cells.
    extra = {"JPY_SESSION_NAME": str(nb_path)} if tell_notebook else {}
    km = kernel_manager(tmp_path / ("told" if tell_notebook else "untold"), prefix, extra_env=extra)
    nb = nbformat.read(nb_path, as_version=4)
    client = NotebookClient(
        nb, km=km, timeout=120, allow_errors=True, resources={"metadata": {"path": str(nb_path.parent)}}
    )
    client.execute()
    # The imports of missing packages failed, as they would for a user: the rules still see them.
    failed = {c.source.split("\n")[-1] for c in nb.cells if any(o.output_type == "error" for o in c.outputs)}
    assert "import yaml" in failed and "import captured_missing_zz" in failed
    last = nb.cells[-1]
    assert not [o for o in last.outputs if o.output_type == "error"], last.outputs
    printed = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream")
    return json.loads(printed)["findings"]


def _run_cli(prefix: Path, nb_path: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels", "check", str(prefix), "--notebook", str(nb_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def _as_set(findings: list[dict[str, Any]], *, drop_cell: bool = False) -> set[str]:
    out = set()
    for f in findings:
        f = dict(f)
        if drop_cell:
            f["message"] = re.sub(r" \(cell \d+\)", "", f["message"])
        out.add(json.dumps(f, sort_keys=True))
    return out


def _imports(findings: list[dict[str, Any]]) -> dict[str, str]:
    return {f["package"]: f["severity"] for f in findings if f["code"] == "undeclared-import"}


@pytest.mark.slow
def test_envcheck_in_a_live_kernel_and_check_notebook_give_identical_findings(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    # A project that declares requests only: installed but undeclared imports are warnings.
    project = tmp_path / "project"
    nb_path = _write_notebook(project)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "analysis"\nversion = "0"\ndependencies = ["requests"]\n'
    )
    cli = _run_cli(magic_env, nb_path)
    kernel = _run_in_kernel(tmp_path, magic_env, nb_path, tell_notebook=True)
    assert _as_set(kernel) == _as_set(cli)
    # ... and the findings are the ones the rules call for (so agreement is not agreement on nothing)
    found = _imports(cli)
    assert {p for p, sev in found.items() if sev == "error"} == EXPECTED_ERRORS
    assert {p for p, sev in found.items() if sev == "warning"} == {"urllib3", "ipywidgets"}
    assert not NOT_REPORTED & set(found)
    assert any(f["code"] == "broken-requirement" and f["package"] == "requests" for f in cli)


@pytest.mark.slow
def test_a_kernel_that_knows_only_its_cells_reads_them_with_the_same_rules(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    """Without the notebook file (a kernel started outside Jupyter) the host reads the executed cells:
    the same findings as the CLI on the file, less the cell numbers only the file gives."""
    nb_path = _write_notebook(tmp_path / "loose")
    cli = _run_cli(magic_env, nb_path)
    kernel = _run_in_kernel(tmp_path, magic_env, nb_path, tell_notebook=False)
    assert not any("(cell " in f["message"] for f in kernel)  # the file was not read
    assert _as_set(kernel, drop_cell=True) == _as_set(cli, drop_cell=True)
    found = _imports(cli)
    assert set(found) == EXPECTED_ERRORS and set(found.values()) == {"error"}
