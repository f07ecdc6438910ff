"""Carry out a sync plan through uv, with a snapshot before, a restore on failure, and a history line.

Steps, under a per-environment lock (a second sync of the same environment gets ConflictError):
1. write a snapshot (a pylock of what is installed now) into the environment's history directory;
2. mark the sync pending (a killed sync leaves the mark and the snapshot's path behind);
3. run ``uv pip sync`` against the environment's interpreter (hash-checked when the lock has hashes);
4. on failure, sync the environment back to the snapshot and say so (SyncFailedError);
5. read the environment again: what is reported and recorded is what changed on disk, not what was
   planned (a difference between the two is a warning, and a bug in the plan);
6. append a line to the environment's history and clear the mark.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from envkernels._subprocess import run
from envkernels.core.atomic import file_lock
from envkernels.core.distributions import scan_distributions
from envkernels.core.layout import normalize_name
from envkernels.errors import BadInputError, CommandError, EnvKernelsError
from envkernels.lockfiles.read import read_lock
from envkernels.model import Environment, SyncOutcome
from envkernels.model.codec import JSONObject
from envkernels.sync import history
from envkernels.sync.plan import Change, SyncPlan, changes_between, installed_map, plan_sync
from envkernels.sync.sources import refusal_error, refused
from envkernels.sync.uvcall import build_invocation, explain_uv_failure

Progress = Callable[[str, int, int], None]
UV_TIMEOUT = 3600.0


class SyncFailedError(CommandError):
    """uv failed; ``restored`` says whether the snapshot was put back, ``snapshot`` where it is."""

    def __init__(self, cause: CommandError, snapshot: str, restored: bool, target: str) -> None:
        how = (
            f"the environment was restored from the snapshot `{snapshot}`"
            if restored
            else "restoring the snapshot failed too; the environment may be half-synced"
        )
        hint = None if restored else f"`envkernels sync {snapshot} --target {target} --yes`"
        super().__init__(cause.argv, cause.returncode, cause.stderr, hint=hint or cause.hint)
        self.message = f"{cause.message}; {how}"
        self.snapshot = snapshot
        self.restored = restored


@dataclass
class SyncResult:
    """What an applied sync did: ``plan`` is what was planned, ``done`` what changed on disk."""

    plan: SyncPlan
    applied: bool
    done: SyncPlan | None = None
    snapshot: str | None = None
    history: str | None = None
    restart_needed: list[str] = field(default_factory=list)
    changed_modules: list[str] = field(default_factory=list)
    argv: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def record(self) -> SyncOutcome:
        """What was done, as the result model holds it."""
        return SyncOutcome(
            plan=self.plan.record(),
            applied=self.applied,
            done=self.done.record() if self.done is not None else None,
            changes=self.changes,
            snapshot=self.snapshot,
            history=self.history,
            restart_needed=tuple(self.restart_needed),
            changed_modules=tuple(self.changed_modules),
            seconds=round(self.seconds, 3),
            warnings=tuple(self.warnings),
        )

    def to_dict(self) -> JSONObject:
        """The JSON shape (CLI ``--json``, REST): :class:`SyncOutcome`'s."""
        return self.record().to_dict()

    @property
    def changes(self) -> tuple[Change, ...]:
        """What changed on disk (empty when nothing was applied)."""
        return self.done.changes if self.done is not None else ()

    def summary(self) -> str:
        """One line: what changed, and how to undo it."""
        if not self.applied:
            return f"nothing to do: `{self.plan.prefix}` already matches `{self.plan.lock_path}`"
        n = len(self.changes)
        line = f"synced `{self.plan.prefix}` to `{self.plan.lock_path}` ({n} change{'' if n == 1 else 's'})"
        if self.snapshot:
            line += f"; undo with `envkernels sync {self.snapshot} --target {self.plan.prefix} --yes`"
        return line


def _sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _uv(plan: SyncPlan, env: Environment, progress: Progress | None, *, no_build: bool = False) -> list[str]:
    assert plan.lock is not None and env.python
    inv = build_invocation(plan.lock, plan.packages, env.python, no_build=no_build)
    if progress:
        progress(f"uv pip sync ({len(plan.changes)} changes)", 0, 1)
    try:
        run(
            inv.argv,
            env={"VIRTUAL_ENV": "", "UV_NO_PROGRESS": "1"},
            cwd=inv.cwd,
            timeout=UV_TIMEOUT,
            hint="see uv's message above; the lock may be wrong for this environment",
        )
    except CommandError as exc:
        better = explain_uv_failure(exc.stderr)
        if better:
            exc.message, exc.hint = better
        raise
    finally:
        inv.cleanup()
    if progress:
        progress("uv pip sync done", 1, 1)
    return inv.argv


def restore_snapshot(snapshot: str, env: Environment, *, no_build: bool = False) -> None:
    """Put ``env`` back to the state ``snapshot`` records (no lock taken: the caller holds it)."""
    plan = plan_sync(read_lock(snapshot), env)
    if not plan.is_empty:
        _uv(plan, env, None, no_build=no_build)


@dataclass(frozen=True)
class SourcePolicy:
    """What a sync may install besides plain index downloads (see :mod:`envkernels.sync.sources`).

    ``allowed_origins`` None: files may come from any origin the lock names. The default refuses
    direct sources (a lock from elsewhere must not install a local path, URL or VCS checkout that
    nobody approved); each front end opts in on an explicit request (`--allow-direct-sources`).
    """

    allow_direct_sources: bool = False
    allow_builds: bool = True
    allowed_origins: frozenset[str] | None = None
    hint: str = "review the sources in the plan; allow them explicitly if you trust them"


def apply_sync(
    plan: SyncPlan,
    env: Environment,
    *,
    lock_path: str | None = None,
    progress: Progress | None = None,
    policy: SourcePolicy | None = None,
) -> SyncResult:
    """Carry out ``plan`` on ``env`` (see the module docstring for the steps).

    ``policy`` is checked against the plan recomputed under the environment's lock (so what is
    checked is what runs); a refused source raises SourcesNotAllowedError before anything runs.
    Without ``allow_builds`` uv also gets ``--no-build``.
    """
    policy = policy or SourcePolicy()
    if not env.python:
        raise BadInputError(f"the environment `{env.prefix}` has no interpreter", hint=env.hint)
    lock_path = lock_path or plan.lock_path
    if plan.lock is None:
        plan = plan_sync(lock_path, env)
    warnings: list[str] = []
    with file_lock(env.prefix, wait=False, what="sync"):
        left = history.pending(env)
        if left:
            warnings.append(
                f"a sync started {left.get('started')} was interrupted; its snapshot is "
                f"`{left.get('snapshot')}`"
            )
        # Recompute under the lock: another process may have changed the environment meanwhile.
        # One scan of site-packages serves the plan, the snapshot and the modules that change.
        # Only metadata folders changed since the plan was made are read again.
        reuse = {d.path: (ident, d) for d, ident in plan.scanned}
        scanned = scan_distributions(env.prefix, reuse)
        dists = [d for d, _ident in scanned]
        before = installed_map(env.prefix, dists)
        plan = plan_sync(plan.lock or lock_path, env, installed=before)
        if plan.is_empty:
            if left:
                history.clear_pending(env)  # it matches a lock in full again: nothing is half-done
            return SyncResult(plan=plan, applied=False, warnings=warnings)
        refused_sources = refused(
            plan.sources,
            allow_direct_sources=policy.allow_direct_sources,
            allow_builds=policy.allow_builds,
            allowed_origins=policy.allowed_origins,
        )
        if refused_sources:
            raise refusal_error(plan.lock_path, refused_sources, policy.hint)
        started = time.monotonic()
        if progress:
            progress("writing a snapshot of the environment", 0, 1)
        snapshot = history.write_snapshot(env, dists)
        history.mark_pending(env, {"started": history.utc_stamp(), "snapshot": snapshot, "lock": lock_path})
        record: dict[str, Any] = {
            "lock": str(Path(lock_path).resolve()),
            "lock_sha256": _sha256(lock_path),
            "snapshot": snapshot,
            "plan": plan.to_dict(),
        }
        try:
            argv = _uv(plan, env, progress, no_build=not policy.allow_builds)
        except CommandError as exc:
            restored = True
            try:
                restore_snapshot(snapshot, env, no_build=not policy.allow_builds)
            except EnvKernelsError:
                restored = False
            history.append_history(
                env, {**record, "result": "failed-restored" if restored else "failed", "error": exc.message}
            )
            if restored:
                history.clear_pending(env)
            raise SyncFailedError(exc, snapshot, restored, env.prefix) from exc
        # Read the environment again: report and record what uv did, which is the truth even
        # where the plan was wrong.
        after = scan_distributions(env.prefix, {d.path: (ident, d) for d, ident in scanned})
        did = changes_between(scanned, after)
        done = replace(
            plan,
            install=did["install"],
            upgrade=did["upgrade"],
            downgrade=did["downgrade"],
            reinstall=did["reinstall"],
            remove=did["remove"],
            scanned=tuple(after),
        )
        warnings.extend(_differences(plan, done))
        hist = history.append_history(
            env, {**record, "result": "applied", "changes": [c.to_dict() for c in done.changes]}
        )
        history.clear_pending(env)
    changed = [c for c in done.changes if c.old is not None]
    modules = sorted({m for c in changed for m in before.get(normalize_name(c.name), _NoDist).top_level})
    return SyncResult(
        plan=plan,
        applied=True,
        done=done,
        snapshot=snapshot,
        history=hist,
        restart_needed=[c.name for c in changed],
        changed_modules=modules,
        argv=argv,
        seconds=time.monotonic() - started,
        warnings=warnings,
    )


def _differences(plan: SyncPlan, done: SyncPlan) -> list[str]:
    """Warnings for each change uv made that was not planned, or planned and not made.

    A planned install from a directory, VCS or archive names its source instead of a version: it
    matches whatever version uv installed under that name.
    """
    made = {(normalize_name(c.name), c.old, c.new) for c in done.changes}
    unmatched = set(made)
    missed = []
    for c in plan.changes:
        key = normalize_name(c.name)
        if c.new is not None and c.new.startswith("("):
            hit = next((m for m in unmatched if m[0] == key and m[1] == c.old and m[2] is not None), None)
        else:
            hit = (key, c.old, c.new) if (key, c.old, c.new) in unmatched else None
        if hit is None:
            missed.append(c)
        else:
            unmatched.discard(hit)

    def show(old: str | None, new: str | None) -> str:
        return f"{old or 'absent'} -> {new or 'removed'}"

    out = [
        f"uv changed {name} ({show(old, new)}), which the plan did not show"
        for name, old, new in sorted(unmatched, key=str)
    ]
    out += [f"the plan showed {c.name} ({show(c.old, c.new)}), which uv did not do" for c in missed]
    return out


class _NoDist:
    top_level: tuple[str, ...] = ()
