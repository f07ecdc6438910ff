"""Licenses: read from real installed metadata (PEP 639 expressions, free-text fields, classifiers),
normalized to SPDX, and judged by the policy of `[tool.envkernels.audit]` and the server's settings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from envfactory import make_venv
from envkernels.audit.licenses import LicenseInfo, alternatives, license_of, license_status
from envkernels.audit.policy import AuditConfig, LicensePolicy, combine, read_project_config
from envkernels.audit.run import audit_environment
from envkernels.discovery.probe import environment_from_prefix
from envkernels.errors import BadInputError


@pytest.fixture(scope="session")
def licensed_env(shared_envs: Path):
    """A read-only venv whose distributions declare licenses through PEP 639 `License-Expression`."""
    return environment_from_prefix(
        make_venv(shared_envs / "licensed", ["packaging==26.3", "attrs==26.1.0"], no_deps=True)
    )


def dist(expression=None, text=None, classifiers=()):
    return SimpleNamespace(license_expression=expression, license=text, classifiers=tuple(classifiers))


def statuses(report) -> dict[str, tuple[str | None, str]]:
    return {row["package"].lower(): (row["license"], row["status"]) for row in report.to_dict()["licenses"]}


def test_license_sources_in_order_expression_then_field_then_classifiers():
    assert license_of(dist("apache-2.0 or bsd-2-clause", "MIT")).expression == "Apache-2.0 OR BSD-2-Clause"
    assert license_of(dist(None, "Apache 2.0")).expression == "Apache-2.0"
    assert license_of(dist(None, "MIT License\n\nCopyright (c) 2020 someone\n...")).expression == "MIT"
    by_classifier = license_of(dist(None, "UNKNOWN", ["License :: OSI Approved :: MIT License"]))
    assert (by_classifier.expression, by_classifier.origin) == ("MIT", "classifiers")
    two = license_of(
        dist(
            None,
            None,
            [
                "License :: OSI Approved :: MIT License",
                "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
            ],
        )
    )
    assert two.expression == "MIT OR GPL-3.0-only"


def test_ambiguous_or_missing_licenses_are_unknown():
    assert license_of(dist(None, "BSD", ["License :: OSI Approved :: BSD License"])).expression is None
    assert (
        license_of(dist(None, None, ["License :: OSI Approved :: Apache Software License"])).expression
        is None
    )
    assert license_of(dist()).display is None
    assert license_of(dist("not a license (", None)).expression is None


def test_policy_reads_or_branches_and_with_exceptions():
    deny_gpl = LicensePolicy(deny=frozenset({"GPL-3.0-only"}))
    assert license_status(LicenseInfo("MIT OR GPL-3.0-only", None, None), deny_gpl) == "allowed"
    assert license_status(LicenseInfo("MIT AND GPL-3.0-only", None, None), deny_gpl) == "denied"
    only_mit = LicensePolicy(allow=frozenset({"MIT", "GPL-2.0-only"}))
    assert license_status(LicenseInfo("Apache-2.0", None, None), only_mit) == "denied"
    assert (
        license_status(LicenseInfo("GPL-2.0-only WITH Classpath-exception-2.0", None, None), only_mit)
        == "allowed"
    )
    assert license_status(LicenseInfo(None, "BSD", None), only_mit) == "unknown"
    assert alternatives("(MIT AND BSD-3-Clause) OR Apache-2.0") == [["MIT", "BSD-3-Clause"], ["Apache-2.0"]]


def test_real_metadata_pep639_expressions(licensed_env, osv_db, isolated_home):
    report = audit_environment(licensed_env, db=str(osv_db), licenses=True)
    assert statuses(report) == {
        "packaging": ("Apache-2.0 OR BSD-2-Clause", "allowed"),
        "attrs": ("MIT", "allowed"),
    }
    assert not [f for f in report.findings if f.code.startswith("license")]


def test_real_metadata_free_text_and_policy_from_pyproject(vulnerable_env, osv_db, tmp_path, isolated_home):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.envkernels.audit]\ndeny = ["apache-2.0"]\nfail-on-unknown = true\n'
    )
    report = audit_environment(vulnerable_env, db=str(osv_db), licenses=True, project=str(tmp_path))
    assert statuses(report) == {
        "requests": ("Apache-2.0", "denied"),
        "urllib3": ("MIT", "allowed"),
        "pyyaml": ("MIT", "allowed"),
        "jinja2": ("BSD", "unknown"),
    }
    denied = next(f for f in report.findings if f.code == "license-denied")
    assert denied.package == "requests" and denied.severity == "error" and "Apache-2.0" in denied.message
    unknown = next(f for f in report.findings if f.code == "license-unknown")
    assert unknown.package == "Jinja2" and unknown.severity == "error"


def test_unknown_license_is_only_a_warning_without_fail_on_unknown(
    vulnerable_env, osv_db, tmp_path, isolated_home
):
    report = audit_environment(vulnerable_env, db=str(osv_db), licenses=True, project=str(tmp_path))
    unknown = next(f for f in report.findings if f.code == "license-unknown")
    assert unknown.severity == "warning"


def test_server_policy_and_project_policy_combine_strictly(vulnerable_env, osv_db, tmp_path, isolated_home):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.envkernels.audit]\nallow = ["MIT", "Apache-2.0", "BSD-3-Clause"]\n'
    )
    server = AuditConfig(allow=("MIT", "BSD-3-Clause"), deny=("LGPL-3.0-only",))
    merged, _notes = combine(server, read_project_config(tmp_path))
    assert set(merged.allow) == {"MIT", "BSD-3-Clause"} and merged.deny == ("LGPL-3.0-only",)
    report = audit_environment(
        vulnerable_env, db=str(osv_db), licenses=True, project=str(tmp_path), config=server
    )
    assert statuses(report)["requests"] == ("Apache-2.0", "denied")


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('allow = "MIT"', "must be a list"),
        ('deny = ["Not A License"]', "not an SPDX"),
        ("fail_on_unknowns = true", "unknown key"),
        ("cache-ttl = -1", "number of seconds"),
        ("fail-on-unknown = 1", "true or false"),
    ],
)
def test_bad_policy_in_pyproject_is_named_with_a_hint(tmp_path, table, words):
    (tmp_path / "pyproject.toml").write_text(f"[tool.envkernels.audit]\n{table}\n")
    with pytest.raises(BadInputError) as exc:
        read_project_config(tmp_path)
    assert words in exc.value.message and exc.value.hint


def test_unreadable_pyproject_is_bad_input(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.envkernels.audit\n")
    with pytest.raises(BadInputError, match="cannot be read as TOML"):
        read_project_config(tmp_path)
