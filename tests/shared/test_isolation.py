"""Per-user isolation: every cache and state file lands under the user's own HOME (XDG), and what a
kernel imports code from is never a directory another user could change."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sharedhelpers import cli, listing

from envfactory import make_venv
from envkernels.discovery.probe import environment_from_prefix
from envkernels.kernels.overlay import ensure_overlay, prepared_overlay

USER_PATH_VARS = (
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "ENVKERNELS_CACHE_DIR",
    "ENVKERNELS_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
)


def _user(home: Path) -> dict[str, str]:
    """What a spawner gives one user: their HOME, and no XDG or envkernels path set (empty = unset)."""
    return {"HOME": str(home), **dict.fromkeys(USER_PATH_VARS, "")}


@pytest.fixture
def two_homes(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "ana", tmp_path / "bob"
    a.mkdir()
    b.mkdir()
    return a, b


def test_every_state_file_of_a_user_lands_in_that_users_home(
    two_homes: tuple[Path, Path], team_env: Path, untouched: None, tmp_path: Path, local_index: str
) -> None:
    ana, bob = two_homes
    project = tmp_path / "project"
    env = make_venv(project / ".venv", ["six==1.16.0"])
    (project / "requirements.txt").write_text("six==1.16.0\nidna==3.7\n")
    bob_before = listing(bob)
    tmp_before = set(os.listdir(tmp_path))
    user = {**_user(ana), "UV_INDEX_URL": local_index}
    steps = [
        ("check", str(env), "--json"),
        ("lock", str(env), "-o", str(project / "pylock.toml"), "--no-hashes"),
        ("sync", str(project / "requirements.txt"), "--target", str(env), "--yes"),
        ("fork", "analytics"),
        ("kernels", "hide", str(env)),
        ("history", "--json"),
    ]
    for step in steps:
        out = cli(*step, cwd=project, env=user)
        assert out.returncode in (0, 1), (step, out.stderr)
    # ana's caches, config and forks are in ana's home, by the XDG defaults
    assert (ana / ".cache" / "envkernels").is_dir()
    assert (ana / ".config" / "envkernels").is_dir()
    assert (ana / ".local" / "share" / "envkernels" / "envs" / "analytics-fork" / "pyvenv.cfg").is_file()
    # nothing of bob's changed, nothing new beside the homes and the project
    assert listing(bob) == bob_before
    assert set(os.listdir(tmp_path)) == tmp_before
    # bob sees none of ana's state: no history, no hidden kernel, his own (empty) caches
    mine = json.loads(cli("history", "--json", cwd=project, env=_user(bob)).stdout)
    assert [ln for ln in mine if ln.get("user") == "ana"] == []
    hidden = cli("kernels", "hidden", "--json", env=_user(bob))
    assert json.loads(hidden.stdout) in ([], {})


def test_an_overlay_directory_other_users_can_write_is_refused(
    team_env: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared_cache = tmp_path / "everyone"
    (shared_cache / "overlay").mkdir(parents=True)
    (shared_cache / "overlay").chmod(0o777)  # a cache dir the admin pointed every user at
    monkeypatch.setenv("ENVKERNELS_CACHE_DIR", str(shared_cache))
    with pytest.raises(Exception) as refused:
        ensure_overlay(environment_from_prefix(team_env), dirs=[])
    assert "not private" in str(refused.value) and "writable by other users" in str(refused.value)
    assert "ENVKERNELS_CACHE_DIR" in (getattr(refused.value, "hint", "") or "")
    assert os.listdir(shared_cache / "overlay") == []  # nothing was built there


def test_a_prepared_overlay_others_can_write_is_not_used(tmp_path: Path) -> None:
    good = tmp_path / "good" / "cp312"
    (good / "ipykernel").mkdir(parents=True)
    (good / "ipykernel" / "__init__.py").write_text("")
    bad = tmp_path / "bad" / "cp312"
    shutil.copytree(good, bad)
    for d in (good, bad, good.parent, bad.parent):
        d.chmod(0o755)
    bad.chmod(0o777)
    assert prepared_overlay("cp312", [str(bad.parent), str(good.parent)]) == good
    assert prepared_overlay("cp312", [str(bad.parent)]) is None
