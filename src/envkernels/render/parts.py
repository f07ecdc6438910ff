"""What every medium shows of a result, read once: severity counts, a lock's sections, a plan's rows.

The HTML and text renderers format these; neither re-reads the result to decide what to show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from envkernels.model import SEVERITIES, Finding, LockGap, LockSummary, Plan, SyncOutcome


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """``{severity: count}``, most severe first, only severities that occur."""
    counts = {s: 0 for s in reversed(SEVERITIES)}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return {s: n for s, n in counts.items() if n}


def counts_phrase(findings: Iterable[Finding]) -> str:
    """``"2 errors, 1 warning"`` (most severe first), or ``""`` when there are no findings."""
    return ", ".join(
        f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in severity_counts(findings).items()
    )


def _gaps(items: Iterable[LockGap]) -> list[str]:
    return [f"{g.name} {g.version or ''}: {g.reason}".strip().rstrip(":") for g in items]


def lock_sections(lock: LockSummary) -> list[tuple[str, list[str]]]:
    """The parts of a lock a reader must see: what has no hash, what cannot be reproduced."""
    sections = []
    if lock.missing:
        sections.append(("Without URL and hash (will install, without hash checking)", _gaps(lock.missing)))
    if lock.not_reproducible:
        sections.append(("Not reproducible elsewhere", _gaps(lock.not_reproducible)))
    if lock.project_lock_differences:
        sections.append(
            (f"`{lock.project_lock}` differs from what is installed", list(lock.project_lock_differences))
        )
    if lock.warnings:
        sections.append(("Warnings", list(lock.warnings)))
    return sections


def lock_where(lock: LockSummary) -> str:
    """Where a lock went: its file, its notebook, or both."""
    return " and ".join(p for p in (lock.path, lock.notebook) if p)


def lock_head(lock: LockSummary) -> str:
    """One line: how many packages were locked (how many with hashes) and where."""
    hashed = lock.packages - len(lock.missing)
    return f"locked {lock.packages} packages ({hashed} with hashes) into {lock_where(lock) or '-'}"


@dataclass(frozen=True)
class SyncParts:
    """What a plan or an applied sync shows: the head line, the rows, the undo command, warnings."""

    head: str
    lock: str
    rows: list[tuple[str, str, str, str]]
    undo: str | None
    warnings: list[str]


def sync_parts(result: Plan | SyncOutcome) -> SyncParts:
    """The parts of a plan, or of an applied sync (its ``done``: what changed on disk)."""
    applied = isinstance(result, SyncOutcome)
    plan = (result.done or result.plan) if isinstance(result, SyncOutcome) else result
    rows: list[tuple[str, str, str, str]] = [(a, c.name, c.old or "", c.new or "") for a, c in plan.actions()]
    n = len(rows)
    undo = None
    if isinstance(result, SyncOutcome) and result.applied:
        head = f"Synced to {plan.lock}: {n} change(s)"
        if result.snapshot:
            undo = f"envkernels sync {result.snapshot} --target {plan.prefix} --yes"
    elif n and not applied:
        head = f"Sync plan for {plan.lock}: {n} change(s), {plan.unchanged} unchanged"
    else:
        head = f"In sync with {plan.lock}: nothing to do"
    warnings = [*plan.warnings, *(result.warnings if isinstance(result, SyncOutcome) else ())]
    return SyncParts(head, plan.lock, rows, undo, list(dict.fromkeys(warnings)))
