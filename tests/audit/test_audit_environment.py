"""Auditing real environments (known-vulnerable releases installed from PyPI with uv) and lockfiles,
against the copied PyPA advisories: offline through the local database, online through a real
OSV-speaking server on 127.0.0.1. Expected findings come from the plain reading of the same records.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from pathlib import Path

import pytest
from osv_plain import load_records, plain_audit
from packaging.version import Version

from envkernels.audit.policy import AuditConfig
from envkernels.audit.run import audit_environment, audit_lockfile
from envkernels.errors import NotFoundError, UsageError


def expected_vulnerabilities(osv_db: Path, pins: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    """(package, id) -> fixed_in, read plainly from the records for the installed pins."""
    out = {}
    for pin in pins:
        name, version = pin.split("==")
        for vid, fixes in plain_audit(load_records(osv_db / "vulns", name), name, version).items():
            out[(name.lower(), vid)] = fixes
    return out


def found(report) -> dict[tuple[str, str], list[str]]:
    return {(v["package"].lower(), v["id"]): v["fixed_in"] for v in report.to_dict()["vulnerabilities"]}


def test_vulnerable_environment_offline_matches_the_records(
    vulnerable_env, vulnerable_pins, osv_db, isolated_home
):
    report = audit_environment(vulnerable_env, db=str(osv_db))
    expected = expected_vulnerabilities(osv_db, vulnerable_pins)
    assert found(report) == expected
    # the well-known ones, by name
    assert expected[("requests", "PYSEC-2018-28")] == ["2.20.0"]  # CVE-2018-18074
    assert ("jinja2", "PYSEC-2019-217") in expected  # CVE-2019-10906
    assert expected[("pyyaml", "PYSEC-2021-142")] == ["5.4"]  # CVE-2020-14343
    assert ("pyyaml", "PYSEC-2020-176") not in expected  # 5.1 up to 5.2b1 only
    assert ("urllib3", "PYSEC-2019-132") in expected
    item = next(v for v in report.to_dict()["vulnerabilities"] if v["id"] == "PYSEC-2018-28")
    assert set(item) >= {"package", "version", "id", "aliases", "summary", "fixed_in", "source"}
    assert item["aliases"] == ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"]
    assert item["version"] == "2.19.0" and item["source"] == f"osv-db:{osv_db.resolve()}"
    assert report.to_dict()["skipped"] == []


def test_each_vulnerability_is_an_error_finding_with_the_uv_fix(vulnerable_env, osv_db, isolated_home):
    report = audit_environment(vulnerable_env, db=str(osv_db))
    vulns = [f for f in report.findings if f.code == "vulnerability"]
    assert len(vulns) == len(report.to_dict()["vulnerabilities"]) and report.worst() == "error"
    py = shlex.quote(vulnerable_env.python)
    finding = next(f for f in vulns if "PYSEC-2018-28" in f.message)
    assert finding.severity == "error" and finding.package == "requests"
    # The fix is resolved (tests/audit/test_fix_advice.py): one release past every requests advisory.
    fix = re.fullmatch(rf"`uv pip install --python {re.escape(py)} requests==(\S+)`", finding.hint or "")
    assert fix is not None, finding.hint
    highest = max(
        Version(v["fixed_in"][0]) for v in report.to_dict()["vulnerabilities"] if v["package"] == "requests"
    )
    assert Version(fix[1]) >= highest
    assert report.fixes()["requests"] == finding.hint


def test_api_path_finds_the_same_as_the_local_database(vulnerable_env, osv_db, osv_api, isolated_home):
    url, state = osv_api
    online = audit_environment(vulnerable_env, api_url=url)
    offline = audit_environment(vulnerable_env, db=str(osv_db))
    assert found(online) == found(offline)
    assert online.to_dict()["advisory_source"] == f"osv-api:{url}"
    # One querybatch for every installed package; then the fix advice vets each release it names once.
    vetted = {pin for hint in online.fixes().values() for pin in re.findall(r"\S+==[^\s`]+", hint)}
    assert vetted and sum(1 for r in state.requests if r[1] == "/v1/querybatch") == 1 + len(vetted)


def test_project_configuration_chooses_the_local_database(
    vulnerable_env, vulnerable_pins, osv_db, tmp_path, isolated_home
):
    project = tmp_path / "proj"
    project.mkdir()
    relative = os.path.relpath(osv_db.resolve(), project)  # resolved against the project directory
    (project / "pyproject.toml").write_text(f'[tool.envkernels.audit]\ndb = "{relative}"\n')
    report = audit_environment(vulnerable_env, project=str(project))
    assert report.to_dict()["advisory_source"] == f"osv-db:{osv_db.resolve()}"
    assert found(report) == expected_vulnerabilities(osv_db, vulnerable_pins)


def test_server_config_is_used_when_the_project_says_nothing(vulnerable_env, osv_db, tmp_path, isolated_home):
    report = audit_environment(vulnerable_env, project=str(tmp_path), config=AuditConfig(db=str(osv_db)))
    assert report.to_dict()["advisory_source"].startswith("osv-db:")


def test_environment_with_a_project_lock_gets_a_sync_hint(vulnerable_env, osv_db, tmp_path, isolated_home):
    lock = tmp_path / "uv.lock"
    env = dataclasses.replace(vulnerable_env, project=str(tmp_path), lockfiles=(str(lock),))
    report = audit_environment(env, db=str(osv_db))
    hint = next(f.hint for f in report.findings if f.code == "vulnerability" and f.package == "requests")
    assert "uv lock --upgrade-package requests" in hint
    assert f"envkernels sync {lock} --target {env.id}" in hint


def test_lockfile_is_audited_without_installing_it(osv_db, tmp_path, isolated_home):
    lock = tmp_path / "requirements.txt"
    lock.write_text("requests==2.19.0\nurllib3==1.24.1\n-e ./localpkg\n")
    report = audit_lockfile(lock, db=str(osv_db))
    assert report.environment.kind == "lockfile" and report.environment.prefix == str(lock.resolve())
    ids = {(v["package"], v["id"]) for v in report.to_dict()["vulnerabilities"]}
    assert ("requests", "PYSEC-2018-28") in ids and ("urllib3", "PYSEC-2019-132") in ids
    assert [s["package"] for s in report.to_dict()["skipped"]] == ["localpkg"]  # the `-e` directory's name
    hint = next(f.hint for f in report.findings if f.code == "vulnerability" and f.package == "requests")
    # one fix per package, the one that lifts all its vulnerabilities: the highest first fixed release
    highest = max((v.fixed_in[0] for v in report.vulnerabilities if v.package == "requests"), key=Version)
    assert str(lock.resolve()) in hint and f">= {highest}" in hint
    assert any(f.code == "lock-warning" for f in report.findings)


def test_lockfile_audit_refuses_licenses_with_a_hint(osv_db, tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text("requests==2.19.0\n")
    with pytest.raises(UsageError) as exc:
        audit_lockfile(lock, db=str(osv_db), licenses=True)
    assert "--licenses" in (exc.value.hint or "")


def test_nonexistent_database_stops_the_audit(vulnerable_env, tmp_path, isolated_home):
    with pytest.raises(NotFoundError):
        audit_environment(vulnerable_env, db=str(tmp_path / "missing"))


def test_legacy_and_unusual_installed_versions(osv_db, tmp_path, isolated_home):
    """`0.12.01` is PEP 440 (== 0.12.1); `0.1-bulbasaur` is not: matched only where a record lists it."""
    from envkernels.audit.run import AuditItem, audit_items
    from envkernels.audit.sources.osv_local import OsvLocalSource
    from envkernels.model import Environment

    env = Environment(
        id="venv-x-00000000", kind="venv", name="x", prefix=str(tmp_path), python=None, python_version=None
    )
    items = [
        AuditItem("requests", "0.12.01"),
        AuditItem("paramiko", "0.1-bulbasaur"),
        AuditItem("py", "2004d"),
    ]
    report = audit_items(
        env, items, source=OsvLocalSource(osv_db, cache_root=tmp_path / "c"), config=AuditConfig()
    )
    ids = {(v["package"], v["id"]) for v in report.to_dict()["vulnerabilities"]}
    assert ("requests", "PYSEC-2014-13") in ids
    assert ("paramiko", "PYSEC-2022-166") in ids
    assert not any(p == "py" for p, _ in ids)
    invalid = {f.package for f in report.findings if f.code == "version-invalid"}
    assert invalid == {"paramiko", "py"}
    hint = next(f.hint for f in report.findings if f.code == "vulnerability" and f.package == "requests")
    assert hint.startswith(f"`uv pip install --python {tmp_path} ")
