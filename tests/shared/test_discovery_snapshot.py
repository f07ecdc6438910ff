"""The administrator's discovery snapshot of the shared roots: used while true, walked past when not."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from envfactory import make_venv
from envkernels.discovery import snapshot
from envkernels.discovery.context import ScanContext
from envkernels.discovery.scan import clear_cache, discover, scan_roots
from envkernels.shared import shared_roots


def _prefixes(envs: list) -> list[tuple[str, bool]]:  # type: ignore[type-arg]
    return sorted((e.prefix, e.shared) for e in envs)


@pytest.fixture
def team(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A shared root of two venvs and an admin directory holding its snapshot."""
    root = tmp_path / "team"
    make_venv(root / "one")
    make_venv(root / "two")
    monkeypatch.setenv("ENVKERNELS_SHARED_ROOTS", str(root))
    admin = tmp_path / "admin"
    admin.mkdir(mode=0o755)
    ctx = ScanContext()
    snapshot.write(admin, shared_roots(), scan_roots(shared_roots(), ctx), ctx.watched)
    monkeypatch.setenv("ENVKERNELS_OVERLAY_DIRS", str(admin))
    clear_cache()
    return root, admin


def test_a_true_snapshot_answers_for_the_shared_roots(
    team: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _admin = team
    used = snapshot.stats()["used"]
    from_snapshot = discover(default_roots=False, use_cache=False)
    assert snapshot.stats()["used"] == used + 1
    monkeypatch.delenv("ENVKERNELS_OVERLAY_DIRS")
    walked = discover(default_roots=False, use_cache=False)
    assert from_snapshot == walked and _prefixes(walked) == [
        (str(root / "one"), True),
        (str(root / "two"), True),
    ]


def test_a_new_environment_makes_the_snapshot_stale_and_the_walk_finds_it(team: tuple[Path, Path]) -> None:
    root, _admin = team
    make_venv(root / "three")
    stale = snapshot.stats()["stale"]
    envs = discover(default_roots=False, use_cache=False)
    assert snapshot.stats()["stale"] == stale + 1
    assert str(root / "three") in {e.prefix for e in envs}


def test_a_snapshot_others_could_write_or_for_other_roots_is_not_believed(
    team: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, admin = team
    doc = json.loads((admin / "discovery.json").read_text())
    doc["environments"] = []  # a planted snapshot that would hide every shared environment
    (admin / "discovery.json").write_text(json.dumps(doc))
    os.chmod(admin / "discovery.json", 0o666)
    used = snapshot.stats()["used"]
    assert len(discover(default_roots=False, use_cache=False)) == 2
    assert snapshot.stats()["used"] == used
    os.chmod(admin / "discovery.json", 0o644)
    monkeypatch.setenv("ENVKERNELS_SHARED_ROOTS", f"{root}{os.pathsep}{tmp_path / 'other'}")
    assert len(discover(default_roots=False, use_cache=False)) == 2  # made for other roots: walked
    assert snapshot.stats()["used"] == used
