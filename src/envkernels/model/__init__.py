"""The result model: every answer envkernels gives, as frozen dataclasses with one JSON form.

Environments, findings, vulnerabilities (each carrying its fix), licenses, input problems and the
reports that hold them (``Report`` for ``check``, ``AuditReport`` for ``audit``). The CLI's
``--json``, the REST API, the kernel worker and the kernelspec metadata all carry ``to_dict()`` of
these, the shapes docs/reference.md documents; ``from_dict`` reads them back. The JSON form is
derived from the dataclass fields by one codec (:mod:`envkernels.model.codec`), which also writes
the JSON Schema (docs/schema/results.schema.json). The records live in ``records.py`` (environments,
findings, vulnerabilities, reports), ``plans.py`` (locks and sync plans) and ``graphs.py`` (trees
and diffs); this package exports them all.

One canonical order lives here: reports sort their findings, vulnerabilities and licenses when
they are built (:func:`finding_order`, :func:`vulnerability_order`, :func:`license_order`), so
every renderer shows them in the same order without sorting again.

A vulnerability is one object: its advisory, the fixed versions and ``fix`` (the advice that lifts
it). The ``vulnerability`` finding that makes an audit fail names it (``Finding.vulnerability``,
the advisory id, with ``Finding.package``) instead of standing for a second copy; renderers draw
it once, from ``AuditReport.vulnerabilities``.
"""

from __future__ import annotations

from envkernels.model.codec import Record
from envkernels.model.graphs import (
    DIFF_STATUSES,
    Diff,
    DiffRow,
    DiffSide,
    DiffSideType,
    DiffStatus,
    PackageNode,
    Requirement,
    Tree,
    WhyPaths,
)
from envkernels.model.plans import (
    PLAN_ACTIONS,
    Change,
    LockGap,
    LockSummary,
    PackageOrigin,
    Plan,
    PlanAction,
    SyncOutcome,
)
from envkernels.model.records import (
    FINDING_CODES,
    KINDS,
    SEVERITIES,
    AuditReport,
    Environment,
    EnvironmentKind,
    EnvironmentList,
    Finding,
    InputProblem,
    InstalledPackage,
    Kind,
    License,
    LicenseStatus,
    Report,
    Severity,
    Skipped,
    Status,
    Vulnerability,
    environment_kind,
    finding_order,
    license_order,
    report_from_dict,
    severity_rank,
    sort_findings,
    vulnerability_order,
    worst,
)

RESULT_TYPES: tuple[type[Record], ...] = (
    Report,
    AuditReport,
    LockSummary,
    Plan,
    SyncOutcome,
    Tree,
    Diff,
    EnvironmentList,
)
"""The top-level results whose JSON Schema docs/schema/results.schema.json holds (with what they contain)."""

__all__ = [
    "DIFF_STATUSES",
    "FINDING_CODES",
    "KINDS",
    "PLAN_ACTIONS",
    "RESULT_TYPES",
    "SEVERITIES",
    "AuditReport",
    "Change",
    "Diff",
    "DiffRow",
    "DiffSide",
    "DiffSideType",
    "DiffStatus",
    "Environment",
    "EnvironmentKind",
    "EnvironmentList",
    "Finding",
    "InputProblem",
    "InstalledPackage",
    "Kind",
    "License",
    "LicenseStatus",
    "LockGap",
    "LockSummary",
    "PackageNode",
    "PackageOrigin",
    "Plan",
    "PlanAction",
    "Report",
    "Requirement",
    "Severity",
    "Skipped",
    "Status",
    "SyncOutcome",
    "Tree",
    "Vulnerability",
    "WhyPaths",
    "environment_kind",
    "finding_order",
    "license_order",
    "report_from_dict",
    "severity_rank",
    "sort_findings",
    "vulnerability_order",
    "worst",
]
