"""The conformance suite: envkernels against pip, uv, pipdeptree and pip-licenses on real environments.

Every environment is built once per test run with uv from PyPI (uv's cache is kept), in a session
tmp dir, and only read by the tests (except where a test copies one). What is broken on purpose is
broken by uv itself (``--no-deps``, uninstall, a wheel for another platform) or by *replacing*
files (never writing into an installed file: uv hard-links them from its cache). Every test here
is marked ``conformance`` and ``slow`` (the fast loop ``-m "not slow"`` leaves them out).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conformance_tools import BROKEN, DATA, python311, seeded_venv
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envfactory import uv

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.conformance)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def conformance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


@pytest.fixture(scope="session")
def ds_env(conformance_dir: Path) -> Path:
    """The ~300-distribution data-science + Jupyter stack (pinned in data/ds-stack.txt), pip seeded."""
    prefix = seeded_venv(conformance_dir / "ds-stack")
    # Every distribution is pinned there: no cut-off date needed (uv's differs from the compile's by hours).
    python = str(prefix / "bin" / "python")
    pins = str(DATA / "ds-stack.txt")
    uv("pip", "install", "--quiet", "--python", python, "--only-binary", ":all:", "-r", pins)
    return prefix


@pytest.fixture(scope="session")
def broken_envs(conformance_dir: Path) -> dict[str, Path]:
    """Every environment of BROKEN, built once."""
    out = {}
    for spec in BROKEN:
        prefix = seeded_venv(conformance_dir / spec.name)
        spec.build(prefix)
        out[spec.name] = prefix
    return out


@pytest.fixture(scope="session")
def all_envs(ds_env: Path, broken_envs: dict[str, Path]) -> dict[str, Path]:
    return {"ds-stack": ds_env, **broken_envs}


@pytest.fixture(scope="session")
def tool_venv(conformance_dir: Path) -> Callable[[str], Path]:
    """A venv holding one reference tool (pipdeptree, pip-licenses), made once per tool."""
    made: dict[str, Path] = {}

    def get(requirement: str) -> Path:
        if requirement not in made:
            prefix = conformance_dir / "tools" / canonicalize_name(Requirement(requirement).name)
            uv("venv", str(prefix), "--quiet", "--clear", "--python", python311())
            uv("pip", "install", "--quiet", "--python", str(prefix / "bin" / "python"), requirement)
            made[requirement] = prefix
        return made[requirement]

    return get
