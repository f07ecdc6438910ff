"""The result model: one JSON form (round trips, the committed schema), one order, nothing counted twice.

The schema (docs/schema/results.schema.json) and the TypeScript types (labextension/src/schema.ts)
are generated from the dataclasses; these tests fail when either is stale, when an object's JSON
does not validate against the schema, or when the extension declares result types of its own.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envkernels import render
from envkernels.kernel_side import envkernels_widgets as widgets
from envkernels.model import (
    FINDING_CODES,
    AuditReport,
    Change,
    Diff,
    Environment,
    EnvironmentList,
    Finding,
    InputProblem,
    License,
    LockSummary,
    Plan,
    Report,
    Skipped,
    SyncOutcome,
    Tree,
    Vulnerability,
    finding_order,
    report_from_dict,
)
from envkernels.model import schema as model_schema
from envkernels.model.codec import Record

ROOT = Path(__file__).resolve().parent.parent
RECORDS = (
    Environment,
    Finding,
    Vulnerability,
    License,
    Skipped,
    InputProblem,
    Report,
    AuditReport,
    Change,
    Plan,
    LockSummary,
    Tree,
    Diff,
    EnvironmentList,
)
ENV = Environment("venv-x-1", "venv", "x", "/e/x", "/e/x/bin/python", "3.11.7")


def _validator() -> jsonschema.Draft202012Validator:
    doc = model_schema.schema()
    jsonschema.Draft202012Validator.check_schema(doc)
    return jsonschema.Draft202012Validator(doc)


VALIDATOR = _validator()


def _validate(cls: type[Record], data: object) -> None:
    ref = {"$ref": f"#/$defs/{cls.__name__}", "$defs": model_schema.schema()["$defs"]}
    jsonschema.Draft202012Validator(ref).validate(data)


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_record_round_trips_through_json_and_validates(cls: type[Record], data: st.DataObject) -> None:
    obj = data.draw(st.from_type(cls))
    wire = json.loads(json.dumps(obj.to_dict()))
    assert type(obj).from_dict(wire) == obj
    _validate(cls, wire)


@settings(max_examples=25, deadline=None)
@given(outcome=st.builds(SyncOutcome, seconds=st.floats(allow_nan=False, allow_infinity=False)))
def test_a_sync_outcome_round_trips(outcome: SyncOutcome) -> None:
    wire = json.loads(json.dumps(outcome.to_dict()))
    assert SyncOutcome.from_dict(wire) == outcome
    _validate(SyncOutcome, wire)
    assert "from" in wire["plan"]["install"][0] if outcome.plan.install else True


def test_a_change_keeps_its_documented_keys() -> None:
    """docs/reference.md's plan: each change is ``{"name", "from", "to"}``."""
    assert Change("six", "1.16.0", None).to_dict() == {"name": "six", "from": "1.16.0", "to": None}
    assert Change.from_dict({"name": "six", "from": None, "to": "1.17.0"}) == Change("six", None, "1.17.0")


@settings(max_examples=40, deadline=None)
@given(report=st.one_of(st.from_type(Report), st.from_type(AuditReport)))
def test_reports_are_told_apart_by_their_json(report: Report | AuditReport) -> None:
    wire = json.loads(json.dumps(report.to_dict()))
    VALIDATOR.validate(wire)
    assert report_from_dict(wire) == report


def test_audit_json_keeps_the_documented_keys() -> None:
    """docs/reference.md: the audit's keys; ``licenses`` only when licenses were read."""
    audit = AuditReport(ENV, advisory_source="osv-db:/db")
    assert list(audit.to_dict()) == [
        "environment",
        "findings",
        "vulnerabilities",
        "skipped",
        "advisory_source",
        "checked",
    ]
    with_licenses = AuditReport(ENV, licenses=(License("p", "1", "MIT", "allowed"),))
    assert with_licenses.to_dict()["licenses"] == [
        {"package": "p", "version": "1", "license": "MIT", "status": "allowed"}
    ]
    assert list(Report(ENV).to_dict()) == ["environment", "findings", "input_errors"]
    # unknown keys (the REST API's project_path, a newer writer's) are ignored, absent ones defaulted
    record = Environment.from_dict({**ENV.to_dict(), "project_path": ".", "future": 1, "lockfiles": None})
    assert record == ENV


def test_committed_schema_and_typescript_types_are_what_the_model_gives() -> None:
    committed = (ROOT / model_schema.SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == model_schema.schema_text(), "run `python -m envkernels.model.schema --write`"
    ts = (ROOT / model_schema.TYPESCRIPT_PATH).read_text(encoding="utf-8")
    assert ts == model_schema.typescript(), "run `python -m envkernels.model.schema --write`"
    assert model_schema.main(["--root", str(ROOT), "--check"]) == 0


def _interfaces(source: str) -> dict[str, dict[str, str]]:
    """``{name: {field: type}}`` of the ``export interface`` blocks of a TypeScript file (a small parser)."""
    found: dict[str, dict[str, str]] = {}
    for name, body in re.findall(r"export interface (\w+)(?: extends [\w, ]+)? \{\n(.*?)\n\}", source, re.S):
        fields = {}
        for line in body.splitlines():
            m = re.fullmatch(r"\s*(\w+)(\??): (.+);", line)
            if m:
                fields[m.group(1) + m.group(2)] = m.group(3)
        found[name] = fields
    return found


def test_typescript_types_match_the_schema_field_by_field() -> None:
    """Read back from schema.ts: every record, every key (optional exactly when not required), its type."""
    doc = model_schema.schema()
    parsed = _interfaces((ROOT / model_schema.TYPESCRIPT_PATH).read_text(encoding="utf-8"))
    defs = doc["$defs"]
    assert isinstance(defs, dict)
    assert set(parsed) == {f"I{name}" for name in defs}
    for name, record in defs.items():
        assert isinstance(record, dict)
        properties, required = record["properties"], record["required"]
        assert isinstance(properties, dict) and isinstance(required, list)
        want = {(k if k in required else f"{k}?"): model_schema._ts_type(v) for k, v in properties.items()}
        assert parsed[f"I{name}"] == want, name
    env = parsed["IEnvironment"]
    assert env["status"] == "'ok' | 'broken' | 'unsupported'" and env["lockfiles"] == "string[]"
    assert parsed["IAuditReport"]["licenses?"] == "ILicense[]"


def test_the_extension_declares_no_result_type_of_its_own() -> None:
    """api.ts takes the records from schema.ts (no hand copy that can drift)."""
    api = (ROOT / "labextension/src/api.ts").read_text(encoding="utf-8")
    generated = set(_interfaces((ROOT / model_schema.TYPESCRIPT_PATH).read_text(encoding="utf-8")))
    declared = set(re.findall(r"export (?:interface|type) (\w+)", api))
    assert not (declared & generated) - {"IReport", "IEnvironment", "ITree"}
    assert "from './schema'" in api
    # IEnvironment, IReport and ITree of api.ts build on the generated ones instead of copying them
    assert "IEnvironment extends IEnvironmentRecord" in api and "IReport as ICheckReport" in api
    assert "ITree extends ITreeRecord" in api and "ILockAnswer extends ILockSummary" in api


def _finding(severity: str, code: str, package: str | None, message: str = "m") -> Finding:
    return Finding(code, severity, package, message)  # type: ignore[arg-type]


def test_one_order_for_findings_wherever_they_are_built_or_shown() -> None:
    findings = [
        _finding("info", "lock-not-used", None),
        _finding("warning", "undeclared-import", "zzz"),
        _finding("error", "lock-missing", "b"),
        _finding("error", "broken-requirement", "z"),
        _finding("error", "broken-requirement", "a"),
        _finding("warning", "a-code-nobody-knows", "a"),
        _finding("error", "environment-broken", None),
    ]
    want = [
        ("error", "environment-broken", None),
        ("error", "broken-requirement", "a"),
        ("error", "broken-requirement", "z"),
        ("error", "lock-missing", "b"),
        ("warning", "undeclared-import", "zzz"),
        ("warning", "a-code-nobody-knows", "a"),  # unknown codes after the known ones
        ("info", "lock-not-used", None),
    ]
    for seed in range(5):
        shuffled = list(findings)
        random.Random(seed).shuffle(shuffled)
        report = Report(ENV, tuple(shuffled))
        assert [(f.severity, f.code, f.package) for f in report.findings] == want
        wire = report.to_dict()
        random.Random(seed).shuffle(wire["findings"])  # type: ignore[arg-type]
        assert Report.from_dict(wire) == report  # read back in any order: the same report
        html, text = render.render("report", report)
        rows = [line.split()[:2] for line in text.splitlines()[1:-1] if not line.startswith(" ")]
        assert [tuple(r) for r in rows] == [(s, c) for s, c, _p in want]
        body = html.split("<tbody>", 1)[1]
        rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]
        shown = [(re.sub(r"<[^>]+>", "", r[1]), re.sub(r"<[^>]+>", "", r[2]) or None) for r in rows]
        assert shown == [(c, p) for _s, c, p in want]
    assert all(c in FINDING_CODES for c in ("vulnerability", "source-unavailable", "lock-missing"))
    assert sorted(findings, key=finding_order) == list(Report(ENV, tuple(findings)).findings)


def _urllib3_audit(n: int = 7) -> AuditReport:
    fix = "`uv pip install --python /e/x/bin/python 'urllib3>=2.2.2'`"
    vulns = tuple(
        Vulnerability(
            "urllib3",
            "1.24.1",
            f"PYSEC-2020-{i:03d}",
            (f"CVE-2020-{i}",),
            f"flaw {i}",
            ("2.2.2",),
            "osv",
            fix=fix,
        )
        for i in range(n)
    )
    findings = tuple(
        Finding("vulnerability", "error", v.package, f"urllib3 1.24.1: {v.id}", v.fix, vulnerability=v.id)
        for v in vulns
    )
    return AuditReport(
        ENV, (*findings, _finding("warning", "version-invalid", "odd")), vulns, advisory_source="osv"
    )


def test_a_vulnerability_is_counted_and_shown_once() -> None:
    """7 advisories of urllib3: "urllib3 (7, error)" in the widgets, 7 rows in HTML and text (was 14)."""
    report = _urllib3_audit(7)
    assert all(report.vulnerability_of(f) is not None for f in report.findings if f.code == "vulnerability")
    assert report.other_findings() == (report.findings[-1],)
    assert report.fixes() == {"urllib3": report.vulnerabilities[0].fix}
    groups = widgets._by_package(report.to_dict())
    assert len(groups["urllib3"]) == 7 and len(groups["odd"]) == 1
    section = widgets._section_html(groups["urllib3"])
    assert section.count(">PYSEC-2020-000</a>") == 1 and section.count("urllib3&gt;=2.2.2") == 7
    assert f"urllib3 ({len(groups['urllib3'])}, {widgets._worst(groups['urllib3'])})" == "urllib3 (7, error)"
    html, text = render.render("report", report)
    for v in report.vulnerabilities:
        assert html.count(f">{v.id}</a>") == 1
        assert sum(v.id in line for line in text.splitlines()) == 1
    assert "Vulnerabilities</b>: 7" in html and "7 known vulnerabilities in 1 package" in text
    assert text.count("fix urllib3:") == 1
