"""uv projects (real `uv sync`), UV_PROJECT_ENVIRONMENT, and uv-managed interpreters (layout)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from discohelpers import by_prefix, fake_base_python, under, write

from envfactory import make_venv, uv
from envkernels.discovery import discover, resolve_target

PYPROJECT = '[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.10"\ndependencies = []\n'


def uv_project(path: Path, env: dict[str, str] | None = None) -> Path:
    """A real uv project: pyproject.toml, then `uv sync` writes uv.lock and the environment."""
    write(path / "pyproject.toml", PYPROJECT.format(name=path.name))
    uv("sync", "--quiet", "--python", sys.executable, cwd=path, env=env)
    return path


def test_uv_project_venv_is_kind_uv_with_project_and_lockfile(isolated_home: Path, tmp_path: Path) -> None:
    project = uv_project(tmp_path / "root" / "myproject")
    env = by_prefix(discover([tmp_path / "root"], default_roots=False), project / ".venv")
    assert env.kind == "uv"
    assert env.name == "myproject"
    assert env.project == str(project.resolve())
    assert env.lockfiles == (str(project.resolve() / "uv.lock"),)
    assert env.id.startswith("uv-myproject-")


def test_uv_project_environment_relative_is_honoured_for_the_cwd_project(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", "build-env")
    uv_project(project)
    assert (project / "build-env" / "pyvenv.cfg").is_file()
    monkeypatch.chdir(project)
    target = resolve_target(None)
    assert target.prefix == str((project / "build-env").resolve())
    assert target.kind == "uv"
    assert target.project == str(project.resolve())
    listed = by_prefix(discover(), project / "build-env")
    assert listed.kind == "uv" and listed.project == str(project.resolve())


def test_uv_project_environment_absolute_path(isolated_home: Path, tmp_path: Path, monkeypatch) -> None:
    project = tmp_path / "proj"
    outside = tmp_path / "envs" / "proj-env"
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", str(outside))
    uv_project(project)
    env = resolve_target(str(project))
    assert env.prefix == str(outside.resolve())
    assert env.kind == "uv"
    assert env.lockfiles == (str(project.resolve() / "uv.lock"),)


def test_uv_managed_interpreters_in_uv_python_dir(isolated_home: Path, tmp_path: Path, monkeypatch) -> None:
    """Layout, not the real thing: `uv python install` downloads from GitHub, out of reach here.

    The directories are what uv writes: ``cpython-<X.Y.Z>[+freethreaded]-<platform>`` prefixes
    (``bin/python3.X``, ``lib/python3.X[t]``), a ``cpython-3.12-<platform>`` minor-version link to
    the patch directory, and its ``.lock``/``.temp``/``.cache`` entries.
    """
    pydir = isolated_home / ".local" / "share" / "uv" / "python"
    fake_base_python(pydir / "cpython-3.12.4-linux-x86_64-gnu", "3.12.4")
    fake_base_python(pydir / "cpython-3.13.0+freethreaded-linux-x86_64-gnu", "3.13.0", free_threaded=True)
    (pydir / "cpython-3.12-linux-x86_64-gnu").symlink_to("cpython-3.12.4-linux-x86_64-gnu")
    (pydir / ".temp").mkdir()
    (pydir / ".cache").mkdir()
    write(pydir / ".lock")
    envs = under(discover(), pydir)
    assert [(e.kind, e.name, e.python_version, e.free_threaded) for e in envs] == [
        ("uv", "cpython-3.12.4-linux-x86_64-gnu", "3.12.4", False),
        ("uv", "cpython-3.13.0+freethreaded-linux-x86_64-gnu", "3.13.0", True),
    ]
    assert all(e.status == "ok" for e in envs)
    # UV_PYTHON_INSTALL_DIR moves `uv python dir`
    other = tmp_path / "pythons"
    fake_base_python(other / "cpython-3.11.9-linux-x86_64-gnu", "3.11.9")
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(other))
    assert [e.python_version for e in under(discover(), other)] == ["3.11.9"]


def test_a_venv_without_a_project_made_by_uv_is_kind_uv(isolated_home: Path, tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "root" / "loose")
    assert by_prefix(discover([tmp_path / "root"], default_roots=False), prefix).kind == "uv"
