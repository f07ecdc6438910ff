"""Leftover environments under given roots, with the evidence for and against each; trashed when asked.

What is listed (``reason``), and when it is proposed for ``--apply`` (``status``):

1. ``duplicate-venv``: one of several environments in a project (``.venv``, ``venv``, ``env``, ...,
   or one a tool's setting names). Proposed only when the evidence points away from it: a tool of
   the project names another environment of it (:func:`~envkernels.kernels.cleanup_evidence.tool_pointers`),
   none names this one, no installed kernelspec and no running process uses it, no notebook of the
   project records it, and it holds no distribution (installers such as pip aside) that the
   environment the tools use lacks. Mixed evidence: ``needs-decision``, moved only when named
   (``--apply PATH``). The environment a tool names is never listed.
2. ``interpreter-gone``: an environment (``pyvenv.cfg``) whose interpreter is missing or dangles;
3. ``remnant``: a directory named like an environment holding a ``pyvenv.cfg`` but no site-packages.

Whatever the reason, an environment with a running process (a kernel, an activated shell) is
``in-use`` and never moved, and an environment not owned and writable by the user (a shared one)
is never listed. The scan never follows symlinks, never leaves the roots and never enters
envkernels' cache directory (the trash is there); :func:`apply` checks
each path again right before moving it into the trash (:mod:`envkernels.kernels.trash`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envkernels.core import layout
from envkernels.discovery.projects import PROJECT_MARKERS, VENV_DIR_NAMES
from envkernels.errors import ConflictError, UsageError
from envkernels.kernels import cleanup_evidence as evidence
from envkernels.kernels import running, trash
from envkernels.shared import shared_root_of

PROPOSED = "proposed"
NEEDS_DECISION = "needs-decision"
IN_USE = "in-use"
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache"}
MAX_DEPTH = 6


@dataclass(frozen=True)
class Leftover:
    """One environment ``cleanup`` lists: why, whether ``--apply`` takes it, and what would be lost."""

    path: str
    reason: str
    status: str
    detail: str
    size: int
    last_modified: str | None = None
    distributions: int = 0
    only_here: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    project: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``cleanup --json``."""
        return {
            "path": self.path,
            "reason": self.reason,
            "status": self.status,
            "detail": self.detail,
            "size": self.size,
            "last_modified": self.last_modified,
            "distributions": self.distributions,
            "only_here": list(self.only_here),
            "used_by": list(self.used_by),
            "tools": list(self.tools),
            "project": self.project,
        }


def tree_facts(path: str) -> tuple[int, str | None]:
    """Bytes in a directory tree and its newest modification time (ISO, UTC); symlinks never followed."""
    total, newest = 0, 0.0
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        with contextlib.suppress(OSError):
            newest = max(newest, os.lstat(dirpath).st_mtime)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            total += st.st_size
            newest = max(newest, st.st_mtime)
    when = (
        _dt.datetime.fromtimestamp(newest, _dt.timezone.utc).isoformat(timespec="seconds") if newest else None
    )
    return total, when


def human_size(size: int) -> str:
    """``12.3 MB`` style sizes for the table."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _is_env(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file() and not path.is_symlink()


def _yours(path: Path) -> bool:
    """Owned and writable by the user, with a writable parent, and not under a shared root (else
    shared, or not ours to remove: root owns everything it can write, so ownership is not enough)."""
    if shared_root_of(path) is not None:
        return False
    try:
        st = path.lstat()
    except OSError:
        return False
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return False
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _judge(path: Path) -> tuple[str, str] | None:
    """(reason, detail) when the environment at ``path`` is a leftover on its own."""
    interp = layout.interpreter_path(path)
    if interp is None or not os.path.exists(interp):
        what = f"`{interp}` dangles" if interp is not None else "no interpreter in `bin/`"
        return "interpreter-gone", what
    if path.name in VENV_DIR_NAMES and not layout.site_packages_dirs(path):
        return "remnant", "a `pyvenv.cfg` without site-packages"
    return None


def _is_project(directory: Path, names: Iterable[str]) -> bool:
    return any(n in PROJECT_MARKERS or (n.startswith("requirements") and n.endswith(".txt")) for n in names)


@dataclass
class _Scan:
    envs: list[Path] = field(default_factory=list)
    projects: list[Path] = field(default_factory=list)


def _scan(roots: Iterable[str | os.PathLike[str]], max_depth: int) -> _Scan:
    from envkernels.cachedir import cache_dir

    found = _Scan()
    # envkernels' own cache (the trash, ipykernel overlays) is never scanned: what cleanup moved
    # there is undone or emptied with `--undo`/`--empty-trash`, never cleaned up a second time.
    own = os.path.realpath(cache_dir())

    def visit(directory: Path, depth: int) -> None:
        if os.path.realpath(directory) == own:
            return
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            return
        if _is_project(directory, (e.name for e in entries)):
            found.projects.append(directory)
        subdirs = sorted(
            Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and e.name not in _SKIP_DIRS
        )
        for sub in subdirs:
            if _is_env(sub):
                found.envs.append(sub)
                continue  # never look inside an environment
            if depth > 0:
                visit(sub, depth - 1)

    for root in roots:
        base = Path(os.path.abspath(root))
        if not base.is_dir():
            raise UsageError(f"`{root}` is not a directory", hint="give an existing directory with `--root`")
        if not _is_env(base):  # a root is never itself a candidate: only what lies inside it
            visit(base, max_depth)
    return found


def _same(a: str, b: str) -> bool:
    return bool(a) and os.path.realpath(a) == os.path.realpath(b)


def find_leftovers(
    roots: Iterable[str | os.PathLike[str]],
    max_depth: int = MAX_DEPTH,
    *,
    environ: dict[str, str] | None = None,
) -> list[Leftover]:
    """Every leftover under ``roots`` with its facts (see the module docstring), sorted by path."""
    from envkernels.discovery import environment_from_prefix
    from envkernels.kernels.installed import installed_specs

    roots = list(roots)
    scan = _scan(roots, max_depth)
    processes = running.running_processes()
    specs = installed_specs()
    dists: dict[str, set[str]] = {}

    def dists_of(path: Path) -> set[str]:
        if str(path) not in dists:
            dists[str(path)] = evidence.distributions(str(path))
        return dists[str(path)]

    def users(path: Path) -> list[str]:
        out = evidence.kernelspec_users(str(path), specs)
        if processes is not None:
            out += [p.describe() for p in running.users_of(str(path), processes)]
        return out

    found: dict[str, Leftover] = {}

    def add(path: Path, reason: str, status: str, detail: str, others: Sequence[Path], **facts: Any) -> None:
        size, modified = tree_facts(str(path))
        elsewhere = set().union(*(dists_of(o) for o in others)) if others else set()
        found[str(path)] = Leftover(
            str(path),
            reason,
            status,
            detail,
            size,
            modified,
            len(dists_of(path)),
            tuple(sorted(dists_of(path) - elsewhere)),
            **facts,
        )

    # Environments in projects: several in one project are duplicates of each other.
    project_envs: dict[Path, list[Path]] = {}
    for project in scan.projects:
        pointers = evidence.tool_pointers(str(project), environ)
        candidates = [project / n for n in VENV_DIR_NAMES if _is_env(project / n)]
        for pointer in pointers:
            p = Path(pointer.path) if pointer.path else None
            if p and evidence.is_inside(str(p), str(project)) and _is_env(p) and p not in candidates:
                candidates.append(p)
        project_envs[project] = candidates
        if len(candidates) < 2:
            continue
        healthy = [c for c in candidates if _judge(c) is None]
        records = [environment_from_prefix(c) for c in healthy]
        notebooks = evidence.notebook_records(str(project), records)
        tools = tuple(p.describe(str(project)) for p in pointers)
        for env, record in zip(healthy, records, strict=True):
            if not _yours(env):
                continue
            here = [p for p in pointers if _same(p.path, str(env))]
            if here:
                continue  # the environment a tool uses is never a duplicate
            elsewhere = [p for p in pointers if not _same(p.path, str(env))]
            kept = [c for c in healthy if c != env and any(_same(p.path, str(c)) for p in elsewhere)]
            used = users(env)
            noted = [f"notebook `{n}`" for n in notebooks.by_prefix.get(record.prefix, [])]
            kept_dists = set().union(*(dists_of(k) for k in kept)) if kept else set()
            lacking = sorted(d for d in dists_of(env) - kept_dists if not evidence.is_seed(d))
            others = [c for c in candidates if c != env]
            facts = {"used_by": tuple(used + noted), "tools": tools, "project": str(project)}
            running_here = processes is not None and running.users_of(str(env), processes)
            if running_here:
                add(env, "duplicate-venv", IN_USE, "a process runs in it", others, **facts)
                continue
            against: list[str] = []
            if lacking:
                where = ", ".join(f"`{k.name}`" for k in kept) or "the environment the tools use"
                shown = ", ".join(lacking[:5]) + (", ..." if len(lacking) > 5 else "")
                against.append(f"it holds {len(lacking)} distribution(s) {where} lacks: {shown}")
            if used or noted:
                against.append("in use: " + "; ".join(used + noted))
            if notebooks.unreadable:
                against.append(
                    f"{len(notebooks.unreadable)} notebook(s) could not be read (they may record it)"
                )
            if processes is None:
                against.append("running processes could not be listed")
            if not elsewhere:
                if used or noted:
                    continue  # nothing points away from an environment in use
                against.insert(0, "no tool setting names an environment of this project")
            if against:
                add(env, "duplicate-venv", NEEDS_DECISION, "; ".join(against), others, **facts)
            else:
                names = ", ".join(f"`{k.name}`" for k in kept) or "another environment"
                named_by = elsewhere[0].describe(str(project))
                detail = f"{named_by}; nothing uses this one and {names} has all it holds"
                add(env, "duplicate-venv", PROPOSED, detail, others, **facts)

    # Environments that are leftovers on their own, wherever they are.
    owner = {c: p for p, cs in project_envs.items() for c in cs}
    for env in scan.envs:
        judged = _judge(env)
        if judged is None or str(env) in found or not _yours(env):
            continue
        owning = owner.get(env)
        others = [c for c in project_envs.get(owning, []) if c != env] if owning else []
        used = users(env)
        detail = judged[1]
        if processes is None:
            status, detail = NEEDS_DECISION, f"{detail}; running processes could not be listed"
        else:
            status = IN_USE if running.users_of(str(env), processes) else PROPOSED
        add(
            env,
            judged[0],
            status,
            detail,
            others,
            used_by=tuple(used),
            project=str(owning) if owning else None,
        )
    return sorted(found.values(), key=lambda item: item.path)


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real != r and os.path.commonpath([real, r]) == r for r in roots)


def _why_not_now(path: str) -> str | None:
    """Checked right before each move: a process that started in the environment since the listing."""
    processes = running.running_processes()
    if processes is None:
        return "running processes could not be listed"
    users = running.users_of(path, processes)
    return "in use: " + "; ".join(p.describe() for p in users) if users else None


def select(leftovers: Sequence[Leftover], named: Sequence[str] | None) -> list[Leftover]:
    """What ``--apply`` moves: the proposed ones, or exactly the ``named`` paths (listed, not in use)."""
    if not named:
        return [item for item in leftovers if item.status == PROPOSED]
    by_path = {os.path.abspath(item.path): item for item in leftovers}
    chosen = []
    for name in named:
        item = by_path.get(os.path.abspath(name))
        if item is None:
            raise UsageError(
                f"`{name}` is not an environment `cleanup` lists under the given roots, so nothing was moved",
                hint="run `envkernels cleanup` with the same `--root` options to see what it lists",
            )
        if item.status == IN_USE:
            raise ConflictError(
                f"`{item.path}` is in use ({'; '.join(item.used_by) or item.detail}), so nothing was moved",
                hint="stop the kernel or process running in it (or deactivate it), then run again",
            )
        chosen.append(item)
    return chosen


def apply(
    chosen: Sequence[Leftover], roots: Iterable[str | os.PathLike[str]]
) -> tuple[trash.TrashEntry | None, list[tuple[str, str]]]:
    """Move ``chosen`` into a new trash entry (each re-checked: inside a root, no symlink, an
    environment, nothing running in it); return the entry (None when nothing was chosen) and
    the ``(path, why)`` of those left in place."""
    real_roots = [os.path.realpath(r) for r in roots]
    movable, skipped = [], []
    for item in chosen:
        if shared_root_of(item.path) is not None:
            skipped.append((item.path, "inside a shared environment root: never moved"))
            continue
        if os.path.islink(item.path) or not _inside(item.path, real_roots) or not _is_env(Path(item.path)):
            skipped.append((item.path, "no longer an environment inside the roots"))
            continue
        movable.append(
            (
                item.path,
                {
                    "reason": item.reason,
                    "status": item.status,
                    "size": item.size,
                    "distributions": item.distributions,
                },
            )
        )
    if not movable:
        return None, skipped
    entry, not_moved = trash.move_to_trash(movable, before_each=_why_not_now)
    return entry, skipped + not_moved
