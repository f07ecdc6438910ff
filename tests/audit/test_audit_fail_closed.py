"""Audits fail closed: "no known vulnerabilities" only when every package was really checked.

A database that holds no OSV records is an error (exit 2); a package whose advisories could not be
read (an unreadable folder, a symlink loop, a malformed record) is "not checked" (a
``source-unavailable`` error finding naming it, exit 1); an API answer that is cut short, malformed
or trickled past the audit's deadline is ``source-unavailable``. All against the real advisories of
``tests/data/osv`` and a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envkernels.audit.run import audit_environment
from envkernels.errors import BadInputError

PYTHON = sys.executable
# Dropping CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH makes a root process obey file modes (chmod 000).
SETPRIV = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def cli(*args: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(prefix or []), PYTHON, "-m", "envkernels", "audit", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )


def unchecked(report_json: dict) -> set[str | None]:
    return {f["package"] for f in report_json["findings"] if f["code"] == "source-unavailable"}


@pytest.fixture
def db_copy(osv_db: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(osv_db, tmp_path / "db"))


def test_an_empty_folder_is_no_database(vulnerable_env, tmp_path, isolated_home):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInputError) as exc:
        audit_environment(vulnerable_env, db=str(empty))
    assert "holds no OSV advisory records" in exc.value.message and exc.value.hint


def test_etc_as_the_database_is_exit_2_not_a_clean_report(vulnerable_prefix, isolated_home):
    proc = cli(str(vulnerable_prefix), "--db", "/etc")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: `/etc` holds no OSV advisory records")
    assert "\nhint: " in proc.stderr and "Traceback" not in proc.stderr
    assert "no known vulnerabilities" not in proc.stdout


def test_a_malformed_record_leaves_its_package_not_checked(vulnerable_prefix, db_copy, isolated_home):
    (db_copy / "vulns/jinja2/PYSEC-BROKEN.yaml").write_text("id: PYSEC-BROKEN\naffected: [ {package: \n")
    proc = cli(str(vulnerable_prefix), "--db", str(db_copy), "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert unchecked(report) == {"jinja2"}
    assert report["checked"] is False
    assert [s["package"].lower() for s in report["skipped"]] == ["jinja2"]
    # the other packages were checked and their vulnerabilities are still reported
    assert {v["package"] for v in report["vulnerabilities"]} >= {"requests", "urllib3"}
    hint = next(f["hint"] for f in report["findings"] if f["code"] == "source-unavailable")
    assert "still used" not in hint and "not checked" in hint


def test_a_symlink_loop_in_a_package_folder_leaves_it_not_checked(vulnerable_prefix, db_copy, isolated_home):
    (db_copy / "vulns/requests/PYSEC-LOOP.yaml").symlink_to("PYSEC-LOOP.yaml")
    shutil.rmtree(db_copy / "vulns/urllib3")
    (db_copy / "vulns/urllib3").symlink_to("urllib3")  # the package folder itself is a loop
    proc = cli(str(vulnerable_prefix), "--db", str(db_copy), "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert unchecked(report) == {"requests", "urllib3"}
    assert "error: advisory `vulns/requests/PYSEC-LOOP.yaml` cannot be read" in proc.stderr


def test_a_link_back_up_the_tree_is_walked_once(vulnerable_env, db_copy, tmp_path, isolated_home):
    (db_copy / "vulns/requests/up").symlink_to("../..")
    report = audit_environment(vulnerable_env, db=str(db_copy))
    assert report.to_dict()["checked"] is True
    assert {v["package"] for v in report.to_dict()["vulnerabilities"]} >= {"requests", "urllib3", "Jinja2"}


def test_an_unreadable_record_whose_package_cannot_be_told_fails_the_audit(
    vulnerable_env, db_copy, isolated_home
):
    (db_copy / "vulns/garbage.json").write_text("\x00\x01 not json")
    report = audit_environment(vulnerable_env, db=str(db_copy))
    assert report.to_dict()["checked"] is False
    bad = [f for f in report.findings if f.code == "source-unavailable"]
    assert len(bad) == 1 and bad[0].package is None and bad[0].severity == "error"


def _setpriv_works(tmp_path: Path) -> bool:
    if shutil.which("setpriv") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0)
    try:
        code = f"import os; os.listdir({str(probe)!r})"
        proc = subprocess.run([*SETPRIV, PYTHON, "-c", code], capture_output=True)
        return proc.returncode != 0 and b"PermissionError" in proc.stderr
    finally:
        probe.chmod(0o755)


def test_an_unreadable_package_folder_is_not_checked_exit_1(
    vulnerable_prefix, db_copy, tmp_path, isolated_home
):
    if not _setpriv_works(tmp_path):
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no setpriv): an unreadable folder cannot be made")
    folder = db_copy / "vulns/urllib3"
    folder.chmod(0)
    try:
        proc = cli(str(vulnerable_prefix), "--db", str(db_copy), "--json", prefix=SETPRIV)
        text = cli(str(vulnerable_prefix), "--db", str(db_copy), prefix=SETPRIV)
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert unchecked(report) == {"urllib3"}
    assert report["checked"] is False
    assert "error: advisory folder `vulns/urllib3` cannot be read" in proc.stderr
    assert "no known vulnerabilities" not in text.stdout and "not checked" in text.stdout
    # Made readable again, the next audit reads it (the index notices the permission change).
    again = cli(str(vulnerable_prefix), "--db", str(db_copy), "--json", prefix=SETPRIV)
    assert unchecked(json.loads(again.stdout)) == set()
    assert "urllib3" in {v["package"] for v in json.loads(again.stdout)["vulnerabilities"]}


@pytest.mark.parametrize("mode", ["cut", "vulns-shape", "garbage"])
def test_a_cut_short_or_malformed_api_answer_is_source_unavailable(small_env, osv_api, mode, isolated_home):
    url, state = osv_api
    state.mode = mode
    proc = cli(str(small_env), "--api-url", url, "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert unchecked(report) == {None} and report["checked"] is False
    assert "Traceback" not in proc.stderr


def test_a_trickling_api_cannot_keep_the_audit_past_its_deadline(vulnerable_env, osv_api, isolated_home):
    """One byte every 5 s: each read is within the 10 s request timeout, but the deadline ends it."""
    url, state = osv_api
    state.mode = "trickle"
    state.trickle_seconds = 5.0
    started = time.monotonic()
    report = audit_environment(vulnerable_env, api_url=url, deadline=3)
    elapsed = time.monotonic() - started
    finding = next(f for f in report.findings if f.code == "source-unavailable")
    assert "deadline (3 s)" in finding.message
    assert report.to_dict()["checked"] is False and report.to_dict()["vulnerabilities"] == []
    # The trickled answer (1,000+ bytes at 5 s each) would take over an hour; generous bound.
    assert elapsed < 120


def test_deadline_option_of_the_cli(small_env, osv_api, isolated_home):
    url, state = osv_api
    state.mode = "slow"
    state.slow_seconds = 30
    proc = cli(str(small_env), "--api-url", url, "--deadline", "1")
    assert proc.returncode == 1
    assert "deadline (1 s)" in proc.stderr and "not checked" in proc.stdout
    bad = cli(str(small_env), "--api-url", url, "--deadline", "0")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
