"""pyenv versions and system interpreters on PATH.

pyenv: a layout under a tmp ``PYENV_ROOT`` (``pyenv install`` compiles CPython from a download,
out of reach here): ``versions/<v>`` prefixes as CPython's ``make install`` lays them out, and a
pyenv-virtualenv environment (a real venv) at ``versions/<v>/envs/<name>`` with its
``versions/<name>`` alias symlink. System: real interpreters (links to the running one) on PATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from discohelpers import by_prefix, fake_base_python, under, write

from envfactory import make_venv
from envkernels.discovery import discover


def test_pyenv_versions_free_threaded_pypy_and_virtualenv_alias(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pyenv"
    versions = root / "versions"
    fake_base_python(versions / "3.12.1", "3.12.1")
    fake_base_python(versions / "3.13.0t", "3.13.0", free_threaded=True)
    pypy = versions / "pypy3.10-7.3.17"
    (pypy / "bin").mkdir(parents=True)
    (pypy / "bin" / "pypy3.10").symlink_to(sys.executable)
    (pypy / "bin" / "python").symlink_to("pypy3.10")
    (pypy / "lib" / "pypy3.10" / "site-packages").mkdir(parents=True)
    venv = versions / "3.12.1" / "envs" / "science"  # pyenv-virtualenv runs `python -m venv`
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (versions / "science").symlink_to(venv)
    monkeypatch.setenv("PYENV_ROOT", str(root))
    envs = under(discover(), root)
    got = sorted((e.kind, e.name, e.python_version, e.implementation, e.free_threaded) for e in envs)
    version = ".".join(map(str, sys.version_info[:3]))
    assert got == [
        ("pyenv", "3.12.1", "3.12.1", "cpython", False),
        ("pyenv", "3.13.0t", "3.13.0", "cpython", True),
        ("pyenv", "pypy3.10-7.3.17", "3.10", "pypy", False),
        ("pyenv", "science", version, "cpython", False),
    ]
    ft = by_prefix(envs, versions / "3.13.0t")
    assert ft.python == os.path.join(ft.prefix, "bin", "python3")  # the link in the prefix, not its target


def test_a_version_that_is_a_symlink_to_a_python_elsewhere_is_listed(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``versions/3.11 -> /opt/python/3.11`` is a version; pyenv-virtualenv's alias stays one record."""
    elsewhere = fake_base_python(tmp_path / "opt" / "python" / "3.11", "3.11.9")
    versions = tmp_path / "pyenv" / "versions"
    fake_base_python(versions / "3.12.1", "3.12.1")
    (versions / "3.11").symlink_to(elsewhere)
    venv = versions / "3.12.1" / "envs" / "science"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (versions / "science").symlink_to(venv)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    envs = [e for e in discover() if e.kind == "pyenv"]
    assert sorted((e.name, e.prefix) for e in envs) == [
        ("3.11", str(elsewhere.resolve())),
        ("3.12.1", str((versions / "3.12.1").resolve())),
        ("science", str(venv.resolve())),
    ]
    assert by_prefix(envs, elsewhere).python_version == "3.11.9" and by_prefix(envs, elsewhere).ok


def test_default_pyenv_root_is_under_home(isolated_home: Path) -> None:
    fake_base_python(isolated_home / ".pyenv" / "versions" / "3.12.4", "3.12.4")
    assert [(e.kind, e.name) for e in under(discover(), isolated_home)] == [("pyenv", "3.12.4")]


def test_interpreters_on_path_are_deduplicated_by_real_path(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = fake_base_python(tmp_path / "opt" / "py312", "3.12.4", own_binary=True)
    bin1, bin2 = tmp_path / "bin1", tmp_path / "bin2"
    bin1.mkdir()
    bin2.mkdir()
    (bin1 / "python3").symlink_to(base / "bin" / "python3.12")
    (bin1 / "python3.12").symlink_to(base / "bin" / "python3.12")
    (bin2 / "python").symlink_to(base / "bin" / "python3.12")
    shims = tmp_path / "pyenv" / "shims"
    write(shims / "python", '#!/bin/sh\nexec pyenv exec python "$@"\n').chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin1), str(bin2), str(shims)]))
    envs = under(discover(), tmp_path)
    assert [(e.kind, e.prefix, e.python_version) for e in envs] == [("system", str(base.resolve()), "3.12.4")]


def test_a_venv_bin_on_path_stands_for_the_venv(isolated_home: Path, tmp_path: Path, monkeypatch) -> None:
    venv = make_venv(tmp_path / "active")
    monkeypatch.setenv("PATH", str(venv / "bin"))
    assert [(e.kind, e.prefix) for e in under(discover(), tmp_path)] == [("uv", str(venv.resolve()))]


def test_the_running_interpreter_is_listed(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    prefixes = {e.prefix for e in discover()}
    assert os.path.realpath(sys.prefix) in prefixes
