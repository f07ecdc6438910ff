"""check, lock and sync through the REST API, against real uv-made environments."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from api_helpers import env_ids

from envfactory import freeze, make_venv
from envkernels._toml import tomllib


async def test_check_reports_the_planted_broken_requirement(api) -> None:
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["beta"], "check")
    assert status == 200, report
    assert report["environment"]["id"] == ids["beta"]
    broken = {f["package"].lower() for f in report["findings"] if f["code"] == "broken-requirement"}
    assert "requests" in broken
    for f in report["findings"]:
        assert set(f) >= {"code", "severity", "package", "message", "hint"}


async def test_check_of_a_healthy_environment_has_no_broken_requirement(api) -> None:
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["alpha"], "check")
    assert status == 200
    assert not [f for f in report["findings"] if f["code"] == "broken-requirement"]


async def test_check_with_a_notebook_reports_its_missing_import(api, jp_root_dir: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import six\nimport urllib3"))
    (jp_root_dir / "analysis.ipynb").write_text(nbformat.writes(nb))
    ids = await env_ids(api)
    status, report = await api(
        "GET", "environments", ids["beta"], "check", params={"notebook": "analysis.ipynb"}
    )
    assert status == 200, report
    codes = {(f["code"], (f["package"] or "").lower()) for f in report["findings"]}
    assert ("broken-requirement", "requests") in codes
    # urllib3 is imported by the notebook but not installed in beta
    assert any(pkg == "urllib3" for _, pkg in codes)


async def test_check_with_a_notebook_that_does_not_exist_is_404(api) -> None:
    ids = await env_ids(api)
    status, data = await api("GET", "environments", ids["alpha"], "check", params={"notebook": "nope.ipynb"})
    assert status == 404 and "nope.ipynb" in data["message"]


async def test_lock_writes_a_pylock_inside_the_root(api, jp_root_dir: Path) -> None:
    ids = await env_ids(api)
    status, result = await api("POST", "environments", ids["alpha"], "lock", body={"path": "pylock.toml"})
    assert status == 200, result
    written = jp_root_dir / "pylock.toml"
    assert result["relative_path"] == "pylock.toml"
    doc = tomllib.loads(written.read_text())
    names = {p["name"] for p in doc["packages"]}
    assert {"requests", "urllib3", "six"} <= names
    assert result["packages"] == len(doc["packages"])


async def test_lock_into_a_directory_is_400(api, jp_root_dir: Path) -> None:
    (jp_root_dir / "somedir").mkdir()
    ids = await env_ids(api)
    status, data = await api("POST", "environments", ids["alpha"], "lock", body={"path": "somedir"})
    assert status == 400 and "directory" in data["message"]


@pytest.fixture
def sync_target(late_root: Path) -> Path:
    """A mutable venv (in the server's late root) that a sync may change: six 1.16.0 only."""
    return make_venv(late_root / "target", ["six==1.16.0"])


async def test_sync_dry_run_shows_the_plan_and_changes_nothing(
    api, jp_root_dir: Path, sync_target: Path
) -> None:
    (jp_root_dir / "requirements.txt").write_text("six==1.17.0\nidna==3.7\n")
    await api("POST", "environments", "refresh")
    ids = await env_ids(api)
    before = freeze(sync_target)
    status, data = await api(
        "POST", "environments", ids["target"], "sync", body={"lock": "requirements.txt", "dry_run": True}
    )
    assert status == 200, data
    assert data["dry_run"] is True
    assert [c["name"] for c in data["plan"]["install"]] == ["idna"]
    assert [c["name"] for c in data["plan"]["upgrade"]] == ["six"]
    assert freeze(sync_target) == before


async def test_sync_applies_the_lock_and_a_concurrent_second_sync_is_409(
    api, jp_root_dir: Path, sync_target: Path
) -> None:
    (jp_root_dir / "requirements.txt").write_text("six==1.17.0\nidna==3.7\n")
    await api("POST", "environments", "refresh")
    ids = await env_ids(api)
    body = {"lock": "requirements.txt", "dry_run": False}
    first, second = await asyncio.gather(
        api("POST", "environments", ids["target"], "sync", body=body),
        api("POST", "environments", ids["target"], "sync", body=body),
    )
    statuses = sorted([first[0], second[0]])
    assert statuses == [200, 409], (first, second)
    conflict = first[1] if first[0] == 409 else second[1]
    assert conflict["reason"] == "conflict" and conflict["hint"]
    frozen = freeze(sync_target).lower()
    assert "six==1.17.0" in frozen and "idna==3.7" in frozen


async def test_sync_is_refused_when_the_server_disallows_it(
    api, jp_serverapp, jp_root_dir: Path, sync_target: Path
) -> None:
    (jp_root_dir / "requirements.txt").write_text("six==1.17.0\n")
    await api("POST", "environments", "refresh")
    ids = await env_ids(api)
    ext = jp_serverapp.extension_manager.extension_apps["envkernels"]
    app = next(iter(ext))
    app.allow_sync = False
    before = freeze(sync_target)
    status, data = await api(
        "POST", "environments", ids["target"], "sync", body={"lock": "requirements.txt", "dry_run": False}
    )
    assert status == 403 and data["reason"] == "sync-disabled"
    status, data = await api(
        "POST", "environments", ids["target"], "sync", body={"lock": "requirements.txt", "dry_run": True}
    )
    assert status == 200
    assert freeze(sync_target) == before


async def test_audit_finds_the_known_vulnerabilities_from_the_configured_db(api) -> None:
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["vuln"], "audit")
    assert status == 200, report
    vulnerable = {v["package"].lower() for v in report["vulnerabilities"]}
    assert {"urllib3", "jinja2"} <= vulnerable
    for v in report["vulnerabilities"]:
        assert set(v) >= {"package", "version", "id", "aliases", "summary", "fixed_in", "source"}
    assert "licenses" not in report


async def test_audit_with_licenses_lists_each_package_license(api) -> None:
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["vuln"], "audit", params={"licenses": "1"})
    assert status == 200, report
    by_pkg = {entry["package"].lower(): entry for entry in report["licenses"]}
    assert {"urllib3", "jinja2"} <= set(by_pkg)
    assert all(entry["status"] in ("allowed", "denied", "unknown") for entry in by_pkg.values())


async def test_audit_of_a_clean_environment_has_no_vulnerabilities(api) -> None:
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["alpha"], "audit")
    assert status == 200
    assert report["vulnerabilities"] == []


async def test_a_server_wide_license_deny_list_marks_packages_denied(api, jp_serverapp) -> None:
    from dataclasses import replace

    from envkernels.server.service import EnvironmentService

    app = next(iter(jp_serverapp.extension_manager.extension_apps["envkernels"]))
    app.service = EnvironmentService(replace(app.service.config, license_deny=("MIT",)))
    ids = await env_ids(api)
    status, report = await api("GET", "environments", ids["vuln"], "audit", params={"licenses": "1"})
    assert status == 200, report
    urllib3 = next(e for e in report["licenses"] if e["package"].lower() == "urllib3")
    assert urllib3["status"] == "denied"
