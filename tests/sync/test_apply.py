"""apply_sync through real uv: snapshots, history, restore on failure, one sync at a time, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envfactory import freeze, make_venv
from envkernels.core.atomic import file_lock
from envkernels.discovery.probe import environment_from_prefix
from envkernels.errors import ConflictError
from envkernels.sync import SyncFailedError, apply_sync, plan_sync
from envkernels.sync.history import read_history


def _drifted(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "env", ["six==1.15.0", "idna==3.6", "attrs==23.2.0"], no_deps=True)


def test_apply_makes_the_env_match_the_lock_and_the_snapshot_restores_it(
    small_env: Path, small_lock: Path, tmp_path: Path, isolated_home: Path
) -> None:
    prefix = _drifted(tmp_path)
    original = freeze(prefix)
    env = environment_from_prefix(prefix)
    result = apply_sync(plan_sync(small_lock, env), env, lock_path=str(small_lock))
    assert result.applied and freeze(prefix) == freeze(small_env)
    assert sorted(result.restart_needed) == ["attrs", "idna", "six"]
    assert {"six", "idna", "attr", "attrs"} <= set(result.changed_modules)
    assert result.snapshot and result.snapshot.startswith(str(prefix / ".envkernels" / "snapshots"))
    [record] = read_history(env)
    assert record["result"] == "applied" and record["lock"] == str(small_lock)
    assert {"name": "six", "from": "1.15.0", "to": "1.16.0"} in record["plan"]["upgrade"]
    assert record["who"] and record["when"]
    # The snapshot is a pylock of the state before; syncing to it restores that state exactly.
    undo = apply_sync(plan_sync(result.snapshot, env), env, lock_path=result.snapshot)
    assert undo.applied and freeze(prefix) == original
    assert len(read_history(env)) == 2


def test_applying_an_empty_plan_runs_nothing(
    small_env: Path, small_lock: Path, tmp_path: Path, isolated_home: Path
) -> None:
    prefix = make_venv(tmp_path / "same", ["six==1.16.0", "idna==3.7"])
    env = environment_from_prefix(prefix)
    result = apply_sync(plan_sync(small_lock, env), env, lock_path=str(small_lock))
    assert not result.applied and result.snapshot is None and read_history(env) == []


def test_hash_mismatch_fails_and_the_environment_is_restored(
    small_lock: Path, tmp_path: Path, isolated_home: Path
) -> None:
    prefix = _drifted(tmp_path)
    original = freeze(prefix)
    text = small_lock.read_text()
    bad = tmp_path / "pylock.toml"
    first_hash = text.split('sha256 = "', 1)[1][:64]
    bad.write_text(text.replace(first_hash, "0" * 64))
    env = environment_from_prefix(prefix)
    with pytest.raises(SyncFailedError) as info:
        apply_sync(plan_sync(bad, env), env, lock_path=str(bad))
    assert info.value.restored and "restored from the snapshot" in info.value.message
    assert "hash" in info.value.stderr.lower()
    assert freeze(prefix) == original
    assert read_history(env)[-1]["result"] == "failed-restored"


def test_requirements_lock_with_hashes_is_applied_hash_checked(
    small_env: Path, small_lock: Path, tmp_path: Path, local_index: str, isolated_home: Path
) -> None:
    from envkernels.lockfiles import read_lock

    lock = read_lock(small_lock)
    lines = [
        f"{p.name}=={p.version} " + " ".join(f"--hash=sha256:{d}" for a in p.artifacts for _, d in a.hashes)
        for p in lock.packages
    ]
    req = tmp_path / "requirements.txt"
    req.write_text("\n".join(lines) + "\n")
    prefix = _drifted(tmp_path)
    env = environment_from_prefix(prefix)
    result = apply_sync(plan_sync(req, env), env, lock_path=str(req))
    assert "--require-hashes" in result.argv
    assert freeze(prefix) == freeze(small_env)


def test_second_sync_of_one_environment_is_a_conflict(
    small_lock: Path, tmp_path: Path, isolated_home: Path
) -> None:
    prefix = _drifted(tmp_path)
    env = environment_from_prefix(prefix)
    plan = plan_sync(small_lock, env)
    with file_lock(env.prefix, what="sync"), pytest.raises(ConflictError, match="another envkernels sync"):
        apply_sync(plan, env, lock_path=str(small_lock))


def _cli(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kw,
    )  # type: ignore[call-overload]


def test_sync_killed_with_sigkill_midway_is_restored_exactly_from_its_snapshot(
    small_lock: Path, tmp_path: Path, isolated_home: Path
) -> None:
    prefix = _drifted(tmp_path)
    original = freeze(prefix)
    pending = prefix / ".envkernels" / "pending.json"
    site = next(prefix.glob("lib/python*/site-packages"))
    before = set(os.listdir(site))
    proc = subprocess.Popen(
        [sys.executable, "-m", "envkernels", "sync", str(small_lock), "--target", str(prefix), "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    # Kill the whole process group (envkernels and its uv) as soon as uv starts changing site-packages.
    while time.monotonic() < deadline and proc.poll() is None:
        if pending.exists() and set(os.listdir(site)) != before:
            break
        time.sleep(0.001)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert pending.exists(), "the sync had not started uv when it was killed"
    snapshot = json.loads(pending.read_text())["snapshot"]
    # The next sync says one was interrupted; restoring from the snapshot gives back the exact state.
    restored = _cli("sync", snapshot, "--target", str(prefix), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert "was interrupted" in restored.stderr
    assert freeze(prefix) == original
    assert not pending.exists()


def test_cli_sync_is_a_dry_run_by_default_and_json_has_the_plan(
    small_lock: Path, tmp_path: Path, isolated_home: Path
) -> None:
    prefix = _drifted(tmp_path)
    original = freeze(prefix)
    dry = _cli("sync", str(small_lock), "--target", str(prefix))
    assert dry.returncode == 0 and "^ six 1.15.0 -> 1.16.0" in dry.stdout and "dry run" in dry.stderr
    as_json = _cli("sync", str(small_lock), "--target", str(prefix), "--json")
    assert json.loads(as_json.stdout)["remove"] == [{"name": "attrs", "from": "23.2.0", "to": None}]
    assert freeze(prefix) == original
    applied = _cli("sync", str(small_lock), "--target", str(prefix), "--yes", "--json")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["applied"] is True and "undo with" in applied.stderr


def test_cli_sync_of_a_corrupted_lock_is_one_error_with_a_hint(tmp_path: Path, small_env: Path) -> None:
    bad = tmp_path / "poetry.lock"
    bad.write_text('[[package]]\nname = "six"\nversion = \n')
    out = _cli("sync", str(bad), "--target", str(small_env))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and f"{bad}:3" in lines[0] and lines[1].startswith("hint: ")
    assert "Traceback" not in out.stderr


def test_sync_notebook_create_builds_an_env_beside_it_and_installs_a_kernel(
    small_env: Path, local_index: str, tmp_path: Path, isolated_home: Path
) -> None:
    import nbformat

    nb = tmp_path / "study.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(nb))
    locked = _cli("lock", str(small_env), "--notebook", str(nb), "--index-url", local_index)
    assert locked.returncode == 0, locked.stderr
    created = _cli("sync", str(nb), "--create", "--json")
    assert created.returncode == 0, created.stderr
    data = json.loads(created.stdout)
    assert data["environment"]["prefix"] == str(tmp_path / "study.venv")
    assert freeze(tmp_path / "study.venv") == freeze(small_env)
    assert data["kernelspec"] or data["kernel_note"]
    if data["kernelspec"]:
        spec = json.loads((Path(data["kernelspec"]) / "kernel.json").read_text())
        assert str(tmp_path / "study.venv") in json.dumps(spec)


def test_uv_lock_of_a_real_project_syncs_another_env_hash_checked(
    tmp_path: Path, isolated_home: Path
) -> None:
    from envfactory import uv

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["six==1.16.0", "idna==3.7"]\n'
    )
    uv("lock", "--quiet", "--python", sys.executable, cwd=proj)
    prefix = _drifted(tmp_path)
    env = environment_from_prefix(prefix)
    plan = plan_sync(proj / "uv.lock", env)
    assert "proj" not in {c.name for c in plan.changes}  # the virtual project root is not installed
    result = apply_sync(plan, env, lock_path=str(proj / "uv.lock"))
    assert "--require-hashes" in result.argv
    assert freeze(prefix).split() == ["idna==3.7", "six==1.16.0"]


def test_a_sync_reports_and_records_what_uv_did_not_what_was_planned(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan that is wrong (here made to forget that uv keeps seed packages) cannot make the sync lie."""
    import envkernels.sync.plan as plan_module

    prefix = make_venv(tmp_path / "seeded", ["six==1.15.0"], seed=True)
    seeds = {line.split("==")[0] for line in freeze(prefix).split()} & {"pip", "setuptools", "wheel"}
    assert "pip" in seeds
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n")
    monkeypatch.setattr(plan_module, "kept_by_uv", lambda prefix, python: frozenset())
    env = environment_from_prefix(prefix)
    plan = plan_sync(lock, env)
    assert seeds <= {c.name for c in plan.remove}  # the wrong plan
    # What uv does: everything planned except removing the seed packages.
    truth = [c.to_dict() for c in plan.changes if c.name not in seeds]
    assert {"name": "six", "from": "1.15.0", "to": "1.16.0"} in truth
    result = apply_sync(plan, env, lock_path=str(lock))
    assert [c.to_dict() for c in result.changes] == truth
    assert f"({len(truth)} change" in result.summary()
    assert sorted(w.split()[3] for w in result.warnings) == sorted(seeds)
    assert all("which uv did not do" in w for w in result.warnings)
    [record] = read_history(env)
    assert record["changes"] == truth
    assert result.to_dict()["changes"] == truth
    assert seeds <= {line.split("==")[0] for line in freeze(prefix).split()}
