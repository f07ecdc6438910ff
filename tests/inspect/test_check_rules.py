"""The check's project and notebook rules on real environments (made with uv) and real files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import env_of
from envfactory import make_venv
from envkernels.errors import NotFoundError
from envkernels.inspect.check import check_environment


def _notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    nb = {
        "cells": [
            {
                "cell_type": kind,
                "metadata": {},
                "source": src.splitlines(keepends=True),
                **({"outputs": [], "execution_count": None} if kind == "code" else {}),
            }
            for kind, src in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project declaring more than its `.venv` holds, on a Python it does not allow."""
    root = tmp_path_factory.mktemp("proj") / "analysis"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "analysis"\nversion = "0.1"\nrequires-python = ">=3.12"\n'
        'dependencies = ["six>=1.16", "idna<3", "requests>=2; python_version >= \'3.8\'",'
        " \"tomli; python_version < '3.10'\"]\n"
        '[dependency-groups]\ndev = ["pytest"]\ndocs = ["sphinx"]\n'
    )
    (root / ".python-version").write_text("3.12\n")
    (root / "helpers.py").write_text("X = 1\n")
    make_venv(root / ".venv", ["six==1.16.0", "idna==3.7", "packaging==24.1"])
    return root


def _codes(report) -> dict[tuple[str, str | None], object]:  # type: ignore[no-untyped-def]
    return {(f.code, f.package): f for f in report.findings}


def test_declared_requirements_against_the_project_env(project: Path, isolated_home: Path) -> None:
    report = check_environment(env_of(project / ".venv"))
    found = _codes(report)
    assert found[("missing-declared", "requests")].severity == "error"  # type: ignore[attr-defined]
    assert found[("missing-declared", "pytest")].severity == "warning"  # type: ignore[attr-defined]
    assert ("missing-declared", "sphinx") not in found  # an optional group: not expected installed
    assert ("missing-declared", "tomli") not in found  # its marker is false on this Python
    mismatch = found[("declared-version-mismatch", "idna")]
    assert mismatch.severity == "error" and "idna 3.7" in mismatch.message  # type: ignore[attr-defined]
    assert "uv pip install --python" in mismatch.hint and "idna<3" in mismatch.hint  # type: ignore[attr-defined]
    pythons = [f for f in report.findings if f.code == "python-mismatch"]
    assert len(pythons) == 2  # requires-python and .python-version
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert all(here in f.message and f.hint and "uv venv" in f.hint for f in pythons)
    assert [f.severity for f in report.findings] == sorted(
        (f.severity for f in report.findings), key=["error", "warning", "info"].index
    )


def test_notebook_imports_stdlib_local_magics_and_optional_are_ignored(
    project: Path, isolated_home: Path
) -> None:
    nb = _notebook(
        project / "explore.ipynb",
        [
            ("markdown", "import notacode"),
            (
                "code",
                "%pip install numpy\n!ls -la\nfiles = !ls\n"
                "import os, sys\nimport six\nfrom idna import encode\n",
            ),
            ("code", "import numpy as np\nimport helpers\nfrom . import sibling\nnp?\n"),
            ("code", "try:\n    import ujson as json\nexcept ImportError:\n    import json\n"),
            ("code", "%%bash\nimport notpython\n"),
            ("code", "%%time\nimport yaml\n"),
            ("code", "import packaging.version\nfrom IPython.display import display\n"),
            ("code", "def broken(:\nimport attr\n"),
        ],
    )
    report = check_environment(env_of(project / ".venv"), notebook=str(nb))
    undeclared = {f.package: f for f in report.findings if f.code == "undeclared-import"}
    assert set(undeclared) == {"numpy", "pyyaml", "packaging", "attrs"}
    assert undeclared["numpy"].severity == "error" and "cell 3" in undeclared["numpy"].message
    assert "uv pip install --python" in (undeclared["numpy"].hint or "")
    assert undeclared["pyyaml"].severity == "error"  # `import yaml` comes from pyyaml
    assert undeclared["packaging"].severity == "warning"  # installed, but the project does not declare it
    assert "pyproject.toml" in (undeclared["packaging"].hint or "")
    assert undeclared["attrs"].severity == "error"  # a cell that does not parse still yields its imports
    assert not [f for f in report.findings if f.code == "kernel-env-mismatch"]


def test_given_import_names_are_checked_like_a_notebooks(project: Path, isolated_home: Path) -> None:
    report = check_environment(env_of(project / ".venv"), imports=["six", "json", "sklearn.linear_model"])
    undeclared = [f for f in report.findings if f.code == "undeclared-import"]
    assert [(f.package, f.severity) for f in undeclared] == [("scikit-learn", "error")]


def test_kernel_in_another_env_than_the_notebooks_project(
    project: Path, small_env: Path, isolated_home: Path
) -> None:
    nb = _notebook(project / "k.ipynb", [("code", "import six\n")])
    report = check_environment(env_of(small_env), notebook=str(nb))
    mismatch = [f for f in report.findings if f.code == "kernel-env-mismatch"]
    assert len(mismatch) == 1 and mismatch[0].severity == "error"
    own = env_of(project / ".venv")
    assert own.kernel_name in (mismatch[0].hint or "")
    # The notebook's project is what the notebook needs: its declarations are checked in the kernel's env.
    assert any(f.code == "missing-declared" and f.package == "requests" for f in report.findings)


def test_bad_notebook_is_an_input_error_and_the_rest_still_runs(project: Path, isolated_home: Path) -> None:
    bad = project / "bad.ipynb"
    bad.write_text('{"cells": [\n  {"cell_type": "code",\n')
    report = check_environment(env_of(project / ".venv"), notebook=str(bad))
    errors = report.to_dict()["input_errors"]
    assert len(errors) == 1 and errors[0]["path"] == str(bad) and "invalid JSON" in errors[0]["message"]
    assert errors[0]["hint"]
    assert any(f.code == "missing-declared" for f in report.findings)


def test_missing_notebook_or_lock_is_an_error(project: Path, isolated_home: Path) -> None:
    with pytest.raises(NotFoundError) as exc:
        check_environment(env_of(project / ".venv"), notebook=str(project / "nope.ipynb"))
    assert exc.value.hint
    with pytest.raises(NotFoundError):
        check_environment(env_of(project / ".venv"), lock=str(project / "nope.lock"))


def test_invalid_pyproject_is_named_with_its_line(tmp_path: Path, isolated_home: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["six",\n[oops\n')
    make_venv(root / ".venv", ["six==1.16.0"])
    report = check_environment(env_of(root / ".venv"))
    errors = report.to_dict()["input_errors"]
    assert errors and errors[0]["line"] == 4 and "pyproject.toml:4" in errors[0]["message"]
    assert not [f for f in report.findings if f.severity == "error"]


def test_a_module_on_the_kernels_search_path_imports(
    project: Path, isolated_home: Path, tmp_path: Path
) -> None:
    """The kernel's sys.path (outside its environment) is where `import mine` succeeds: not a failure."""
    libs = tmp_path / "libs"
    (libs / "minepkg").mkdir(parents=True)
    (libs / "mine.py").write_text("X = 1\n")
    (libs / "minepkg" / "__init__.py").write_text("")
    env = env_of(project / ".venv")
    names = ["mine", "minepkg", "notanywhere"]
    without = check_environment(env, imports=names).findings
    assert {f.package for f in without if f.code == "undeclared-import"} == {"mine", "minepkg", "notanywhere"}
    found = check_environment(env, imports=names, search_path=[str(libs)]).findings
    assert {f.package for f in found if f.code == "undeclared-import"} == {"notanywhere"}


def test_the_statement_of_a_time_magic_is_read() -> None:
    from envkernels.inspect.imports import imports_in_source

    sites = imports_in_source("%time import numpy\n%timeit -n1 import skipped\n%pip install x\n")
    assert [(s.module, s.line) for s in sites] == [("numpy", 1)]
