"""`envkernels audit` as users run it: a real process, real environments, exit codes, JSON, SBOM files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def audit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", "audit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=120,
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_json_report_and_exit_1_for_a_vulnerable_environment(vulnerable_prefix, osv_db, isolated_home):
    proc = audit(str(vulnerable_prefix), "--db", str(osv_db), "--json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["environment"]["prefix"] == str(vulnerable_prefix.resolve())
    assert {"vulnerabilities", "findings", "skipped"} <= set(data)
    assert "licenses" not in data
    assert any(v["id"] == "PYSEC-2018-28" and v["fixed_in"] == ["2.20.0"] for v in data["vulnerabilities"])
    keys = {"code", "severity", "package", "message", "hint", "vulnerability"}
    assert all(set(f) == keys for f in data["findings"])
    # each vulnerability finding names its vulnerability, which carries the fix
    named = {(f["package"], f["vulnerability"]) for f in data["findings"] if f["code"] == "vulnerability"}
    assert named == {(v["package"], v["id"]) for v in data["vulnerabilities"]}
    assert all(v["fix"] for v in data["vulnerabilities"])


def test_text_table_with_one_fix_per_package(vulnerable_prefix, osv_db, isolated_home):
    proc = audit(str(vulnerable_prefix), "--db", str(osv_db))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.split()[:2] == ["PACKAGE", "VERSION"] for line in lines)
    assert any(line.startswith("requests") and "PYSEC-2018-28" in line for line in lines)
    assert any(line.startswith("fix requests: `uv pip install --python ") for line in lines)
    assert "known vulnerabilities in 4 packages" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_clean_environment_exits_0(small_env, osv_db, isolated_home):
    proc = audit(str(small_env), "--db", str(osv_db), "--licenses")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no known vulnerabilities" in proc.stdout
    assert "licenses:" in proc.stdout


def test_missing_database_is_a_usage_error_with_a_hint(small_env, tmp_path, isolated_home):
    proc = audit(str(small_env), "--db", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0].startswith("error: the advisory database")
    assert proc.stderr.splitlines()[1].startswith("hint: ")
    assert proc.stdout == ""


def test_unreachable_api_is_never_reported_clean(small_env, isolated_home):
    proc = audit(str(small_env), "--api-url", closed_port_url())
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: the OSV API cannot be used")
    assert "no known vulnerabilities" not in proc.stdout
    assert "not checked" in proc.stdout
    data = json.loads(audit(str(small_env), "--api-url", closed_port_url(), "--json").stdout)
    assert data["findings"][0]["code"] == "source-unavailable"
    assert {s["package"] for s in data["skipped"]} >= {"six", "idna"}


def test_api_server_path_from_the_cli(vulnerable_prefix, osv_api, isolated_home):
    url, _ = osv_api
    proc = audit(str(vulnerable_prefix), "--api-url", url, "--json")
    assert proc.returncode == 1, proc.stderr
    assert any(v["id"] == "PYSEC-2019-217" for v in json.loads(proc.stdout)["vulnerabilities"])


def test_sbom_is_valid_cyclonedx_with_purls_and_vulnerabilities(
    vulnerable_prefix, osv_db, tmp_path, isolated_home
):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "sbom.cdx.json"
    target.write_text("old content")
    proc = audit(str(vulnerable_prefix), "--db", str(osv_db), "--sbom", str(target))
    assert proc.returncode == 1
    text = target.read_text()
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    purls = {c["purl"] for c in bom["components"]}
    assert {
        "pkg:pypi/requests@2.19.0",
        "pkg:pypi/urllib3@1.24.1",
        "pkg:pypi/jinja2@2.10",
        "pkg:pypi/pyyaml@5.3",
    } <= purls
    requests = next(c for c in bom["components"] if c["name"] == "requests")
    assert requests["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    vuln = next(v for v in bom["vulnerabilities"] if v["id"] == "PYSEC-2018-28")
    assert vuln["affects"] == [{"ref": "pkg:pypi/requests@2.19.0"}]
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert list(out.iterdir()) == [target]  # replaced in place, no temp file left behind


def test_sbom_into_a_missing_folder_is_an_error(small_env, osv_db, tmp_path, isolated_home):
    proc = audit(str(small_env), "--db", str(osv_db), "--sbom", str(tmp_path / "no" / "sbom.json"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "hint:" in proc.stderr


def test_lockfile_target_is_audited(osv_db, tmp_path, isolated_home):
    lock = tmp_path / "requirements.txt"
    lock.write_text("requests==2.19.0\nsix==1.16.0\n")
    proc = audit(str(lock), "--db", str(osv_db), "--json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["environment"]["kind"] == "lockfile"
    assert {v["package"] for v in data["vulnerabilities"]} == {"requests"}


def test_lockfile_sbom_lists_the_pins(osv_db, tmp_path, isolated_home):
    lock = tmp_path / "requirements.txt"
    lock.write_text("requests==2.19.0\nsix==1.16.0\n")
    sbom = tmp_path / "lock.cdx.json"
    proc = audit(str(lock), "--db", str(osv_db), "--sbom", str(sbom))
    assert proc.returncode == 1, proc.stderr
    bom = json.loads(sbom.read_text())
    assert {c["purl"] for c in bom["components"]} == {"pkg:pypi/requests@2.19.0", "pkg:pypi/six@1.16.0"}
    assert bom["metadata"]["component"]["name"] == "requirements.txt"


@pytest.mark.parametrize("content", ["\x00\x01garbage", "requests==2.19.0 ; python_version >\n"])
def test_unreadable_lockfile_is_an_error_not_a_traceback(osv_db, tmp_path, isolated_home, content):
    lock = tmp_path / "pylock.toml"
    lock.write_text(content)
    proc = audit(str(lock), "--db", str(osv_db))
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
