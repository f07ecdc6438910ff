"""What a lock and a sync say: the written lock's summary, a sync plan, an applied sync.

The engines keep their working objects (``lockfiles/writer.LockResult``, ``sync/plan.SyncPlan``,
``sync/apply.SyncResult``, which hold the parsed lock and what was scanned); their ``record()`` is
one of these, and their ``to_dict()`` its JSON form (CLI ``--json``, REST, the kernel worker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from envkernels.model.codec import Record

PlanAction = Literal["install", "upgrade", "downgrade", "reinstall", "remove"]
PLAN_ACTIONS: tuple[PlanAction, ...] = ("install", "upgrade", "downgrade", "reinstall", "remove")


@dataclass(frozen=True)
class Change(Record):
    """One package a sync changes: ``old`` is None for an install, ``new`` None for a removal."""

    name: str
    old: str | None = field(metadata={"key": "from"})
    new: str | None = field(metadata={"key": "to"})


@dataclass(frozen=True)
class PackageOrigin(Record):
    """A package that is not a plain index download: ``kind`` (directory, vcs, url, ...) and ``where``."""

    name: str
    kind: str
    where: str

    def label(self) -> str:
        """What the plan prints after the package."""
        return f"[{self.kind}: {self.where}]"


@dataclass(frozen=True)
class Plan(Record):
    """What a sync would do to ``prefix`` to match ``lock``: the changes by action, in that order."""

    lock: str
    format: str
    prefix: str
    install: tuple[Change, ...] = ()
    upgrade: tuple[Change, ...] = ()
    downgrade: tuple[Change, ...] = ()
    reinstall: tuple[Change, ...] = ()
    remove: tuple[Change, ...] = ()
    unchanged: int = 0
    is_empty: bool = True
    warnings: tuple[str, ...] = ()
    sources: tuple[PackageOrigin, ...] = ()

    def actions(self) -> tuple[tuple[PlanAction, Change], ...]:
        """Every change with its action, in the order install, upgrade, downgrade, reinstall, remove."""
        groups = (self.install, self.upgrade, self.downgrade, self.reinstall, self.remove)
        return tuple((action, c) for action, group in zip(PLAN_ACTIONS, groups, strict=True) for c in group)


@dataclass(frozen=True)
class SyncOutcome(Record):
    """An applied sync: ``plan`` as planned, ``done`` what changed on disk (read again after uv ran),
    the snapshot that undoes it, and the loaded modules a kernel must restart for."""

    plan: Plan
    applied: bool
    done: Plan | None = None
    changes: tuple[Change, ...] = ()
    snapshot: str | None = None
    history: str | None = None
    restart_needed: tuple[str, ...] = ()
    changed_modules: tuple[str, ...] = ()
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class LockGap(Record):
    """A locked package the lock cannot give back in full (no URL and hash, or not reproducible), and why."""

    name: str
    version: str | None
    reason: str


@dataclass(frozen=True)
class LockSummary(Record):
    """A written lock: where it went (``path``, ``notebook``), its text, and what it cannot give back."""

    path: str | None
    notebook: str | None
    text: str
    packages: int
    missing: tuple[LockGap, ...] = ()
    not_reproducible: tuple[LockGap, ...] = ()
    project_lock: str | None = None
    project_lock_agrees: bool | None = None
    project_lock_differences: tuple[str, ...] = ()
    backup: str | None = None
    index: str | None = None
    warnings: tuple[str, ...] = ()
