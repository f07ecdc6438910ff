"""Whose configuration wins: the server's over a project's; the user's own project on the CLI.

A server's configuration (``AuditConfig(authoritative=True)``, what the Jupyter extension passes)
may be narrowed by a project's ``[tool.envkernels.audit]`` but never widened or redirected: the
project's ``db`` and ``api-url`` are not used (no request reaches that URL), a larger timeout or
cache time is capped, an allow entry the server does not allow stays disallowed, and each of these
is named in a ``config-ignored`` finding. The CLI, run by the user in their own project, honours
the project's source (documented in docs/security.md).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from envkernels.audit.policy import AuditConfig, combine, read_project_config
from envkernels.audit.run import audit_environment
from envkernels.errors import BadInputError


def project_with(tmp_path: Path, table: str) -> Path:
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "proj"\n[tool.envkernels.audit]\n{table}\n')
    return project


def test_a_project_api_url_is_never_contacted_by_a_server_audit(
    vulnerable_env, osv_db, osv_api, tmp_path, isolated_home
):
    url, state = osv_api
    project = project_with(tmp_path, f'api-url = "{url}"\ndb = "/etc"')
    server = AuditConfig(db=str(osv_db), authoritative=True)
    report = audit_environment(vulnerable_env, project=str(project), config=server)
    assert state.requests == []  # the package list went nowhere
    assert report.to_dict()["advisory_source"] == f"osv-db:{osv_db.resolve()}"
    assert report.to_dict()["checked"] is True and report.to_dict()["vulnerabilities"]
    ignored = [f for f in report.findings if f.code == "config-ignored"]
    assert {f.severity for f in ignored} == {"info"}
    messages = " ".join(f.message for f in ignored)
    assert "`api-url`" in messages and "`db`" in messages and str(project / "pyproject.toml") in messages


def test_a_project_cannot_widen_the_server_license_policy(vulnerable_env, osv_db, tmp_path, isolated_home):
    project = project_with(
        tmp_path,
        'allow = ["MIT", "GPL-3.0-only"]\nfail-on-unknown = false\n'
        'deny = ["BSD-3-Clause"]\ntimeout = 600\ncache-ttl = 5',
    )
    server = AuditConfig(
        db=str(osv_db),
        allow=("MIT", "Apache-2.0", "BSD-3-Clause"),
        fail_on_unknown=True,
        timeout=5,
        authoritative=True,
    )
    merged, notes = combine(server, read_project_config(project))
    assert merged.allow == ("MIT",)  # narrowed: the intersection, never the project's GPL
    assert merged.deny == ("BSD-3-Clause",) and merged.fail_on_unknown is True
    assert merged.timeout == 5 and merged.cache_ttl == 5  # a longer wait refused, a shorter cache kept
    joined = "\n".join(notes)
    assert "`GPL-3.0-only`" in joined and "fail-on-unknown = false" in joined and "`timeout = 600`" in joined
    report = audit_environment(vulnerable_env, licenses=True, project=str(project), config=server)
    statuses = {row["package"].lower(): row["status"] for row in report.to_dict()["licenses"]}
    assert statuses["requests"] == "denied"  # Apache-2.0: allowed by the server, not by the project
    assert sum(f.code == "config-ignored" for f in report.findings) == 3


def test_without_a_server_config_a_project_still_only_narrows_under_authority(
    vulnerable_env, osv_db, osv_api, tmp_path, isolated_home, monkeypatch
):
    """A server with no audit settings: its environment variable or the default, never the project."""
    url, state = osv_api
    monkeypatch.setenv("ENVKERNELS_AUDIT_DB", str(osv_db))
    project = project_with(tmp_path, f'api-url = "{url}"')
    report = audit_environment(vulnerable_env, project=str(project), config=AuditConfig(authoritative=True))
    assert state.requests == [] and report.to_dict()["advisory_source"].startswith("osv-db:")


def test_the_cli_honours_the_users_own_project_source(vulnerable_prefix, osv_api, tmp_path, isolated_home):
    """The CLI runs as the user, on the user's project: its `api-url` is the user's choice and is used."""
    url, state = osv_api
    project = project_with(tmp_path, f'api-url = "{url}"')
    os.symlink(vulnerable_prefix, project / ".venv")
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels", "audit", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    assert report["advisory_source"] == f"osv-api:{url}"
    assert any(path == "/v1/querybatch" for _, path in state.requests)
    assert not any(f["code"] == "config-ignored" for f in report["findings"])


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="the hint's command uses the standard library's tomllib"
)
def test_a_broken_project_config_names_a_command_that_shows_the_same_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.envkernels.audit]\nallow = [\n")
    with pytest.raises(BadInputError) as info:
        read_project_config(tmp_path)
    hint = info.value.hint or ""
    command = shlex.split(hint.split("`")[1])
    assert command[0] == "python3"
    # Run with this interpreter (python3 on PATH may be another one); no shell.
    result = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    reason = str(info.value).split(": ", 1)[1]
    assert f"TOMLDecodeError: {reason}" in result.stderr
