"""What every medium shows of a result, read once: severity counts, a lock's sections, a plan's rows.

The HTML and text renderers format these; neither re-reads the result to decide what to show.
Locks and sync plans still arrive as their JSON objects (``LockResult.to_dict``,
``SyncPlan.to_dict``, ``SyncResult.to_dict``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from envkernels.model import SEVERITIES, Finding

Data = Mapping[str, object]
PLAN_GROUPS = ("install", "upgrade", "downgrade", "reinstall", "remove")


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """``{severity: count}``, most severe first, only severities that occur."""
    counts = {s: 0 for s in reversed(SEVERITIES)}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return {s: n for s, n in counts.items() if n}


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _named(items: object) -> list[str]:
    out = []
    for i in _items(items):
        if isinstance(i, Mapping):
            out.append(
                f"{i.get('name')} {i.get('version') or ''}: {i.get('reason') or ''}".strip().rstrip(":")
            )
        else:
            out.append(str(i))
    return out


def lock_sections(data: Data) -> list[tuple[str, list[str]]]:
    """The parts of a lock result a reader must see: what has no hash, what cannot be reproduced."""
    sections = []
    if data.get("missing"):
        sections.append(
            ("Without URL and hash (will install, without hash checking)", _named(data["missing"]))
        )
    if data.get("not_reproducible"):
        sections.append(("Not reproducible elsewhere", _named(data["not_reproducible"])))
    if data.get("project_lock_differences"):
        sections.append(
            (
                f"`{data.get('project_lock')}` differs from what is installed",
                [str(x) for x in _items(data["project_lock_differences"])],
            )
        )
    if data.get("warnings"):
        sections.append(("Warnings", [str(x) for x in _items(data["warnings"])]))
    return sections


def lock_where(data: Data) -> str:
    """Where a lock went: its file, its notebook, or both."""
    return " and ".join(str(p) for p in (data.get("path"), data.get("notebook")) if p)


def plan_actions(plan: Data) -> list[dict[str, object]]:
    """A plan's changes as ``{"action", "name", "from", "to"}``, from its groups (``SyncPlan.to_dict``)."""
    return [
        {"action": group, **change}
        for group in PLAN_GROUPS
        for change in _items(plan.get(group))
        if isinstance(change, Mapping)
    ]


@dataclass(frozen=True)
class SyncParts:
    """What a plan or an applied sync shows: the head line, the rows, the undo command, warnings."""

    head: str
    lock: str
    rows: list[tuple[str, str, str, str]]
    undo: str | None
    warnings: list[str]


def sync_parts(data: Data, applied: bool) -> SyncParts:
    """The parts of a plan (``applied`` False) or of an applied sync (its ``done``: what changed on disk)."""
    nested = data.get("done") or data.get("plan")
    plan: Data = nested if applied and isinstance(nested, Mapping) else data
    lock = str(plan.get("lock") or data.get("lock"))
    actions = plan_actions(plan)
    rows = [
        (
            str(a.get("action", "?")),
            str(a.get("name") or "?"),
            str(a.get("from") or ""),
            str(a.get("to") or ""),
        )
        for a in actions
    ]
    n = len(rows)
    undo = None
    if applied and data.get("applied"):
        head = f"Synced to {lock}: {n} change(s)"
        if data.get("snapshot"):
            undo = f"envkernels sync {data['snapshot']} --target {plan.get('prefix')} --yes"
    elif n and not applied:
        head = f"Sync plan for {lock}: {n} change(s), {plan.get('unchanged', 0)} unchanged"
    else:
        head = f"In sync with {lock}: nothing to do"
    warnings = [
        str(w) for w in (*_items(plan.get("warnings")), *(_items(data.get("warnings")) if applied else ()))
    ]
    return SyncParts(head, lock, rows, undo, list(dict.fromkeys(warnings)))
