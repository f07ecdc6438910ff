"""The host-side worker behind the kernel magics: a JSON-lines adapter over :mod:`envkernels.api`.

A kernel envkernels launches starts ONE of these (``$ENVKERNELS_HOST_PYTHON -m envkernels.worker``)
on its first magic and keeps it for the kernel's life, so a warm ``%envcheck`` costs one JSON
round trip. The kernel hands over its facts (prefix, interpreter, notebook path, the raw sources
of the cells it ran, its ``sys.path``, working directory) and decides nothing. The worker reads
the cells with the import rules of ``envkernels check --notebook`` (``inspect/imports.py``), calls
the engine API with the kernel's facts as arguments, renders HTML and text (``envkernels.render``)
and replies. It keeps no answers of its own: the check's cache (``inspect/cache.py``) decides
whether anything changed, and the rendering of the last check report is reused only when the
engine hands back that very report.

``%load_ext envkernels`` uses :class:`Worker` in-process, without the pipe.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envkernels import api
from envkernels.errors import EnvKernelsError, UsageError
from envkernels.model import AuditReport, Environment, EnvironmentList, InstalledPackage, Report
from envkernels.model.codec import Record

if TYPE_CHECKING:
    from envkernels.sync.plan import SyncPlan

Progress = Callable[[str], None]
Reply = dict[str, Any]


def _resolve(path: str | None, cwd: str | None) -> str | None:
    """A user-given path, relative to the kernel's working directory."""
    if not path:
        return None
    p = Path(os.path.expanduser(path))
    if not p.is_absolute():
        p = Path(cwd or os.getcwd()) / p
    return str(p)


class CellsMissing(UsageError):
    """The kernel sent cells from an index past those the worker holds (it asks for all of them)."""

    reason = "cells-missing"


class KernelCells:
    """The cells one kernel has run, as the kernel sent them, and the imports each one makes.

    Each cell is read once, with :func:`envkernels.api.cell_imports` (the rules
    of ``check --notebook``: IPython syntax dropped, relative imports local, guarded imports
    optional). Only the modules a cell imports unguarded are kept: a guarded import never
    makes a finding, in a cell or in a notebook file.
    """

    def __init__(self) -> None:
        self.sources: list[str] = []
        self._modules: list[frozenset[str]] = []
        self._names: tuple[str, ...] | None = ()

    def take(self, cells: Any) -> None:
        """Apply ``{"start", "sources"}`` from the kernel; CellsMissing when ``start`` is past the end."""
        if not isinstance(cells, dict):
            return
        start, sources = cells.get("start"), cells.get("sources")
        if not isinstance(start, int) or not isinstance(sources, list) or start < 0:
            raise UsageError('`facts.cells` must be {"start": int, "sources": [str]}')
        if start > len(self.sources):
            raise CellsMissing(
                f"the worker holds {len(self.sources)} of this kernel's cells, not {start}",
                "run the magic again (the kernel sends every cell then)",
            )
        if start == len(self.sources) and not sources:
            return
        fresh = [s if isinstance(s, str) else "" for s in sources]
        del self.sources[start:], self._modules[start:]
        for source in fresh:
            self.sources.append(source)
            self._modules.append(api.cell_imports(source))
        self._names = None

    @property
    def imports(self) -> tuple[str, ...]:
        """The top-level modules the cells import unguarded, sorted."""
        if self._names is None:
            self._names = tuple(sorted(frozenset().union(*self._modules)))
        return self._names


class Worker:
    """Answers requests; holds the kernel's cells. One per worker process (or per in-process IPython)."""

    def __init__(self) -> None:
        self.cells = KernelCells()
        # The last check report and its rendering: the engine returns the very same object while
        # nothing it read changed, and rendering a report costs more than the warm check.
        self._last_check: tuple[Report, Reply] | None = None
        self._ops: dict[str, Callable[[dict[str, Any], dict[str, Any], Progress], Reply]] = {
            "envs": self._envs,
            "check": self._check,
            "lock": self._lock,
            "audit": self._audit,
            "plan_sync": self._plan_sync,
            "apply_sync": self._apply_sync,
        }

    # -- the protocol
    def handle(self, request: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
        """One request dict in, one reply dict out; never raises."""
        rid = request.get("id")
        try:
            from envkernels.sync.history import acting

            with acting(None, "kernel"):  # changes made from a notebook are on the trail as such
                result = self.run(
                    str(request.get("op")),
                    request.get("args") or {},
                    request.get("facts") or {},
                    progress or (lambda _msg: None),
                )
            return {"id": rid, "ok": True, "result": result}
        except EnvKernelsError as exc:
            error = {"message": exc.message, "hint": exc.hint}
            if isinstance(exc, CellsMissing):
                error["reason"] = exc.reason
            return {"id": rid, "ok": False, "error": error}
        except Exception as exc:  # a bug must reach the user as one line, and the loop must go on
            traceback.print_exc(file=sys.stderr)
            return {
                "id": rid,
                "ok": False,
                "error": {
                    "message": f"internal error in `{request.get('op')}`: {type(exc).__name__}: {exc}",
                    "hint": "this is a bug in envkernels; the worker's stderr has the traceback",
                },
            }

    def run(self, op: str, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> Reply:
        """The ``result`` of one op: ``{"kind", "data", "html", "text"}``; raises EnvKernelsError."""
        func = self._ops.get(op)
        if func is None:
            raise UsageError(f"unknown operation `{op}`", f"one of: {', '.join(self._ops)}")
        if not isinstance(args, dict) or not isinstance(facts, dict):
            raise UsageError("`args` and `facts` must be JSON objects")
        # The kernel counts its cells as sent whatever the op: take them before anything can fail.
        self.cells.take(facts.get("cells"))
        return func(args, facts, progress)

    @staticmethod
    def _rendered(
        kind: str,
        result: Record,
        *,
        environment: Environment | None = None,
        extra: dict[str, Any] | None = None,
        ok: bool = True,
        count: int = 0,
        changes: list[dict[str, Any]] | None = None,
        problems: list[str] | None = None,
    ) -> Reply:
        """The reply: the data, its HTML and text, and the verdicts the kernel shows as given
        (``ok``, ``count`` for ``len()``, a plan's ``changes``, the ``problems`` of ``--strict``)."""
        from envkernels import render

        html, text = render.render(kind, result, environment)
        data: dict[str, Any] = {**result.to_dict(), **(extra or {})}
        if environment is not None:
            data["environment"] = environment.to_dict()
        reply: Reply = {"kind": kind, "data": data, "html": html, "text": text, "ok": ok, "count": count}
        if changes is not None:
            reply["changes"] = changes
        if problems is not None:
            reply["problems"] = problems
        return reply

    def _report(self, report: Report | AuditReport) -> Reply:
        problems = [f.code for f in api.problems(report, "warning")]
        return self._rendered(
            "report", report, ok=not problems, count=len(report.findings), problems=problems
        )

    # -- ops: the kernel's facts as the API's arguments, the answer rendered
    def _envs(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> Reply:
        roots = [r for r in (args.get("roots") or []) if isinstance(r, str)]
        envs = api.list_environments(roots=roots)
        current = os.path.realpath(facts["prefix"]) if facts.get("prefix") else None
        packages: list[InstalledPackage] = []
        if current and os.path.isdir(current):
            packages = [
                InstalledPackage(d.name, d.version, d.summary, d.installer, d.editable, d.problem)
                for d in api.installed(api.kernel_environment(current))
            ]
        listing = EnvironmentList(tuple(envs), current, tuple(packages))
        return self._rendered("environments", listing, count=len(envs))

    def _check(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> Reply:
        env = api.kernel_environment(facts.get("prefix"))
        sys_path = facts.get("sys_path")
        report = api.check(
            env,
            lock=_resolve(args.get("lock"), facts.get("cwd")),
            notebook=facts.get("notebook"),
            imports=self.cells.imports,
            search_path=api.kernel_search_path(
                sys_path if isinstance(sys_path, list) else (),
                prefix=env.prefix,
                base_prefix=facts.get("base_prefix"),
            ),
        )
        if self._last_check is not None and self._last_check[0] is report:
            return self._last_check[1]
        reply = self._report(report)
        self._last_check = (report, reply)
        return reply

    def _audit(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> Reply:
        env = api.kernel_environment(facts.get("prefix"))
        progress(f"auditing {env.name} ...")
        report = api.audit(
            env, db=_resolve(args.get("db"), facts.get("cwd")), licenses=bool(args.get("licenses"))
        )
        return self._report(report)

    def _lock(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> Reply:
        env = api.kernel_environment(facts.get("prefix"))
        # `frontend_notebook`: the notebook is open in JupyterLab and the kernel hands the lock to
        # the frontend (a comm), which puts it into the open model; the file on disk is not touched.
        frontend = args.get("frontend_notebook") or None
        notebook = facts.get("notebook") if args.get("notebook") and not frontend else None
        if args.get("notebook") and not notebook and not frontend:
            raise UsageError(
                "this kernel does not know which notebook it runs",
                "`envkernels lock --notebook NB.ipynb` in a terminal",
            )
        output = _resolve(args.get("output"), facts.get("cwd"))
        if output is None and notebook is None and not frontend:
            output = _resolve("pylock.toml", facts.get("cwd"))
        progress(f"locking {env.name} ({env.prefix}) ...")
        result = api.lock(
            env,
            output=output,
            notebook=notebook,
            open_notebook=str(frontend) if frontend else None,
            hashes=bool(args.get("hashes", True)),
            index_url=args.get("index_url") or None,
            progress=_ThrottledProgress(progress, "asking the index"),
        )
        extra: dict[str, Any] = {"summary": result.summary()}
        if frontend:
            extra["notebook_via"] = "frontend"
            # The same `metadata.envkernels.environment` record a write to the file would store.
            extra["notebook_environment"] = api.notebook_environment(env, result)
        return self._rendered("lock", result.record(), environment=env, extra=extra, count=result.packages)

    def _sync_lock(self, args: dict[str, Any], facts: dict[str, Any], env: Environment) -> str:
        """The lock `%envsync` applies: LOCK as given, else as :func:`envkernels.api.choose_lock` picks."""
        return api.choose_lock(
            env,
            lock=_resolve(args.get("lock"), facts.get("cwd")),
            notebook=facts.get("notebook"),
            directory=facts.get("cwd"),
        )

    def _plan_sync(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> Reply:
        env = api.kernel_environment(facts.get("prefix"))
        path = self._sync_lock(args, facts, env)
        plan = api.plan(env, path)
        changes = _changes(plan)
        return self._rendered(
            "plan",
            plan.record(),
            environment=env,
            extra={"summary": plan.text()},
            ok=plan.is_empty,
            count=len(changes),
            changes=changes,
        )

    def _apply_sync(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> Reply:
        env = api.kernel_environment(facts.get("prefix"))
        path = self._sync_lock(args, facts, env)
        plan = api.plan(env, path)
        progress(f"syncing {env.name} to {path} ...")
        # As on the command line: direct sources (local paths, URLs, VCS) only when asked for.
        policy = api.source_policy(
            allow_direct_sources=bool(args.get("allow_direct_sources")),
            hint="check the sources marked `!` in the plan (`%envsync LOCK`); "
            "`%envsync LOCK --apply --allow-direct-sources` applies the lock with them",
        )
        result = api.sync(
            env, path, planned=plan, policy=policy, progress=_ThrottledProgress(progress, "syncing")
        )
        # What changed on disk (read again after uv ran), not what was planned.
        changes = _changes(result.done or result.plan)
        return self._rendered(
            "sync",
            result.record(),
            environment=env,
            extra={"summary": result.summary(), "lock": path},
            count=len(changes),
            changes=changes,
        )


def _changes(plan: SyncPlan) -> list[dict[str, Any]]:
    """A plan's changes as ``{"action", "name", "from", "to"}``, in the plan's order."""
    groups = (
        ("install", plan.install),
        ("upgrade", plan.upgrade),
        ("downgrade", plan.downgrade),
        ("reinstall", plan.reinstall),
        ("remove", plan.remove),
    )
    return [{"action": action, **c.to_dict()} for action, changes in groups for c in changes]


class _ThrottledProgress:
    """An engine progress callback ``(name, done, total)`` that reports about every tenth step."""

    def __init__(self, progress: Progress, what: str) -> None:
        self.progress = progress
        self.what = what
        self._last = -1

    def __call__(self, name: str, done: int, total: int) -> None:
        step = max(total // 10, 1)
        if done == total or done // step != self._last:
            self._last = done // step
            self.progress(f"{self.what}: {done}/{total} ({name})")


def main() -> int:
    """Serve requests on stdin until it closes; replies (and progress) go to the original stdout."""
    # Keep the protocol stream for ourselves: anything the engine or a child writes to fd 1
    # goes to stderr instead of corrupting the replies.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker = Worker()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            reply: dict[str, Any] = {
                "id": None,
                "ok": False,
                "error": {"message": f"a request that is not a JSON object: {exc}", "hint": None},
            }
        else:
            rid = request.get("id")

            def progress(message: str, rid: Any = rid) -> None:
                proto.write(json.dumps({"id": rid, "progress": message}) + "\n")
                proto.flush()

            reply = worker.handle(request, progress)
        proto.write(json.dumps(reply, default=str) + "\n")
        proto.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
