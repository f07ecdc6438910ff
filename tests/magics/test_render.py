"""The HTML and text renderings of findings, audits, environments, locks and plans (pure functions)."""

from __future__ import annotations

import pytest

from envkernels import render
from envkernels.model import (
    AuditReport,
    Change,
    Environment,
    EnvironmentList,
    Finding,
    License,
    LockGap,
    LockSummary,
    Plan,
    Report,
    SyncOutcome,
    Vulnerability,
)

ENV = {
    "id": "venv-x-1",
    "name": "x",
    "kind": "venv",
    "prefix": "/e/x",
    "python": "/e/x/bin/python",
    "python_version": "3.11.7",
}
RECORD = Environment.from_dict(ENV)


def _finding(
    severity: str,
    code: str = "broken-requirement",
    package: str | None = "requests",
    message: str = "requests 2.32.3 requires idna<4,>=2.5, which is not installed",
    hint: str | None = "`uv pip install --python /e/x/bin/python 'idna<4,>=2.5'`",
    vulnerability: str | None = None,
) -> Finding:
    return Finding.from_dict(
        {
            "code": code,
            "severity": severity,
            "package": package,
            "message": message,
            "hint": hint,
            "vulnerability": vulnerability,
        }
    )


def test_findings_table_colours_severities_and_makes_the_fix_copyable() -> None:
    html, _ = render.render("report", Report(RECORD, (_finding("warning"), _finding("error"))))
    assert render.SEVERITY_COLOURS["error"] in html and render.SEVERITY_COLOURS["warning"] in html
    assert (
        '<code class="fix">uv pip install --python /e/x/bin/python &#x27;idna&lt;4,&gt;=2.5&#x27;</code>'
        in html
    )
    # most severe first
    assert html.index(">error<") < html.index(">warning<")
    assert "1 error, 1 warning" in html


def test_counts_read_as_english_in_every_medium() -> None:
    report = Report(RECORD, (_finding("error"), _finding("error", package="b"), _finding("info")))
    html, text = render.render("report", report)
    assert "2 errors, 1 info" in html and "2 errors, 1 info" in text


def test_values_from_outside_are_escaped_in_html() -> None:
    evil = _finding("error", package="<img src=x onerror=alert(1)>", message="<script>alert(1)</script>")
    vuln = Vulnerability("<b>p</b>", "1", 'GHSA-"x', ("CVE-1<2",), "<script>", ("2",), "osv", fix="`<i>`")
    html, _ = render.render("report", AuditReport(RECORD, (evil,), (vuln,)))
    assert "<script>" not in html and "<img" not in html and "<b>p</b>" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="https://osv.dev/vulnerability/GHSA-%22x"' in html


def test_audit_links_advisories_to_osv_and_shows_each_vulnerability_once_with_its_fix() -> None:
    engine_fix = "`uv lock --upgrade-package requests` (to >= 2.31.0 in `uv.lock`), then `uv sync`"
    vuln = Vulnerability(
        "requests",
        "2.19.0",
        "GHSA-x84v-xcm2-53pg",
        ("CVE-2018-18074", "PYSEC-2018-28"),
        "Insufficiently protected credentials",
        ("2.20.0",),
        "osv-local",
        fix=engine_fix,
    )
    other = Vulnerability(
        "requests", "2.19.0", "PYSEC-2023-74", (), "", ("2.31.0",), "osv-local", fix=engine_fix
    )
    findings = tuple(
        _finding(
            "error", code="vulnerability", message=f"requests 2.19.0: {v.id}", hint=v.fix, vulnerability=v.id
        )
        for v in (vuln, other)
    )
    report = AuditReport(RECORD, findings, (vuln, other), advisory_source="osv-db:/db")
    html, text = render.render("report", report)
    assert 'href="https://osv.dev/vulnerability/GHSA-x84v-xcm2-53pg"' in html
    assert 'href="https://osv.dev/vulnerability/CVE-2018-18074"' in html
    assert html.count('<code class="fix">uv lock --upgrade-package requests</code>') == 2  # one per row
    assert html.count("GHSA-x84v-xcm2-53pg</a>") == 1  # listed once, in the vulnerabilities table
    assert "Vulnerabilities</b>: 2" in html and "[vulnerability]" not in html
    assert "<td>vulnerability</td>" not in html  # the findings that name them are not listed again
    lines = text.splitlines()
    assert sum("GHSA-x84v-xcm2-53pg" in line for line in lines) == 1
    assert lines.count(f"fix requests: {engine_fix}") == 1
    assert "2 known vulnerabilities in 1 package" in text


def test_vulnerability_without_fixed_version_says_so() -> None:
    vuln = Vulnerability("p", "1", "OSV-1", (), "s", (), "osv", fix="no fixed release of `p` is known yet")
    html, text = render.render("report", AuditReport(RECORD, (), (vuln,)))
    assert "no fix yet" in html and "no fixed release of <code" in html
    assert "fix p: no fixed release of `p` is known yet" in text


def test_license_table_puts_denied_and_unknown_first_and_folds_the_allowed() -> None:
    licenses = (
        License("zlib-ok", "1", "MIT", "allowed"),
        License("mystery", "2", None, "unknown"),
        License("gpl-thing", "1", "GPL-3.0-only", "denied"),
    )
    html, text = render.render("report", AuditReport(RECORD, licenses=licenses))
    assert (
        html.index("gpl-thing") < html.index("mystery") < html.index("<details><summary>1 allowed</summary>")
    )
    assert html.index("<details>") < html.index("zlib-ok")
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["PACKAGE", "VERSION"])
    assert [ln.split()[0] for ln in lines[start + 1 : start + 3]] == ["gpl-thing", "mystery"]
    assert "licenses: 1 allowed, 2 denied or unknown" in text


def test_backticked_names_in_messages_become_code() -> None:
    html = render.html.findings_html(
        [_finding("error", message="requires `urllib3<3`, but 1.24.1 is installed")]
    )
    assert "requires <code>urllib3&lt;3</code>, but" in html
    odd = render.html.findings_html([_finding("error", message="a stray ` backtick")])
    assert "a stray ` backtick" in odd


def test_text_report_reads_without_colour_and_matches_the_cli() -> None:
    _, text = render.render("report", Report(RECORD, (_finding("warning"),)))
    assert "\x1b[" not in text
    assert text.splitlines()[0] == "x (venv, Python 3.11.7): /e/x"
    assert "warning  broken-requirement  requests  requests 2.32.3 requires idna" in text
    assert "         hint: `uv pip install --python /e/x/bin/python 'idna<4,>=2.5'`" in text
    assert text.splitlines()[-1] == "1 warning"


def test_report_without_findings_says_so() -> None:
    html, text = render.render("report", Report(RECORD))
    assert "no findings" in html and text.endswith("no findings")


def test_environments_mark_the_kernels_own_and_show_broken_ones_with_hint() -> None:
    other = dict(
        ENV,
        name="old",
        prefix="/e/old",
        status="broken",
        problem="the interpreter is gone",
        hint="`uv venv --clear /e/old`",
    )
    listing = EnvironmentList((RECORD, Environment.from_dict(other)), current="/e/x")
    html, text = render.render("environments", listing)
    assert "this kernel" in html and "the interpreter is gone" in html
    assert '<code class="fix">uv venv --clear /e/old</code>' in html
    lines = text.splitlines()
    assert lines[1].startswith("*  x") and lines[2].startswith("   old")
    assert "broken: the interpreter is gone" in lines[2]


def test_lock_result_lists_what_the_lock_cannot_give_back() -> None:
    lock = LockSummary(
        path="/p/pylock.toml",
        notebook=None,
        text="lock-version = '1.0'",
        packages=3,
        missing=(LockGap("six", "1.16.0", "--no-hashes: the index was not asked"),),
        not_reproducible=(LockGap("mypkg", "0.1", "editable install of /src"),),
        project_lock="/p/uv.lock",
        project_lock_agrees=False,
        project_lock_differences=("six is locked at 1.17.0, installed 1.16.0",),
        backup="/p/pylock.toml.bak",
        index="https://pypi.org/simple",
    )
    html, text = render.render("lock", lock, RECORD)
    assert "/p/pylock.toml" in html and "does NOT agree" in html and "/e/x" in html
    assert "six 1.16.0: --no-hashes: the index was not asked" in html
    assert "mypkg 0.1: editable install of /src" in text
    assert "lock-version" not in html  # the lock text itself is not dumped into the output
    assert text.startswith("locked 3 packages (2 with hashes) into /p/pylock.toml")
    assert "previous lock kept as /p/pylock.toml.bak" in text


def test_plan_lists_changes_and_says_how_to_apply() -> None:
    plan = Plan(
        lock="/p/pylock.toml",
        format="pylock",
        prefix="/e/x",
        downgrade=(Change("six", "1.17.0", "1.16.0"),),
        remove=(Change("idna", "3.7", None),),
        unchanged=4,
        is_empty=False,
        warnings=("lock made on another machine",),
    )
    html, text = render.render("plan", plan, RECORD)
    assert "%envsync /p/pylock.toml --apply" in html and "downgrade" in html
    assert "2 change(s), 4 unchanged" in text
    assert "downgrade  six      1.17.0     1.16.0" in text and "remove     idna     3.7" in text
    assert "warning: lock made on another machine" in text
    empty = Plan(lock="/p/pylock.toml", format="pylock", prefix="/e/x", unchanged=6)
    empty_html, empty_text = render.render("plan", empty)
    assert "In sync" in empty_html and empty_text.startswith("In sync with /p/pylock.toml")


def test_applied_sync_says_what_changed_and_how_to_undo() -> None:
    plan = Plan(
        lock="/p/pylock.toml", format="pylock", prefix="/e/x", upgrade=(Change("six", "1.16.0", "1.17.0"),)
    )
    outcome = SyncOutcome(
        plan=plan,
        applied=True,
        done=plan,
        changes=plan.upgrade,
        snapshot="/s/snap.toml",
        changed_modules=("six",),
    )
    html, text = render.render("sync", outcome, RECORD)
    assert text.startswith("Synced to /p/pylock.toml: 1 change(s)")
    assert "undo with: envkernels sync /s/snap.toml --target /e/x --yes" in text
    assert '<code class="fix">envkernels sync /s/snap.toml --target /e/x --yes</code>' in html
    assert "apply with" not in text
    nothing = render.text.plan_text(SyncOutcome(plan=Plan("/p/pylock.toml", "pylock", "/e/x"), applied=False))
    assert nothing.startswith("In sync with /p/pylock.toml")


def test_a_renderer_is_given_the_type_it_formats() -> None:
    with pytest.raises(TypeError, match="not a plan"):
        render.render("plan", Report(RECORD))


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown result kind"):
        render.render("nonsense", {})
