"""Fixtures for the inspection/check tests: real environments made with uv, broken on purpose."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from envfactory import make_venv, uv, venv_python
from envkernels.discovery.probe import environment_from_prefix
from envkernels.inspect import check as check_module
from envkernels.inspect import inventory as inventory_module
from envkernels.model import Environment

CORPUS = Path(__file__).resolve().parent.parent / "data" / "lockfiles"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The lockfile/pyproject copies (tests/data/lockfiles, see SOURCES.md there)."""
    return CORPUS


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    """Each test starts without the in-process memo (the on-disk cache lives under its own HOME)."""
    check_module.forget()
    inventory_module.forget()


def replace_file(path: Path, data: bytes | str) -> None:
    """Give ``path`` new content *as a new file*.

    uv installs by hard-linking files from its cache; writing into an installed file in place
    would change the cached copy (and every environment made from it) too.
    """
    path.unlink()
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def env_of(prefix: str | os.PathLike[str]) -> Environment:
    """The environment record of a prefix, as discovery builds it."""
    return environment_from_prefix(str(prefix))


def run_pip_check(prefix: Path, cwd: Path) -> tuple[int, list[str]]:
    """``python -m pip check`` inside a seeded venv (from an empty cwd: pip puts cwd on sys.path)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")
    }
    proc = subprocess.run(
        [str(venv_python(prefix)), "-m", "pip", "check", "--disable-pip-version-check"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip() and ln != "No broken requirements found."]
    return proc.returncode, lines


_MISSING = re.compile(r"^(\S+) (\S+) requires (\S+), which is not installed\.$")
_CONFLICT = re.compile(r"^(\S+) (\S+) has requirement (.+), but you have (\S+) (\S+)\.$")
_UNSUPPORTED = re.compile(r"^(\S+) (\S+) is not supported on this platform$")


def parse_pip_check(lines: list[str]) -> set[tuple[str, ...]]:
    """pip check's lines as comparable tuples: (kind, package, version, dependency[, installed])."""
    from packaging.utils import canonicalize_name

    out: set[tuple[str, ...]] = set()
    for line in lines:
        if m := _MISSING.match(line):
            out.add(("missing", canonicalize_name(m[1]), m[2], canonicalize_name(m[3])))
        elif m := _CONFLICT.match(line):
            out.add(("conflicting", canonicalize_name(m[1]), m[2], canonicalize_name(m[4]), m[5]))
        elif m := _UNSUPPORTED.match(line):
            out.add(("unsupported", canonicalize_name(m[1]), m[2]))
        else:
            raise AssertionError(f"unexpected pip check line: {line!r}")
    return out


@pytest.fixture(scope="session")
def broken_env(shared_envs: Path) -> Path:
    """A seeded venv (pip inside) made broken with `uv pip install --no-deps` and an uninstall.

    requests with a pre-release urllib3 (which satisfies it: pip checks with pre-releases allowed),
    flask and pytest without their dependencies (pytest's win32/py<3.11 markers must not count),
    idna downgraded below requests' range, certifi removed, and a macOS-only wheel of markupsafe.
    """
    prefix = make_venv(shared_envs / "broken", ["requests==2.32.3", "urllib3==2.0.0a1"], seed=True)
    py = str(venv_python(prefix))
    uv("pip", "install", "--python", py, "--quiet", "--no-deps", "pytest==8.3.4", "flask==3.1.0", "idna==2.0")
    uv("pip", "uninstall", "--python", py, "--quiet", "certifi")
    uv(
        "pip",
        "install",
        "--python",
        py,
        "--quiet",
        "--no-deps",
        "--python-platform",
        "aarch64-apple-darwin",
        "markupsafe==3.0.2",
    )
    return prefix
