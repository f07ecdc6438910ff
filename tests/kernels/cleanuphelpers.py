"""Helpers of the cleanup tests: projects made with the real tools, and exact snapshots of trees."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from envfactory import uv
from envkernels.cli import main

PYTHON = sys.executable


def uv_project(project: Path, dependencies: Sequence[str] = (), *, via: str = "sync") -> Path:
    """A uv project: ``pyproject.toml``, then ``uv sync`` (or ``uv run``, which syncs on first use)."""
    project.mkdir(parents=True, exist_ok=True)
    deps = ", ".join(json.dumps(d) for d in dependencies)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{project.name}"\nversion = "0.1"\n'
        f'requires-python = ">=3.10"\ndependencies = [{deps}]\n'
    )
    if via == "run":
        uv("run", "--python", PYTHON, "--quiet", "python", "-c", "pass", cwd=project)
    else:
        uv("sync", "--python", PYTHON, "--quiet", cwd=project)
    return project


def python_m_venv(prefix: Path, packages: Sequence[str] = ()) -> Path:
    """``python -m venv PREFIX`` (seeded with pip), then ``packages`` installed into it."""
    base = getattr(sys, "_base_executable", PYTHON)
    subprocess.run([base, "-m", "venv", str(prefix)], check=True, capture_output=True)
    if packages:
        uv("pip", "install", "--python", str(prefix / "bin" / "python"), "--quiet", *packages)
    return prefix


def tree_snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root``: (type, mode, mtime_ns, sha256 of a file's content or a link's target)."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", st.st_mode, st.st_mtime_ns, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", st.st_mode, st.st_mtime_ns)
            else:
                with open(path, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
                out[rel] = ("file", st.st_mode, st.st_mtime_ns, digest)
    return out


def cleanup_json(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> dict[str, Any]:
    """Run ``envkernels cleanup ... --json`` in-process; assert the exit code; the parsed report."""
    got = main(["cleanup", *argv, "--json"])
    out = capsys.readouterr().out
    assert got == code, out
    return json.loads(out) if out else {}


def by_path(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's leftovers keyed by path."""
    return {item["path"]: item for item in report["leftovers"]}


@pytest.fixture
def chome(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """isolated_home with Jupyter's dirs in it and this test's own envkernels cache (so its own trash)."""
    for var, sub in (
        ("JUPYTER_DATA_DIR", "jupyter-data"),
        ("JUPYTER_CONFIG_DIR", "jupyter-config"),
        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
    ):
        monkeypatch.setenv(var, str(isolated_home / sub))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return isolated_home
