"""Sync plans against `uv pip sync --dry-run`, on venvs made the way each tool makes them.

Kinds: uv (with and without ``--seed``), ``python -m venv`` (Python 3.11 seeds pip and setuptools,
3.12 seeds pip only), virtualenv, poetry (``poetry install``, a cache venv) and pipenv (``pipenv
install``); the tools come from PyPI into venvs of their own. For each environment and each lock,
our plan's changes must equal uv's as a set of (name, old version, new version). Then one lock is
applied with ``envkernels sync --yes``: what it reports and records must be what uv planned, the
next dry run (ours and uv's) must be empty, and the snapshot must restore the environment exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from uv_dry_run import Change, uv_dry_run

from envfactory import freeze, make_venv
from envkernels.discovery.probe import environment_from_prefix
from envkernels.sync.history import read_history
from envkernels.sync.plan import SyncPlan, plan_sync

pytestmark = [pytest.mark.conformance, pytest.mark.slow]

PINS = ("six==1.16.0", "idna==3.7")
PY = sys.executable
PY312 = "/root/.pyenv/versions/3.12.1/bin/python"
PY_MM = f"{sys.version_info[0]}.{sys.version_info[1]}"

# Locks (pinned requirements) that each exercise one part of the plan against what is installed.
LOCKS = {
    "same": "six==1.16.0\nidna==3.7\n",  # only the seed packages can differ
    "drift": "six==1.15.0\ncertifi==2024.2.2\n",  # downgrade, install, remove
    "pins-pip": "six==1.16.0\nidna==3.7\npip==24.0\n",  # a seed package the lock names
    "pins-setuptools": "six==1.16.0\nsetuptools==70.0.0\nwheel==0.43.0\n",
}


def _run(
    argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    full.update(env or {})
    proc = subprocess.run(argv, cwd=cwd, env=full, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def tool_bin(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tool_bin("poetry")``: that tool's executable, from PyPI into a venv of its own (once a session)."""
    root = tmp_path_factory.mktemp("sync-tools")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            prefix = make_venv(root / name, [name])
            made[name] = prefix / "bin" / name
        return made[name]

    return get


def _pip_venv(python: str, prefix: Path, extra: tuple[str, ...] = ()) -> Path:
    """``python -m venv``, then pip installs into it, as a user of the standard library does."""
    _run([python, "-m", "venv", str(prefix)])
    _run([str(prefix / "bin" / "python"), "-m", "pip", "install", "-q", *PINS, *extra])
    return prefix


def _poetry_env(tool_bin: Callable[[str], Path], where: Path) -> Path:
    proj = where / "poe"
    proj.mkdir(parents=True)
    deps = ", ".join(f'"{p}"' for p in PINS)
    (proj / "pyproject.toml").write_text(
        f'[project]\nname = "poe"\nversion = "0.1.0"\nrequires-python = ">={PY_MM}"\n'
        f"dependencies = [{deps}]\n[tool.poetry]\npackage-mode = false\n"
    )
    poetry = str(tool_bin("poetry"))
    _run([poetry, "env", "use", PY], proj)
    _run([poetry, "install", "--no-interaction"], proj)
    return Path(_run([poetry, "env", "info", "--path"], proj).stdout.strip())


def _pipenv_env(tool_bin: Callable[[str], Path], where: Path) -> Path:
    proj = where / "pipe"
    proj.mkdir(parents=True)
    pkgs = "".join(f'{p.split("==")[0]} = "=={p.split("==")[1]}"\n' for p in PINS)
    (proj / "Pipfile").write_text(f'[packages]\n{pkgs}\n[requires]\npython_version = "{PY_MM}"\n')
    pipenv = str(tool_bin("pipenv"))
    _run([pipenv, "install", "--python", PY], proj, {"PIPENV_YES": "1", "PIPENV_NOSPIN": "1"})
    return Path(_run([pipenv, "--venv"], proj, {"PIPENV_NOSPIN": "1"}).stdout.strip())


def _make(kind: str, where: Path, tool_bin: Callable[[str], Path]) -> Path:
    if kind == "uv":
        return make_venv(where / "env", PINS)
    if kind == "uv-seed":
        return make_venv(where / "env", PINS, seed=True)
    if kind == "venv":
        return _pip_venv(PY, where / "env", ("wheel",))
    if kind == "venv-3.12":
        if not os.path.exists(PY312):
            pytest.skip(f"no Python 3.12 at {PY312}")
        return _pip_venv(PY312, where / "env", ("setuptools", "wheel"))
    if kind == "virtualenv":
        prefix = where / "env"
        _run([str(tool_bin("virtualenv")), "--python", PY, str(prefix)])
        _run([str(prefix / "bin" / "python"), "-m", "pip", "install", "-q", *PINS])
        return prefix
    if kind == "poetry":
        return _poetry_env(tool_bin, where)
    assert kind == "pipenv"
    return _pipenv_env(tool_bin, where)


def _ours(plan: SyncPlan) -> set[Change]:
    return {(canonicalize_name(c.name), c.old, c.new) for c in plan.changes}


def _keyed(changes: list[dict[str, str | None]]) -> set[Change]:
    return {(canonicalize_name(str(c["name"])), c["from"], c["to"]) for c in changes}


@pytest.mark.parametrize("kind", ["uv", "uv-seed", "venv", "venv-3.12", "virtualenv", "poetry", "pipenv"])
def test_plan_equals_uv_pip_sync_dry_run_and_sync_reports_what_uv_did(
    kind: str, tool_bin: Callable[[str], Path], tmp_path: Path, isolated_home: Path
) -> None:
    prefix = _make(kind, tmp_path, tool_bin)
    env = environment_from_prefix(prefix)
    assert env.status == "ok", env
    locks = {}
    for name, text in LOCKS.items():
        locks[name] = tmp_path / f"{name}.txt"
        locks[name].write_text(text)
    seen_seed = False
    for name, lock in locks.items():
        theirs = uv_dry_run(lock, prefix)
        ours = _ours(plan_sync(lock, env))
        assert ours == theirs, f"{kind}, lock {name!r}: ours - uv {ours - theirs}, uv - ours {theirs - ours}"
        seen_seed = seen_seed or any(n in {"pip", "setuptools", "wheel"} for n, _o, _n in theirs)
    # Every environment here has a seed package that some lock touches: the comparison covered them.
    assert seen_seed

    original = freeze(prefix)
    planned = uv_dry_run(locks["drift"], prefix)
    applied = _run(
        [PY, "-m", "envkernels", "sync", str(locks["drift"]), "--target", str(prefix), "--yes", "--json"]
    )
    result = json.loads(applied.stdout)
    assert result["applied"] is True and result["warnings"] == []
    assert _keyed(result["changes"]) == planned
    assert f"({len(planned)} changes)" in applied.stderr
    record = read_history(env)[-1]
    assert record["result"] == "applied" and _keyed(record["changes"]) == planned
    # The environment now matches the lock: neither we nor uv plan anything more.
    assert plan_sync(locks["drift"], env).is_empty
    assert uv_dry_run(locks["drift"], prefix) == set()
    undo = _run([PY, "-m", "envkernels", "sync", result["snapshot"], "--target", str(prefix), "--yes"])
    assert "synced" in undo.stderr
    assert freeze(prefix) == original


def test_uv_dry_run_output_is_read_as_changes() -> None:
    """The reader of uv's output itself, on the lines uv prints (a replaced distribution has both)."""
    from uv_dry_run import parse_dry_run

    text = (
        "Using Python 3.11.7 environment at: env\nResolved 2 packages in 5ms\nWould uninstall 2 packages\n"
        "Would install 2 packages\n - Idna==3.7\n + certifi==2024.2.2\n - six==1.16.0\n + six==1.15.0\n"
    )
    assert parse_dry_run(text) == {
        ("idna", "3.7", None),
        ("certifi", None, "2024.2.2"),
        ("six", "1.16.0", "1.15.0"),
    }
