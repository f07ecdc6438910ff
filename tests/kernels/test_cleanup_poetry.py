"""Cleanup beside a real poetry project: poetry (from PyPI, in its own venv made with uv) installs
the project into an in-project `.venv`; a stale `python -m venv` copy beside it is judged by
what poetry's setting names and by what each environment holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cleanuphelpers import by_path, chome, cleanup_json, python_m_venv

from envfactory import make_venv, uv

__all__ = ["chome"]  # a fixture, imported for the tests below

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def poetry_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `poetry` command, installed from PyPI into a venv of its own."""
    tool = make_venv(tmp_path_factory.mktemp("poetry-tool") / "venv", ["poetry"])
    return tool / "bin" / "poetry"


def poetry(poetry_bin: Path, project: Path, *args: str) -> str:
    """Run poetry in ``project`` with this test's HOME (its config and cache stay in the tmp dir)."""
    env = {**os.environ, "POETRY_CACHE_DIR": str(project.parent / "poetry-cache")}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [str(poetry_bin), "--no-interaction", *args], cwd=project, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_stale_venv_beside_poetrys_in_project_env_is_judged_by_what_it_holds(
    chome: Path, poetry_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["six==1.16.0"]\n\n[tool.poetry]\npackage-mode = false\n'
    )
    poetry(poetry_bin, proj, "config", "virtualenvs.in-project", "true", "--local")
    poetry(poetry_bin, proj, "env", "use", getattr(sys, "_base_executable", sys.executable))
    poetry(poetry_bin, proj, "install")
    assert (proj / "poetry.toml").is_file() and (proj / "poetry.lock").is_file()
    assert (proj / ".venv" / "pyvenv.cfg").is_file()
    python_m_venv(proj / "venv", ["six==1.16.0"])

    found = by_path(cleanup_json(capsys, "--root", str(tmp_path)))
    assert list(found) == [str(proj / "venv")]
    item = found[str(proj / "venv")]
    assert item["status"] == "proposed", item["detail"]
    assert item["tools"] == ["poetry uses `.venv` (poetry.toml: virtualenvs.in-project)"]

    # Something only the stale copy holds turns it into a decision, and `--apply` leaves it.
    uv("pip", "install", "--python", str(proj / "venv" / "bin" / "python"), "--quiet", "idna==3.7")
    item = by_path(cleanup_json(capsys, "--root", str(tmp_path), "--apply"))[str(proj / "venv")]
    assert item["status"] == "needs-decision" and "idna==3.7" in item["detail"]
    assert (proj / "venv" / "pyvenv.cfg").is_file()
