"""Plain text for the terminal and the notebook's text/plain: check and audit reports, environments,
locks and sync plans.

The CLI prints these (``paint`` colours severities on a terminal) and the kernel shows the same
text where HTML is not drawn. Like the HTML renderer it formats the model and decides nothing:
the order is the report's, a vulnerability's fix its ``fix``, each vulnerability listed once.
Every line reads right without colour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from envkernels.model import (
    AuditReport,
    Environment,
    Finding,
    License,
    LockSummary,
    Plan,
    Report,
    SyncOutcome,
    Vulnerability,
)
from envkernels.render.parts import counts_phrase, lock_head, lock_sections, sync_parts

Paint = Callable[[str, str], str]  # (text, what: error/warning/info/hint/ok) -> text, coloured or not
# Audit findings the audit text shows in their own place (the vulnerability table, the licenses
# summary, the "not checked" line); the CLI also names source and advisory problems on stderr.
_AUDIT_PLACED = ("vulnerability", "source-unavailable", "license-denied", "license-unknown")


def _plain(text: str, what: str) -> str:
    return text


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Aligned plain-text columns (trailing spaces stripped); empty when there are no rows."""
    if not rows:
        return ""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)


def environment_line(env: Environment) -> str:
    """``name (kind, Python X): prefix`` (a lockfile audit says ``lockfile PATH``)."""
    where = env.prefix if env.kind != "lockfile" else f"lockfile {env.prefix}"
    python = f", Python {env.python_version or '?'}" if env.kind != "lockfile" else ""
    return f"{env.name} ({env.kind}{python}): {where}"


def findings_text(findings: Sequence[Finding], paint: Paint = _plain) -> list[str]:
    """Findings as aligned rows (severity, code, package, message), each followed by its ``hint:`` line."""
    if not findings:
        return []
    wsev = max(len(f.severity) for f in findings)
    wcode = max(len(f.code) for f in findings)
    wpkg = max(len(f.package or "-") for f in findings)
    lines = []
    for f in findings:
        sev = paint(f.severity.ljust(wsev), f.severity)
        lines.append(f"{sev}  {f.code.ljust(wcode)}  {(f.package or '-').ljust(wpkg)}  {f.message}")
        if f.hint:
            lines.append(f"{' ' * (wsev + 2)}{paint('hint', 'hint')}: {f.hint}")
    return lines


def _counts(findings: Sequence[Finding]) -> str:
    return counts_phrase(findings)


def check_text(report: Report, paint: Paint = _plain) -> str:
    """``envkernels check``'s output: the environment, the findings with their hints, the counts."""
    lines = [environment_line(report.environment)]
    if not report.findings:
        return "\n".join([*lines, "no findings"])
    lines += findings_text(report.findings, paint)
    lines.append(_counts(report.findings))
    return "\n".join(lines)


def vulnerabilities_text(vulns: Sequence[Vulnerability]) -> list[str]:
    """The vulnerabilities table, then one ``fix PACKAGE: ...`` line per vulnerable package."""
    if not vulns:
        return []
    rows = [(v.package, v.version, v.id, ", ".join(v.fixed_in) or "-", ", ".join(v.aliases)) for v in vulns]
    lines = [table(("PACKAGE", "VERSION", "ID", "FIXED IN", "ALIASES"), rows), ""]
    fixes: dict[str, str] = {}
    for v in vulns:
        if v.fix:
            fixes.setdefault(v.package, v.fix)
    lines += [f"fix {pkg}: {fix}" for pkg, fix in fixes.items()]
    return lines


def licenses_text(licenses: Sequence[License]) -> list[str]:
    """The denied and unknown licenses as a table, and how many are allowed."""
    flagged = [x for x in licenses if x.status != "allowed"]
    lines = []
    if flagged:
        lines.append(
            table(
                ("PACKAGE", "VERSION", "LICENSE", "STATUS"),
                [(x.package, x.version, x.license or "-", x.status) for x in flagged],
            )
        )
    lines.append(f"licenses: {len(licenses) - len(flagged)} allowed, {len(flagged)} denied or unknown")
    return lines


def _verdict(report: AuditReport) -> list[str]:
    unavailable = [f for f in report.findings if f.code == "source-unavailable"]
    if unavailable:
        names = sorted({f.package for f in unavailable if f.package})
        if names and all(f.package for f in unavailable):
            return [f"not checked: {', '.join(names)} (their advisories could not be read)"]
        return [f"not checked: the advisory source did not answer in full ({len(report.skipped)} skipped)"]
    vulns = report.vulnerabilities
    lines = []
    if vulns:
        packages = len({v.package for v in vulns})
        noun = "vulnerability" if len(vulns) == 1 else "vulnerabilities"
        lines.append(f"{len(vulns)} known {noun} in {packages} package{'s' if packages != 1 else ''}")
    else:
        lines.append("no known vulnerabilities")
    if report.skipped:
        lines.append(
            f"{len(report.skipped)} packages skipped: " + ", ".join(s.package for s in report.skipped)
        )
    return lines


def audit_text(report: AuditReport, paint: Paint = _plain) -> str:
    """``envkernels audit``'s output: the vulnerabilities (each once) with the fix per package, the
    licenses, the other findings, and the verdict ("not checked" whenever something was not)."""
    lines = [environment_line(report.environment), f"advisories: {report.advisory_source or '?'}"]
    if report.vulnerabilities:
        lines += ["", *vulnerabilities_text(report.vulnerabilities)]
    if report.licenses is not None:
        lines += ["", *licenses_text(report.licenses)]
    others = [
        f for f in report.findings if f.code not in _AUDIT_PLACED and not f.code.startswith("advisory-")
    ]
    if others:
        lines.append("")
        lines += [
            f"{paint(f.severity, f.severity)}: {f.code} {f.package or '-'}: {f.message}" for f in others
        ]
    lines += ["", *_verdict(report)]
    return "\n".join(lines)


def environments_text(environments: Sequence[Environment], current: str | None = None) -> str:
    """The environments as aligned text; the kernel's own (prefix ``current``) is marked with ``*``."""
    rows = [
        (
            "*" if current and e.prefix == current else " ",
            e.name,
            e.kind,
            e.python_version or "?",
            e.prefix,
            e.status if not e.problem else f"{e.status}: {e.problem}",
        )
        for e in environments
    ]
    return table(("", "name", "kind", "python", "prefix", "status"), rows) or "no environments found"


def lock_text(lock: LockSummary) -> str:
    """A written lock: where it went, and what the lock cannot give back."""
    lines = [lock_head(lock)]
    if lock.backup:
        lines.append(f"previous lock kept as {lock.backup}")
    for title, items in lock_sections(lock):
        lines.append(f"{title}:")
        lines.extend(f"  - {i}" for i in items)
    return "\n".join(lines)


def plan_text(result: Plan | SyncOutcome) -> str:
    """A sync plan (or an applied sync's outcome): the changes, how to apply or undo, warnings."""
    shown = sync_parts(result)
    lines = [shown.head]
    if shown.rows:
        lines.append(table(("action", "package", "installed", "locked"), shown.rows))
    if shown.rows and isinstance(result, Plan):
        lines.append(f"apply with: %envsync {shown.lock} --apply")
    if shown.undo:
        lines.append(f"undo with: {shown.undo}")
    lines.extend(f"warning: {w}" for w in shown.warnings)
    return "\n".join(lines)
