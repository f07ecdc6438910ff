"""`envkernels cleanup --apply` moves environments into a trash; `--undo` puts them back exactly.

Real uv environments in tmp dirs; the kill test runs the CLI as a process and SIGKILLs it between
two moves (the trash's test pause holds it there).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from cleanuphelpers import by_path, chome, cleanup_json, tree_snapshot

from envfactory import make_venv
from envkernels.cli import main
from envkernels.kernels.trash import PAUSE_VARIABLE

__all__ = ["chome"]  # a fixture, imported for the tests below


def gone_env(prefix: Path) -> Path:
    """A real environment with files in it, whose interpreter is then removed (a leftover)."""
    make_venv(prefix, ["six==1.16.0"])
    (prefix / "bin" / "python").unlink()
    (prefix / "notes.txt").write_text("kept exactly\n")
    os.chmod(prefix / "notes.txt", 0o640)
    (prefix / "link-to-notes").symlink_to("notes.txt")
    return prefix


def trash_root(home: Path) -> Path:
    return home / ".cache" / "envkernels" / "trash"


def test_undo_puts_back_every_file_with_its_mode_and_content(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = gone_env(tmp_path / "root" / "old-env")
    before = tree_snapshot(env)
    assert len(before) > 20
    report = cleanup_json(capsys, "--root", str(tmp_path / "root"), "--apply")
    assert report["moved"] == [str(env)] and not env.exists()
    entry = trash_root(chome) / report["trash_id"]
    assert tree_snapshot(entry / "items" / "0") == before
    assert main(["cleanup", "--undo"]) == 0
    assert f"restored `{env}`" in capsys.readouterr().err
    assert tree_snapshot(env) == before
    assert not entry.exists()  # nothing left in the trash for it
    history = [json.loads(line) for line in (trash_root(chome) / "history.jsonl").read_text().splitlines()]
    actions = [(r["action"], r["id"]) for r in history]
    assert actions == [("apply", report["trash_id"]), ("undo", report["trash_id"])]


def test_sigkill_between_moves_leaves_each_environment_whole_and_undo_restores_all(
    chome: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    envs = [gone_env(root / "old" / name) for name in ("a", "b", "c")]
    before = {env: tree_snapshot(env) for env in envs}
    proc = subprocess.Popen(
        [sys.executable, "-m", "envkernels", "cleanup", "--root", str(root), "--apply"],
        env={**os.environ, PAUSE_VARIABLE: "120"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    moved: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        moved = list(trash_root(chome).glob("*/items/*"))
        if moved:
            break
        time.sleep(0.05)
    assert moved, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)  # held by the pause after its first move, before the second
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    (entry,) = [d for d in trash_root(chome).iterdir() if d.is_dir()]
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["state"] == "moving" and len(manifest["items"]) == 3
    in_trash = {item["original"]: entry / "items" / item["stored"] for item in manifest["items"]}
    wholly_moved = 0
    for env in envs:
        stored = in_trash[str(env)]
        if stored.exists():
            assert not env.exists() and tree_snapshot(stored) == before[env]
            wholly_moved += 1
        else:
            assert tree_snapshot(env) == before[env]
    assert wholly_moved == 1
    assert main(["cleanup", "--trash"]) == 0
    assert main(["cleanup", "--undo", manifest["id"]]) == 0
    assert all(tree_snapshot(env) == before[env] for env in envs)


def _backdate(entry: Path, days: int) -> None:
    """Make a trash entry look ``days`` old (its manifest's `created`, which is what the age is read from)."""
    manifest = json.loads((entry / "manifest.json").read_text())
    created = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    manifest["created"] = created.isoformat()
    (entry / "manifest.json").unlink()
    (entry / "manifest.json").write_text(json.dumps(manifest))


def test_empty_trash_older_than_frees_only_old_cleanups(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = gone_env(tmp_path / "r1" / "old")
    second = gone_env(tmp_path / "r2" / "old")
    old_id = cleanup_json(capsys, "--root", str(first.parent), "--apply")["trash_id"]
    new_id = cleanup_json(capsys, "--root", str(second.parent), "--apply")["trash_id"]
    _backdate(trash_root(chome) / old_id, 10)
    report = cleanup_json(capsys, "--empty-trash", "--older-than", "5")
    assert [e["id"] for e in report["removed"]] == [old_id] and report["freed"] > 0
    assert not (trash_root(chome) / old_id).exists() and (trash_root(chome) / new_id).is_dir()
    listed: Any = cleanup_json(capsys, "--trash")
    assert [e["id"] for e in listed] == [new_id] and listed[0]["items"][0]["in_trash"]
    assert main(["cleanup", "--empty-trash"]) == 0
    assert "deleted 1 cleanup(s)" in capsys.readouterr().err
    assert not (trash_root(chome) / new_id).exists()
    assert main(["cleanup", "--undo"]) == 2  # nothing left to undo
    assert capsys.readouterr().err.startswith("error: the cleanup trash is empty")


def test_undo_changes_nothing_when_an_original_path_is_taken_again(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = gone_env(tmp_path / "root" / "old")
    trash_id = cleanup_json(capsys, "--root", str(env.parent), "--apply")["trash_id"]
    env.mkdir()
    (env / "new-work.txt").write_text("mine")
    assert main(["cleanup", "--undo", trash_id]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"error: `{env}` exists again")
    assert (env / "new-work.txt").read_text() == "mine"
    assert (trash_root(chome) / trash_id / "items" / "0" / "pyvenv.cfg").is_file()
    assert main(["cleanup", "--undo", "no-such-id"]) == 2
    assert "hint: `envkernels cleanup --trash`" in capsys.readouterr().err


def test_an_environment_on_another_filesystem_than_the_trash_is_refused_untouched(
    chome: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or not os.access(other, os.W_OK) or other.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second writable filesystem (/dev/shm)")
    cache = other / f"envk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("ENVKERNELS_CACHE_DIR", str(cache))
    try:
        env = gone_env(tmp_path / "root" / "old")
        before = tree_snapshot(env)
        assert main(["cleanup", "--root", str(env.parent), "--apply"]) == 2
        captured = capsys.readouterr()
        assert "another filesystem" in captured.err and "hint: set `ENVKERNELS_CACHE_DIR`" in captured.err
        assert tree_snapshot(env) == before
        assert not list((cache / "trash").glob("*/items/*"))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_older_than_without_empty_trash_is_a_usage_error(
    chome: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cleanup", "--older-than", "3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: `--older-than` goes with `--empty-trash`")


def test_a_gone_interpreter_env_lists_what_only_it_holds(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = gone_env(tmp_path / "root" / "old")
    item = by_path(cleanup_json(capsys, "--root", str(env.parent)))[str(env)]
    assert item["reason"] == "interpreter-gone" and item["only_here"] == ["six==1.16.0"]


def test_undo_without_an_id_puts_back_the_last_cleanup_only(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = gone_env(tmp_path / "r1" / "old")
    second = gone_env(tmp_path / "r2" / "old")
    cleanup_json(capsys, "--root", str(first.parent), "--apply")
    cleanup_json(capsys, "--root", str(second.parent), "--apply")  # within the same second, often
    assert main(["cleanup", "--undo"]) == 0
    assert second.is_dir() and not first.exists()
    assert main(["cleanup", "--undo"]) == 0
    assert first.is_dir()


def test_what_is_in_the_trash_is_never_listed_again_when_the_cache_lies_under_a_root(
    chome: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = gone_env(chome / "work" / "old")  # the cache is `<home>/.cache/envkernels`, under the root
    trash_id = cleanup_json(capsys, "--root", str(chome), "--apply")["trash_id"]
    assert (trash_root(chome) / trash_id / "items" / "0" / "pyvenv.cfg").is_file()
    report = cleanup_json(capsys, "--root", str(chome), "--apply")
    assert report["leftovers"] == [] and report["moved"] == []
    assert main(["cleanup", "--undo", trash_id]) == 0 and env.is_dir()
