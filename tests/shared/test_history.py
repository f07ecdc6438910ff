"""The audit trail: each sync, fork, cleanup and lock written is one JSON line, read by `history`."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest
from sharedhelpers import cli

from envfactory import make_venv

ME = pwd.getpwuid(os.geteuid()).pw_name


def _trail(*args: str, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    out = cli("history", *args, "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_sync_and_lock_of_a_personal_environment_are_on_its_trail(
    isolated_home: Path, tmp_path: Path, local_index: str
) -> None:
    env = make_venv(tmp_path / "mine", ["six==1.16.0"])
    req = tmp_path / "requirements.txt"
    req.write_text("six==1.16.0\nidna==3.7\n")
    synced = cli("sync", str(req), "--target", str(env), "--yes", env={"UV_INDEX_URL": local_index})
    assert synced.returncode == 0, synced.stderr
    lock = tmp_path / "pylock.toml"
    assert cli("lock", str(env), "-o", str(lock), "--no-hashes").returncode == 0
    lines = _trail(str(env))
    assert [ln["action"] for ln in lines] == ["sync", "lock"]
    sync, locked = lines
    assert sync["user"] == ME and sync["via"] == "cli" and sync["result"] == "applied"
    assert sync["environment"]["prefix"] == str(env) and sync["environment"]["shared"] is False  # type: ignore[index]
    assert [c["name"] for c in sync["plan"]["install"]] == ["idna"]  # type: ignore[index]
    assert locked["path"] == str(lock) and locked["result"] == "written" and locked["packages"] == 2
    # the trail lives with the environment, and the table says the same
    assert (env / ".envkernels" / "history.jsonl").is_file()
    table = cli("history", str(env))
    assert (
        table.returncode == 0 and "sync" in table.stdout and "applied" in table.stdout and ME in table.stdout
    )


def test_fork_and_lock_of_a_shared_environment_go_to_the_server_wide_log(
    team_env: Path, untouched: None, tmp_path: Path, local_index: str, isolated_home: Path
) -> None:
    log = tmp_path / "hub-history.jsonl"
    env = {"ENVKERNELS_HISTORY_LOG": str(log), "UV_INDEX_URL": local_index}
    dest = tmp_path / "mine"
    assert cli("fork", "analytics", str(dest), env=env).returncode == 0
    work = tmp_path / "work" / "pylock.toml"
    assert cli("lock", "analytics", "-o", str(work), "--no-hashes", env=env).returncode == 0
    shared_lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(ln["action"], ln["result"]) for ln in shared_lines] == [("fork", "created"), ("lock", "written")]
    assert all(ln["environment"] == shared_lines[0]["environment"] for ln in shared_lines)
    assert (
        shared_lines[0]["environment"]["prefix"] == str(team_env) and shared_lines[0]["environment"]["shared"]
    )
    assert shared_lines[0]["dest"] == str(dest) and shared_lines[0]["plan"]["install"]
    # the fork's own trail: the fork, then the sync that filled it
    own = _trail(str(dest), env=env)
    assert sorted(ln["action"] for ln in own) == ["fork", "sync"]
    fork_line = next(ln for ln in own if ln["action"] == "fork")
    assert fork_line["source"]["prefix"] == str(team_env)  # type: ignore[index]
    # the shared environment's trail is the server-wide log's lines about it
    assert [ln["action"] for ln in _trail(str(team_env), env=env)] == ["fork", "lock"]
    everything = _trail("--root", str(tmp_path), env=env)
    assert {ln["action"] for ln in everything} >= {"fork", "lock", "sync"}


def test_a_server_wide_log_that_cannot_be_written_is_a_warning_not_a_failure(
    team_env: Path, untouched: None, tmp_path: Path
) -> None:
    work = tmp_path / "work" / "pylock.toml"
    out = cli(
        "lock",
        "analytics",
        "-o",
        str(work),
        "--no-hashes",
        env={"ENVKERNELS_HISTORY_LOG": "/nonexistent/dir/log"},
    )
    assert out.returncode == 0, out.stderr
    assert work.is_file() and "warning: the lock was not recorded" in out.stderr


def test_cleanup_and_its_undo_are_on_the_trail(isolated_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    gone = make_venv(root / "old")
    (gone / "bin" / "python").unlink()
    (gone / "bin" / "python").symlink_to("/nonexistent/python3")
    applied = cli("cleanup", "--root", str(root), "--apply", "--json")
    assert applied.returncode == 0, applied.stderr
    trash_id = json.loads(applied.stdout)["trash_id"]
    assert not gone.exists()
    lines = [ln for ln in _trail() if ln["environment"]["prefix"] == str(gone)]  # type: ignore[index]
    moved = [(ln["action"], ln["result"], ln["trash_id"]) for ln in lines]
    assert moved == [("cleanup", "moved-to-trash", trash_id)]
    assert lines[0]["user"] == ME and "undo" in json.dumps(lines[0]["plan"])
    assert cli("cleanup", "--undo", trash_id).returncode == 0
    actions = [ln["action"] for ln in _trail(str(gone))]
    assert actions == ["cleanup", "cleanup-undo"]


@pytest.mark.parametrize("target", ["nope-not-an-env"])
def test_history_of_an_unknown_target_is_an_error_with_a_hint(isolated_home: Path, target: str) -> None:
    out = cli("history", target)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "hint: " in out.stderr


def test_a_lock_written_from_a_kernel_is_on_the_trail_as_via_kernel(
    isolated_home: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    env = make_venv(tmp_path / "mine", ["six==1.16.0"])
    request = {
        "id": 1,
        "op": "lock",
        "args": {"output": "pylock.toml", "hashes": False},
        "facts": {"prefix": str(env), "cwd": str(tmp_path)},
    }
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels.worker"],
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[-1])["ok"], proc.stdout + proc.stderr
    (line,) = _trail(str(env))
    assert (line["action"], line["via"], line["user"], line["path"]) == (
        "lock",
        "kernel",
        ME,
        str(tmp_path / "pylock.toml"),
    )
