"""`envkernels fork`: a personal environment from a shared one's exact lock, with real uv environments."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sharedhelpers import cli

from envfactory import freeze, make_venv
from envkernels._toml import tomllib


def test_fork_makes_a_personal_copy_from_the_exact_lock_registered_as_a_kernel(
    team_env: Path, untouched: None, local_index: str, isolated_home: Path
) -> None:
    out = cli("fork", "analytics", "--json", env={"UV_INDEX_URL": local_index})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    dest = isolated_home / ".local" / "share" / "envkernels" / "envs" / "analytics-fork"
    assert data["environment"]["prefix"] == str(dest)
    assert data["environment"]["shared"] is False and data["source"]["shared"] is True
    assert freeze(dest) == freeze(team_env)
    # made on the shared environment's base interpreter, not on the shared environment itself
    home = next(ln for ln in (dest / "pyvenv.cfg").read_text().splitlines() if ln.startswith("home"))
    assert str(team_env) not in home
    # the lock it was made from: every package pinned with a sha256 from the index, kept in the fork
    lock = tomllib.loads(Path(data["lock"]).read_text())
    assert Path(data["lock"]).parent == dest / ".envkernels"
    assert {p["name"] for p in lock["packages"]} == {"six", "idna"}
    assert all(p["wheels"][0]["hashes"]["sha256"] for p in lock["packages"])
    # (uv checks a pylock's hashes itself: tests/sync/test_hash_mismatch.py)
    # registered as a kernel, and found by discovery (the forks directory is a default place)
    spec = json.loads((Path(data["kernelspec"]) / "kernel.json").read_text())
    assert spec["argv"][0].startswith(str(dest))
    listed = {r["prefix"]: r for r in json.loads(cli("list", "--json").stdout)}
    assert str(dest) in listed and listed[str(dest)]["status"] == "ok"
    # the fork is the user's: sync works on it
    req = isolated_home / "req.txt"
    req.write_text("six==1.16.0\nidna==3.7\n")
    synced = cli("sync", str(req), "--target", str(dest), "--yes", env={"UV_INDEX_URL": local_index})
    assert synced.returncode == 0, synced.stderr


def test_fork_into_a_named_dest_and_an_existing_dest_is_refused(
    team_env: Path, untouched: None, local_index: str, tmp_path: Path
) -> None:
    dest = tmp_path / "mine"
    out = cli("fork", str(team_env), str(dest), env={"UV_INDEX_URL": local_index})
    assert out.returncode == 0, out.stderr
    assert "forked `analytics`" in out.stderr and freeze(dest) == freeze(team_env)
    again = cli("fork", str(team_env), str(dest), env={"UV_INDEX_URL": local_index})
    assert again.returncode == 2
    assert (
        again.stderr.startswith("error: ") and "already exists" in again.stderr and "hint: " in again.stderr
    )


def test_fork_into_the_shared_root_is_refused(team_env: Path, untouched: None, team_root: Path) -> None:
    out = cli("fork", str(team_env), str(team_root / "copy"))
    assert out.returncode == 2
    assert "shared environment root" in out.stderr and "hint: " in out.stderr
    assert not (team_root / "copy").exists()


def test_a_failed_fork_leaves_nothing_behind(
    team_env: Path, untouched: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "mine"
    # the index is a closed port: no hashes, and uv cannot download: the sync fails
    out = cli(
        "fork",
        str(team_env),
        str(dest),
        env={"UV_INDEX_URL": "http://127.0.0.1:9/simple", "UV_OFFLINE": "1", "ENVKERNELS_INDEX_TIMEOUT": "2"},
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(("error: ", "warning: ")) and "error: " in out.stderr
    assert "Traceback" not in out.stderr
    assert not dest.exists()


def test_the_base_python_is_followed_through_a_venv_made_from_a_venv(tmp_path: Path) -> None:
    """Python 3.10 names the venv a venv was made from as its ``home``: a fork must not be built
    on that intermediate venv (nor on the shared environment), but on the Python under both."""
    from envkernels.discovery.probe import environment_from_prefix
    from envkernels.sync.fork import base_python

    outer = make_venv(tmp_path / "outer")
    inner = tmp_path / "inner"
    (inner / "bin").mkdir(parents=True)
    (inner / "bin" / "python").symlink_to(outer / "bin" / "python")
    # the layout 3.10's venv writes when run from outer/bin/python
    (inner / "pyvenv.cfg").write_text(f"home = {outer / 'bin'}\ninclude-system-site-packages = false\n")
    base = base_python(environment_from_prefix(inner))
    assert base is not None and os.access(base, os.X_OK)
    assert str(outer) not in base and str(inner) not in base
    # and that Python is no venv itself (on Python 3.10 `outer` names the test venv as its home)
    assert not (Path(base).parent.parent / "pyvenv.cfg").exists()
