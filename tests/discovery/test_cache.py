"""The discovery cache: answered from memory while nothing watched changed, rescanned on any change.

Every test runs twice: with inotify (armed after the first answer served from the cache) and
with ``ENVKERNELS_NO_INOTIFY`` set (every call checks the recorded signatures with ``stat``).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from discohelpers import fake_conda_env, under, write

from envfactory import make_venv, uv
from envkernels.discovery import discover
from envkernels.discovery.cache import RACY_NS
from envkernels.discovery.scan import cache_stats


def settle() -> None:
    """Wait out the racy window, so the next scan's result may be cached (see cache.py)."""
    time.sleep(RACY_NS / 1e9 * 1.5)


def scans() -> int:
    return cache_stats()["scans"]


@pytest.fixture(autouse=True, params=["inotify", "stat"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the cache checks its entries in this test."""
    if request.param == "stat":
        monkeypatch.setenv("ENVKERNELS_NO_INOTIFY", "1")
    else:
        monkeypatch.delenv("ENVKERNELS_NO_INOTIFY", raising=False)
    return request.param


def cached(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Scan, then serve the same question from the cache twice (the first hit arms inotify)."""
    settle()
    first = discover(*args, **kwargs)
    hits = cache_stats()["hits"]
    assert discover(*args, **kwargs) == first
    assert discover(*args, **kwargs) == first
    assert cache_stats()["hits"] == hits + 2
    return first


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    make_venv(root / "one")
    return root


def test_repeated_calls_are_answered_from_the_cache(isolated_home: Path, root: Path, mode: str) -> None:
    n = scans()
    cached([root], default_roots=False)
    assert scans() == n + 1  # one scan, then hits
    assert cache_stats()["inotify_entries"] == (1 if mode == "inotify" else 0)


def test_creating_and_removing_an_environment_is_seen_by_the_next_call(
    isolated_home: Path, root: Path
) -> None:
    assert [e.name for e in cached([root], default_roots=False)] == ["one"]
    make_venv(root / "two")
    assert [e.name for e in discover([root], default_roots=False)] == ["one", "two"]
    cached([root], default_roots=False)
    shutil.rmtree(root / "one")
    assert [e.name for e in discover([root], default_roots=False)] == ["two"]


def test_a_new_nested_project_env_is_seen(isolated_home: Path, root: Path) -> None:
    cached([root], default_roots=False)
    write(root / "proj" / "pyproject.toml", '[project]\nname = "proj"\n')
    make_venv(root / "proj" / ".venv")
    assert [e.name for e in discover([root], default_roots=False)] == ["one", "proj"]


def test_installing_and_removing_ipykernel_is_seen(isolated_home: Path, root: Path) -> None:
    python = str(root / "one" / "bin" / "python")
    assert not cached([root], default_roots=False)[0].has_ipykernel
    uv("pip", "install", "--quiet", "--python", python, "--no-deps", "ipykernel")
    assert discover([root], default_roots=False)[0].has_ipykernel
    cached([root], default_roots=False)
    uv("pip", "uninstall", "--quiet", "--python", python, "ipykernel")
    assert not discover([root], default_roots=False)[0].has_ipykernel


def test_registry_change_invalidates(isolated_home: Path, tmp_path: Path) -> None:
    env = fake_conda_env(tmp_path / "elsewhere" / "reg")
    registry = write(isolated_home / ".conda" / "environments.txt", "")
    assert under(cached(), tmp_path / "elsewhere") == []
    registry.write_text(f"{env}\n")
    assert [e.name for e in under(discover(), tmp_path / "elsewhere")] == ["reg"]


def test_a_registry_appearing_is_seen(isolated_home: Path, tmp_path: Path) -> None:
    env = fake_conda_env(tmp_path / "elsewhere" / "late")
    assert under(cached(), tmp_path / "elsewhere") == []
    write(isolated_home / ".conda" / "environments.txt", f"{env}\n")
    assert [e.name for e in under(discover(), tmp_path / "elsewhere")] == ["late"]


def test_the_base_interpreter_going_away_is_seen(isolated_home: Path, tmp_path: Path) -> None:
    """A venv's `home` base interpreter removed (e.g. `pyenv uninstall`): its link now dangles."""
    base = tmp_path / "base" / "bin"
    base.mkdir(parents=True)
    (base / "python3").symlink_to(os.path.realpath(sys.executable))
    prefix = make_venv(tmp_path / "root" / "v")
    cfg = (prefix / "pyvenv.cfg").read_text()
    (prefix / "pyvenv.cfg").write_text(re.sub(r"(?m)^home = .*$", f"home = {base}", cfg))
    for link in (prefix / "bin").glob("python*"):
        link.unlink()
    (prefix / "bin" / "python").symlink_to(base / "python3")
    assert cached([tmp_path / "root"], default_roots=False)[0].status == "ok"
    (base / "python3").unlink()
    assert discover([tmp_path / "root"], default_roots=False)[0].status == "broken"


def test_other_roots_or_variables_are_other_questions(
    isolated_home: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    make_venv(other / "x")
    assert [e.name for e in cached([root], default_roots=False)] == ["one"]
    assert [e.name for e in discover([other], default_roots=False)] == ["x"]
    monkeypatch.setenv("ENVKERNELS_ROOTS", str(other))
    assert "x" in [e.name for e in under(discover([root]), tmp_path)]
