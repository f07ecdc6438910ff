"""The REST API's trust boundary: the server's audit settings win, nothing unchecked looks clean,
slow work is bounded and kept apart from listing, and oversized input is refused with 413.

Against a real jupyter_server (pytest-jupyter) over real uv-made environments; the OSV API is a
real HTTP server on 127.0.0.1 (``tests/audit/osv_server.py``) that can answer slowly.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from api_helpers import env_ids

from envfactory import make_venv
from envkernels import limits
from envkernels.server.service import EnvironmentService
from envkernels.server.work import WorkPools

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "audit"))  # the OSV test server
from osv_server import OsvState, serve_osv

OSV_DB = Path(__file__).resolve().parent.parent / "data" / "osv"


@pytest.fixture
def osv() -> Iterator[tuple[str, OsvState]]:
    """A real OSV-speaking server on 127.0.0.1 (its ``requests`` log shows who asked)."""
    with serve_osv(OSV_DB / "vulns") as served:
        yield served


def extension(jp_serverapp):  # type: ignore[no-untyped-def]
    return next(iter(jp_serverapp.extension_manager.extension_apps["envkernels"]))


def reconfigure(jp_serverapp, **changes) -> None:  # type: ignore[no-untyped-def]
    app = extension(jp_serverapp)
    app.service = EnvironmentService(replace(app.service.config, **changes))


async def test_a_projects_api_url_is_not_contacted_by_the_server(api, jp_serverapp, late_root, osv) -> None:
    url, state = osv
    project = late_root / "cloned"
    make_venv(project / ".venv", ["urllib3==1.24.1"], no_deps=True)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "cloned"\n[tool.envkernels.audit]\napi-url = "{url}"\ndb = "/etc"\n'
    )
    await api("POST", "environments", "refresh")
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["cloned"], "audit")
    assert status == 200, report
    assert state.requests == []  # the package list was not sent to the project's URL
    assert report["advisory_source"] == f"osv-db:{OSV_DB.resolve()}"
    assert "urllib3" in {v["package"] for v in report["vulnerabilities"]}
    ignored = [f["message"] for f in report["findings"] if f["code"] == "config-ignored"]
    assert any("`api-url`" in m for m in ignored) and any("`db`" in m for m in ignored)


async def test_an_audit_with_unreadable_advisories_is_not_checked_over_rest(
    api, jp_serverapp, tmp_path
) -> None:
    db = Path(shutil.copytree(OSV_DB, tmp_path / "db"))
    (db / "vulns/jinja2/PYSEC-BROKEN.yaml").write_text("id: [\n")
    reconfigure(jp_serverapp, audit_db=str(db))
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["vuln"], "audit")
    assert status == 200, report
    assert report["checked"] is False
    assert {f["package"] for f in report["findings"] if f["code"] == "source-unavailable"} == {"jinja2"}


@pytest.mark.slow
async def test_eight_slow_audits_leave_listing_and_records_answering(api, jp_serverapp, osv) -> None:
    """The OSV API trickles one byte every 5 s: audits wait; everything else does not."""
    url, state = osv
    state.mode = "trickle"
    reconfigure(jp_serverapp, audit_api_url=url, audit_db=None, audit_deadline=6.0)
    extension(jp_serverapp).pools = WorkPools(heavy_workers=4, heavy_queue=4)
    ids = await env_ids(api)
    audits = [asyncio.ensure_future(api("GET", "environments", ids["vuln"], "audit")) for _ in range(8)]
    for _ in range(200):  # until the first four reach the OSV server (the other four are queued)
        if len(state.requests) >= 4:
            break
        await asyncio.sleep(0.05)
    assert len(state.requests) >= 4
    status, record = await asyncio.wait_for(api("GET", "environments", ids["alpha"]), timeout=30)
    assert status == 200 and record["id"] == ids["alpha"]
    status, listing = await asyncio.wait_for(api("GET", "environments"), timeout=30)
    assert status == 200 and len(listing) >= 3
    # A ninth heavy request finds the backlog full: refused at once, not queued forever.
    status, busy = await api("GET", "environments", ids["alpha"], "check")
    assert status == 503 and busy["reason"] == "busy" and busy["hint"]
    results = await asyncio.gather(*audits)
    for status, report in results:
        assert status == 200
        assert report["checked"] is False and report["vulnerabilities"] == []
        unavailable = [f["message"] for f in report["findings"] if f["code"] == "source-unavailable"]
        assert any("deadline" in m for m in unavailable)


@pytest.fixture
def small_limits() -> Iterator[None]:
    before = limits.current()
    limits.configure(lock=64 << 10, notebook=128 << 10, request=16 << 10)
    yield
    limits.configure(lock=before.lock, notebook=before.notebook, request=before.request)


async def test_oversized_lockfile_notebook_and_body_are_413(api, jp_root_dir, small_limits) -> None:
    ids = await env_ids(api)
    (jp_root_dir / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "x"\n' + "#" * (70 << 10))
    nb = {
        "cells": [{"cell_type": "code", "source": "import os\n" * 20000, "metadata": {}, "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (jp_root_dir / "big.ipynb").write_text(json.dumps(nb))
    calls = [
        api("POST", "environments", ids["alpha"], "sync", body={"lock": "pylock.toml", "dry_run": True}),
        api("GET", "environments", ids["alpha"], "check", params={"lock": "pylock.toml"}),
        api("GET", "environments", ids["alpha"], "check", params={"notebook": "big.ipynb"}),
        api("GET", "environments", ids["alpha"], "diff", params={"lock": "pylock.toml"}),
        api("POST", "environments", ids["alpha"], "sync", raw=b'{"lock": "' + b"a" * (20 << 10) + b'"}'),
    ]
    for status, data in await asyncio.gather(*calls):
        assert status == 413, data
        assert data["reason"] == "too-large" and "over the limit" in data["message"] and data["hint"]


async def test_an_interrupted_sync_shows_in_the_record_and_the_check(api, late_root) -> None:
    from envkernels.discovery.probe import environment_from_prefix
    from envkernels.sync import history

    prefix = make_venv(late_root / "halfsynced", ["six==1.16.0"])
    env = environment_from_prefix(prefix)
    snapshot = history.write_snapshot(env)  # what a sync killed while uv runs leaves behind
    history.mark_pending(env, {"started": history.utc_stamp(), "snapshot": snapshot, "lock": "pylock.toml"})
    await api("POST", "environments", "refresh")
    ids = await env_ids(api)
    status, record = await api("GET", "environments", ids["halfsynced"])
    assert status == 200
    assert record["status"] == "broken" and "interrupted" in record["problem"]
    assert f"envkernels sync {snapshot} --target {prefix.resolve()} --yes" in record["hint"]
    status, report = await api("GET", "environments", ids["halfsynced"], "check")
    assert status == 200
    assert report["findings"][0]["code"] == "sync-interrupted" and snapshot in report["findings"][0]["hint"]
