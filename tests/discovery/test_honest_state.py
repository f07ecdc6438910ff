"""Honest state and safe hints: what cannot be read is `broken`, never `ok`, and a killed sync shows.

Unreadable files are made for real: as root, ``chmod 000`` is ignored unless the process drops
CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so the CLI runs under ``setpriv`` (skipped where setpriv
cannot drop them). The interrupted sync is left by the sync engine's own steps (a snapshot, then
the pending mark), exactly what a sync killed while uv runs leaves behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envfactory import make_venv
from envkernels.core.atomic import file_lock
from envkernels.discovery.probe import environment_from_prefix
from envkernels.discovery.problems import fix_hint
from envkernels.inspect import hints
from envkernels.model import KINDS
from envkernels.sync import history

OSV_DB = Path(__file__).resolve().parent.parent / "data" / "osv"
SETPRIV = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
DESTRUCTIVE = ("--clear", "env remove", "--rm", "prune", "rm -", "rmtree", "delete", "remove `")


def cli(*args: str, privileged: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*([] if privileged else SETPRIV), sys.executable, "-m", "envkernels", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
        cwd=cwd,
    )


def setpriv_works(tmp_path: Path) -> bool:
    if shutil.which("setpriv") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0)
    try:
        proc = subprocess.run(
            [*SETPRIV, sys.executable, "-c", f"import os; os.listdir({str(probe)!r})"], capture_output=True
        )
        return proc.returncode != 0 and b"PermissionError" in proc.stderr
    finally:
        probe.chmod(0o755)


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "root" / "env", ["six==1.16.0"])


def site_packages(prefix: Path) -> Path:
    return next((prefix / "lib").glob("python3*/site-packages"))


def test_no_hint_of_any_kind_destroys_an_environment() -> None:
    for kind in KINDS:
        for project in (None, "/p"):
            hint = fix_hint(kind, "/p/.venv", project)
            assert not any(word in hint for word in DESTRUCTIVE), (kind, hint)
    env = environment_from_prefix(sys.prefix)
    assert not any(word in hints.recreate_with_python(env, "3.12") for word in DESTRUCTIVE)


def test_unreadable_site_packages_is_broken_and_lock_audit_refuse(venv, tmp_path, isolated_home) -> None:
    if not setpriv_works(tmp_path):
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no setpriv): an unreadable folder cannot be made")
    sp = site_packages(venv)
    out = tmp_path / "pylock.toml"
    sp.chmod(0)
    try:
        listing = cli(
            "list", "--json", "--root", str(tmp_path / "root"), "--no-default-roots", privileged=False
        )
        check = cli("check", str(venv), "--json", privileged=False)
        lock = cli("lock", str(venv), "-o", str(out), "--no-hashes", privileged=False)
        audit = cli("audit", str(venv), "--db", str(OSV_DB), privileged=False)
    finally:
        sp.chmod(0o755)
    record = next(r for r in json.loads(listing.stdout) if r["prefix"] == str(venv.resolve()))
    assert record["status"] == "broken"
    assert str(sp.resolve()) in record["problem"] and "cannot be read" in record["problem"]
    assert "chmod" in record["hint"] and not any(w in record["hint"] for w in DESTRUCTIVE)
    assert check.returncode == 1
    findings = json.loads(check.stdout)["findings"]
    assert [f["code"] for f in findings] == ["environment-broken"] and findings[0]["severity"] == "error"
    assert lock.returncode == 2 and lock.stderr.startswith("error: ") and "cannot be read" in lock.stderr
    assert "\nhint: " in lock.stderr and not out.exists()  # no lock of 0 packages
    assert audit.returncode == 2 and "cannot be read" in audit.stderr
    assert "no known vulnerabilities" not in audit.stdout


def test_unreadable_pyvenv_cfg_is_broken_with_a_permissions_hint(venv, tmp_path, isolated_home) -> None:
    if not setpriv_works(tmp_path):
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no setpriv): an unreadable file cannot be made")
    cfg = venv / "pyvenv.cfg"
    cfg.chmod(0)
    try:
        listing = cli(
            "list", "--json", "--root", str(tmp_path / "root"), "--no-default-roots", privileged=False
        )
    finally:
        cfg.chmod(0o644)
    record = next(r for r in json.loads(listing.stdout) if r["prefix"] == str(venv.resolve()))
    assert record["status"] == "broken"
    assert "pyvenv.cfg` cannot be read" in record["problem"]
    assert "chmod" in record["hint"] and "--clear" not in record["hint"]


def leave_an_interrupted_sync(prefix: Path) -> str:
    """What `apply_sync` has done when it is killed while uv runs: a snapshot, then the pending mark."""
    env = environment_from_prefix(prefix)
    snapshot = history.write_snapshot(env)
    history.mark_pending(env, {"started": history.utc_stamp(), "snapshot": snapshot, "lock": "pylock.toml"})
    return snapshot


def test_an_interrupted_sync_shows_in_list_and_check_with_the_rollback(venv, tmp_path, isolated_home) -> None:
    root = str(tmp_path / "root")
    before = json.loads(cli("list", "--json", "--root", root, "--no-default-roots").stdout)
    assert next(r for r in before if r["prefix"] == str(venv.resolve()))["status"] == "ok"
    snapshot = leave_an_interrupted_sync(venv)
    listing = json.loads(cli("list", "--json", "--root", root, "--no-default-roots").stdout)
    record = next(r for r in listing if r["prefix"] == str(venv.resolve()))
    assert record["status"] == "broken" and "interrupted" in record["problem"]
    assert record["hint"] == (
        f"put back what was installed before: `envkernels sync {snapshot} --target {venv.resolve()} --yes`"
    )
    check = cli("check", str(venv), "--json")
    assert check.returncode == 1
    finding = json.loads(check.stdout)["findings"][0]
    assert finding["code"] == "sync-interrupted" and snapshot in finding["hint"]
    # The rollback command from the hint works, and clears the state.
    rollback = cli("sync", snapshot, "--target", str(venv.resolve()), "--yes")
    assert rollback.returncode == 0, rollback.stderr
    after = json.loads(cli("list", "--json", "--root", root, "--no-default-roots").stdout)
    assert next(r for r in after if r["prefix"] == str(venv.resolve()))["status"] == "ok"


def test_a_sync_that_is_running_is_not_called_interrupted(venv, tmp_path, isolated_home) -> None:
    leave_an_interrupted_sync(venv)
    with file_lock(venv, wait=False, what="sync"):  # as apply_sync holds it while uv runs
        record = environment_from_prefix(venv)
    assert record.status == "ok" and record.problem is None
