"""The server's kept verdicts: `unchecked` until a check ran, kept across restarts (a JSON file in the
cache dir), never `ok` for an audit that could not look, and a background re-check of an
environment whose installed packages changed since."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from api_helpers import env_ids

from envfactory import make_venv, uv
from envkernels.server.verdicts import (
    FILE_NAME,
    BackgroundRechecker,
    VerdictStore,
    audit_verdict,
    check_verdict,
)


def _finding(severity: str) -> dict:
    return {"code": "x", "severity": severity, "package": None, "message": "m", "hint": None}


def test_verdicts_of_reports_and_their_worst() -> None:
    assert check_verdict({"findings": []}) == "ok"
    assert check_verdict({"findings": [_finding("info"), _finding("warning")]}) == "warning"
    assert check_verdict({"findings": [_finding("warning"), _finding("error")]}) == "error"
    assert audit_verdict({"findings": [], "vulnerabilities": [{"id": "GHSA-x"}], "checked": True}) == "error"
    # no advisory data: never green
    assert (
        audit_verdict({"findings": [_finding("warning")], "vulnerabilities": [], "checked": False})
        == "not-checked"
    )
    assert audit_verdict({"findings": [], "vulnerabilities": [], "checked": True}) == "ok"


def test_store_keeps_the_verdict_across_instances_and_marks_a_changed_environment_stale(
    tmp_path: Path,
) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    path = tmp_path / "cache" / FILE_NAME
    store = VerdictStore(path)
    record = {"id": "e1", "prefix": str(prefix)}
    assert store.annotate(dict(record))["verdict"] == "unchecked"
    store.record("e1", str(prefix), "check", {"findings": []})
    store.record("e1", str(prefix), "audit", {"findings": [], "vulnerabilities": [], "checked": False})
    # a new server (a new store over the same file) knows it: the worst of check and audit
    again = VerdictStore(path).annotate(dict(record))
    assert again["verdict"] == "not-checked"
    assert again["verdict_at"] and again["verdict_at"].endswith("+00:00")
    assert again["verdict_stale"] is False
    assert json.loads(path.read_text())["schema"] == 1
    assert not list(path.parent.glob(".*.tmp"))  # written through a temp file and a rename
    # a package installed since: site-packages changed, the verdict is stale
    site = next(prefix.glob("lib/python*/site-packages"))
    time.sleep(0.01)
    (site / "newpkg-1.0.dist-info").mkdir()
    assert VerdictStore(path).annotate(dict(record))["verdict_stale"] is True


def test_an_unreadable_store_means_unchecked_not_ok(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text("{not json")
    assert VerdictStore(path).annotate({"id": "e1"})["verdict"] == "unchecked"
    path.write_text(
        json.dumps({"schema": 99, "environments": {"e1": {"check": {"verdict": "ok", "at": "x"}}}})
    )
    assert VerdictStore(path).annotate({"id": "e1"})["verdict"] == "unchecked"


def test_background_rechecker_runs_each_request_once_and_its_queue_is_bounded() -> None:
    gate = threading.Event()
    seen: list[str] = []

    def check(env_id: str) -> None:
        gate.wait(10)
        seen.append(env_id)

    rechecker = BackgroundRechecker(check, capacity=2)
    try:
        assert rechecker.request("a")
        deadline = time.monotonic() + 5
        while rechecker._queue.qsize() and time.monotonic() < deadline:  # "a" taken by the thread
            time.sleep(0.01)
        assert rechecker.request("a")  # already pending: not queued twice
        assert rechecker.request("b") and rechecker.request("c")
        assert not rechecker.request("d")  # the queue is full: dropped, the next look asks again
        gate.set()
        deadline = time.monotonic() + 10
        while rechecker.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == ["a", "b", "c"]
    finally:
        gate.set()
        rechecker.stop()


async def test_listing_says_unchecked_then_the_kept_verdict_of_check_and_audit(
    api, isolated_home: Path
) -> None:
    ids = await env_ids(api)
    status, data = await api("GET", "environments")
    assert status == 200
    assert {e["verdict"] for e in data} == {"unchecked"}
    assert all(e["verdict_at"] is None for e in data)
    status, _report = await api("GET", "environments", ids["beta"], "check")  # a planted broken requirement
    assert status == 200
    status, _report = await api("GET", "environments", ids["alpha"], "check")
    assert status == 200
    status, _audit = await api("GET", "environments", ids["vuln"], "audit")
    assert status == 200
    _, data = await api("GET", "environments")
    by_name = {e["name"]: e for e in data}
    assert by_name["beta"]["verdict"] == "error"
    assert by_name["alpha"]["verdict"] == "ok"
    assert by_name["vuln"]["verdict"] == "error"
    assert by_name["beta"]["verdict_at"] is not None
    _, one = await api("GET", "environments", ids["beta"])
    assert one["verdict"] == "error"
    # kept on disk for the next server
    kept = json.loads((isolated_home / ".cache" / "envkernels" / FILE_NAME).read_text())
    assert kept["environments"][ids["beta"]]["check"]["verdict"] == "error"


async def test_a_notebook_check_does_not_change_the_environments_verdict(api, jp_root_dir: Path) -> None:
    import nbformat

    ids = await env_ids(api)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import not_installed_anywhere")]
    nbformat.write(nb, jp_root_dir / "n.ipynb")
    status, report = await api("GET", "environments", ids["alpha"], "check", params={"notebook": "n.ipynb"})
    assert status == 200, report
    _, one = await api("GET", "environments", ids["alpha"])
    assert one["verdict"] == "unchecked"


async def test_a_changed_environment_is_rechecked_in_the_background(api, late_root: Path) -> None:
    env = make_venv(late_root / "changing", ["six==1.16.0"])
    status, data = await api("POST", "environments", "refresh")
    assert status == 200
    env_id = next(e["id"] for e in data if e["name"] == "changing")
    status, _ = await api("GET", "environments", env_id, "check")
    assert status == 200
    _, first = await api("GET", "environments", env_id)
    assert first["verdict"] == "ok" and first["verdict_stale"] is False
    # requests without its dependencies lands in site-packages: a broken requirement appears
    uv("pip", "install", "--python", str(env / "bin" / "python"), "--quiet", "--no-deps", "requests==2.32.3")
    _, listed = await api("GET", "environments", env_id)
    assert listed["verdict_stale"] is True  # the listing says so, and queues the re-check
    import asyncio

    for _ in range(300):
        _, now = await api("GET", "environments", env_id)
        if now["verdict"] == "error" and not now["verdict_stale"]:
            break
        await asyncio.sleep(0.1)
    assert now["verdict"] == "error", now


def test_a_clean_audit_alone_is_no_all_clear(tmp_path: Path) -> None:
    store = VerdictStore(tmp_path / FILE_NAME)
    store.record("e1", str(tmp_path), "audit", {"findings": [], "vulnerabilities": [], "checked": True})
    assert store.annotate({"id": "e1"})["verdict"] == "unchecked"
    store.record("e1", str(tmp_path), "check", {"findings": []})
    assert store.annotate({"id": "e1"})["verdict"] == "ok"
