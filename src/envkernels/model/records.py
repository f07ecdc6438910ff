"""The core records: environments, findings, vulnerabilities, licenses, input problems, and the
check and audit reports that hold them, with the canonical order (see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from envkernels.model.codec import Record

Kind = Literal["venv", "uv", "poetry", "pdm", "hatch", "pipenv", "conda", "pixi", "pyenv", "system"]
KINDS: tuple[Kind, ...] = get_args(Kind)
# An audit of a lockfile reports under a record of kind ``lockfile`` (its prefix is the lock's path).
EnvironmentKind = Literal[
    "venv", "uv", "poetry", "pdm", "hatch", "pipenv", "conda", "pixi", "pyenv", "system", "lockfile"
]
Status = Literal["ok", "broken", "unsupported"]
Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")  # least severe first
LicenseStatus = Literal["allowed", "denied", "unknown"]

# Every finding code, in the order reports list them within one severity (docs/reference.md's order:
# check's codes, then audit's). A code not named here sorts after these, alphabetically.
FINDING_CODES: tuple[str, ...] = (
    # check
    "environment-broken",
    "sync-interrupted",
    "broken-requirement",
    "missing-declared",
    "declared-version-mismatch",
    "lock-missing",
    "lock-extra",
    "lock-version-mismatch",
    "python-mismatch",
    "undeclared-import",
    "kernel-env-mismatch",
    "duplicate-distribution",
    "invalid-metadata",
    "lock-not-used",
    # audit
    "source-unavailable",
    "vulnerability",
    "license-denied",
    "license-unknown",
    "version-invalid",
    "advisory-invalid",
    "advisory-unavailable",
    "lock-warning",
    "config-ignored",
)
_SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
_CODE_RANK = {code: i for i, code in enumerate(FINDING_CODES)}
_LICENSE_RANK: dict[str, int] = {"denied": 0, "unknown": 1, "allowed": 2}


@dataclass(frozen=True)
class Environment(Record):
    """One Python environment, as discovery found it on disk (docs/reference.md: the environment record)."""

    id: str
    kind: EnvironmentKind
    name: str
    prefix: str
    python: str | None
    python_version: str | None
    implementation: str = "cpython"
    free_threaded: bool = False
    project: str | None = None
    lockfiles: tuple[str, ...] = ()
    has_ipykernel: bool = False
    kernel_name: str = ""
    status: Status = "ok"
    problem: str | None = None
    hint: str | None = None
    # Under a shared root (an administrator's read-only environments): envkernels never writes there.
    shared: bool = False

    @property
    def ok(self) -> bool:
        """True when the environment is usable (``status == "ok"``)."""
        return self.status == "ok"


@dataclass(frozen=True)
class InstalledPackage(Record):
    """A distribution installed in an environment (``%envs`` lists the kernel's own)."""

    name: str
    version: str
    summary: str | None = None
    installer: str | None = None
    editable: bool = False
    problem: str | None = None


@dataclass(frozen=True)
class EnvironmentList(Record):
    """``%envs``: the environments found, the kernel's own prefix (``current``) and its packages."""

    environments: tuple[Environment, ...] = ()
    current: str | None = None
    packages: tuple[InstalledPackage, ...] = ()


@dataclass(frozen=True)
class Finding(Record):
    """One thing `check`, `audit` or `doctor` has to say: docs/reference.md's finding.

    ``vulnerability``: for code ``vulnerability``, the id of the :class:`Vulnerability` of
    ``package`` in the same report that this finding stands for (null otherwise).
    """

    code: str
    severity: Severity
    package: str | None
    message: str
    hint: str | None = None
    vulnerability: str | None = None


@dataclass(frozen=True)
class Vulnerability(Record):
    """One known vulnerability of one installed (or locked) ``package`` at ``version``.

    ``id`` is the preferred advisory id (PYSEC, then GHSA, then CVE), ``aliases`` the others that
    name the same flaw; ``fixed_in`` the releases that close it; ``fix`` the advice that lifts every
    vulnerability of this package at once (backticks around commands), or why none is known;
    ``severity`` is the advisory's own rating (e.g. a CVSS vector), not a finding severity.
    """

    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    fixed_in: tuple[str, ...] = ()
    source: str = ""
    severity: str | None = None
    url: str | None = None
    fix: str | None = None


@dataclass(frozen=True)
class License(Record):
    """A distribution's license and the policy's verdict (``audit --licenses``)."""

    package: str
    version: str
    license: str | None
    status: LicenseStatus


@dataclass(frozen=True)
class Skipped(Record):
    """A package the audit could not check (``reason`` says why): "not checked", never "clean"."""

    package: str
    version: str
    reason: str


@dataclass(frozen=True)
class InputProblem(Record):
    """A file of the user's that `check` could not read: ``path`` (``line`` where known), why, the fix."""

    path: str
    message: str
    hint: str | None = None
    line: int | None = None


def environment_kind(kind: str) -> EnvironmentKind:
    """``kind`` as an :data:`EnvironmentKind`; raises ValueError for a kind envkernels does not know."""
    for known in get_args(EnvironmentKind):
        if kind == known:
            return known
    raise ValueError(f"unknown environment kind {kind!r}")


def severity_rank(severity: str) -> int:
    """Order severities so thresholds can be compared: info < warning < error."""
    return _SEVERITY_RANK.get(severity, 0)


def finding_order(f: Finding) -> tuple[int, int, str, str, str]:
    """The canonical order: most severe first, then by code (:data:`FINDING_CODES`), package, message."""
    return (
        -severity_rank(f.severity),
        _CODE_RANK.get(f.code, len(_CODE_RANK)),
        f.code,
        f.package or "",
        f.message,
    )


def vulnerability_order(v: Vulnerability) -> tuple[str, str, str]:
    """Vulnerabilities by package (case-insensitive), version, advisory id."""
    return (v.package.lower(), v.version, v.id)


def license_order(x: License) -> tuple[int, str, str]:
    """Denied first, then unknown, then allowed; by package within each."""
    return (_LICENSE_RANK.get(x.status, 1), x.package.lower(), x.version)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """``findings`` in the canonical order (:func:`finding_order`)."""
    return tuple(sorted(findings, key=finding_order))


def worst(findings: Iterable[Finding]) -> Severity | None:
    """The most severe severity among ``findings``, or None when there are none."""
    found: Severity | None = None
    for f in findings:
        if found is None or severity_rank(f.severity) > severity_rank(found):
            found = f.severity
    return found


def _set(obj: object, name: str, value: object) -> None:
    # A frozen dataclass sorts its own lists once, at construction: one order, whoever built it.
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class Report(Record):
    """``check``'s answer about one environment: ``{"environment", "findings", "input_errors"}``.

    ``input_errors``: files of the user's that could not be read; a report with any is no verdict
    (the CLI exits 2 naming each).
    """

    environment: Environment
    findings: tuple[Finding, ...] = ()
    input_errors: tuple[InputProblem, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "findings", sort_findings(self.findings))

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return self.worst() != "error"

    def worst(self) -> Severity | None:
        """The most severe finding's severity, or None when there are none."""
        return worst(self.findings)


@dataclass(frozen=True)
class AuditReport(Record):
    """``audit``'s answer: findings plus the vulnerabilities (each once, with its fix) and licenses.

    ``licenses`` is None when licenses were not read (the key is then absent from the JSON);
    ``skipped`` what could not be checked; ``advisory_source`` which database or API answered;
    ``checked`` false whenever anything was left unchecked (no clean verdict then).
    """

    environment: Environment
    findings: tuple[Finding, ...] = ()
    vulnerabilities: tuple[Vulnerability, ...] = ()
    licenses: tuple[License, ...] | None = field(default=None, metadata={"omit_none": True})
    skipped: tuple[Skipped, ...] = ()
    advisory_source: str = ""
    checked: bool = True

    def __post_init__(self) -> None:
        _set(self, "findings", sort_findings(self.findings))
        _set(self, "vulnerabilities", tuple(sorted(self.vulnerabilities, key=vulnerability_order)))
        if self.licenses is not None:
            _set(self, "licenses", tuple(sorted(self.licenses, key=license_order)))

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return self.worst() != "error"

    def worst(self) -> Severity | None:
        """The most severe finding's severity, or None when there are none."""
        return worst(self.findings)

    def vulnerability_of(self, finding: Finding) -> Vulnerability | None:
        """The vulnerability a ``vulnerability`` finding names (None for any other finding)."""
        if finding.vulnerability is None:
            return None
        return next(
            (
                v
                for v in self.vulnerabilities
                if v.id == finding.vulnerability and v.package == finding.package
            ),
            None,
        )

    def fixes(self) -> dict[str, str]:
        """Per vulnerable package, the advice that lifts all its vulnerabilities (in report order)."""
        return {v.package: v.fix for v in self.vulnerabilities if v.fix}

    def other_findings(self) -> tuple[Finding, ...]:
        """The findings that do not stand for a vulnerability (those are shown with their vulnerability)."""
        return tuple(f for f in self.findings if f.vulnerability is None)


def report_from_dict(data: Mapping[str, object]) -> Report | AuditReport:
    """A check or an audit report from its JSON object (an audit's names its ``advisory_source``)."""
    return AuditReport.from_dict(data) if "advisory_source" in data else Report.from_dict(data)
