"""Whose lock is it: the rule deciding whether a lock found nearby may be applied to an environment.

A lock is used for an environment only when

1. the notebook being checked carries it (``metadata.envkernels.lock``), or
2. it names that environment: a pylock written by envkernels records the environment it was made
   from in ``[tool.envkernels.environment]`` (``id``, ``name``, ``kind``, ``prefix``, and
   ``project = "."`` when that environment was the project's of the lock's directory, so that the
   lock still names it after the project moved to another machine), or
3. it carries no such record and belongs to that environment's project (it lies in the project's
   directory).

A pylock envkernels wrote (a record, or its ``# Locked by envkernels ... from `<prefix>`.`` first
line when it is older than the record) that names another environment is never applied: the check
reports ``lock-not-used`` instead. The CLI, the REST API and the kernel all reach this rule through
``check_environment`` (and the kernel's ``%envsync`` through the worker).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from envkernels.errors import BadInputError
from envkernels.lockfiles._common import load_toml
from envkernels.model import Environment

_HEADER = re.compile(r"^# Locked by envkernels \S+ from `(?P<prefix>[^`]+)`\.")


@dataclass(frozen=True)
class Ownership:
    """The verdict on one lock for one environment: ``used``, and whom it was written for."""

    path: str
    used: bool
    written_for: str | None = None  # a label of the environment a pylock names ("`name` (prefix)")
    reason: str = ""  # why it is used, or why not ("names this environment", "another project" ...)


def environment_record(env: Environment, lock_dir: str | None) -> dict[str, Any]:
    """The ``[tool.envkernels.environment]`` table a pylock written from ``env`` carries.

    ``lock_dir``: where the lock file goes (None for a lock carried only by a notebook's metadata).
    """
    record: dict[str, Any] = {"id": env.id, "name": env.name, "kind": env.kind, "prefix": env.prefix}
    if lock_dir and env.project and _same(env.project, lock_dir):
        record["project"] = "."
    return record


def _same(a: str, b: str) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError):
        return False


def _pylock_record(path: str) -> dict[str, Any] | None:
    """The environment a pylock written by envkernels names, or None (another tool's lock, unreadable)."""
    name = os.path.basename(path)
    if not (name.startswith("pylock.") and name.endswith(".toml")):
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 24)
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    try:
        doc = load_toml(text, path, "lock")
    except BadInputError:  # an unreadable lock is reported where it is read, if it is used
        doc = {}
    tool = doc.get("tool") if isinstance(doc, dict) else None
    ours = tool.get("envkernels") if isinstance(tool, dict) else None
    record = ours.get("environment") if isinstance(ours, dict) else None
    if isinstance(record, dict) and isinstance(record.get("prefix"), str):
        return record
    first = text.split("\n", 1)[0]
    m = _HEADER.match(first)
    if m and isinstance(ours, dict):  # written by envkernels before the record existed
        return {"prefix": m.group("prefix"), "header_only": True}
    return None


def _names(record: dict[str, Any], env: Environment, lock_dir: str) -> bool:
    if record.get("id") and record.get("id") == env.id:
        return True
    if _same(str(record.get("prefix")), env.prefix):
        return True
    return record.get("project") == "." and bool(env.project) and _same(str(env.project), lock_dir)


def _label(record: dict[str, Any]) -> str:
    name = record.get("name")
    prefix = record.get("prefix")
    return f"`{name}` ({prefix})" if name else f"`{prefix}`"


def lock_ownership(path: str, env: Environment, *, notebook: str | None = None) -> Ownership:
    """Whether the lock at ``path`` may be applied to ``env`` (see the module docstring)."""
    if notebook and _same(path, notebook):
        return Ownership(path, True, reason="carried by the notebook")
    lock_dir = os.path.dirname(os.path.abspath(path))
    in_project = bool(env.project) and _same(str(env.project), lock_dir)
    record = _pylock_record(path)
    if record is not None and not (record.get("header_only") and in_project):
        if _names(record, env, lock_dir):
            return Ownership(path, True, _label(record), "names this environment")
        return Ownership(path, False, _label(record), "written for another environment")
    if in_project:
        return Ownership(path, True, reason="belongs to the environment's project")
    return Ownership(path, False, reason="belongs to another project")


def notebook_carries_lock(path: str) -> bool:
    """True when the notebook's ``metadata.envkernels`` carries a lock."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
    except (OSError, ValueError):
        return False
    meta = nb.get("metadata") if isinstance(nb, dict) else None
    section = meta.get("envkernels") if isinstance(meta, dict) else None
    return isinstance(section, dict) and bool(section.get("lock"))


def not_used_message(verdict: Ownership, notebook: str | None) -> str:
    """The ``lock-not-used`` message: which lock, where it lies, whom it was written for."""
    name = os.path.basename(verdict.path)
    lock_dir = os.path.dirname(os.path.abspath(verdict.path))
    if notebook and _same(lock_dir, os.path.dirname(os.path.abspath(notebook))):
        where = f"{name} beside the notebook"
    else:
        where = f"`{verdict.path}`"
    if verdict.written_for:
        return f"{where} was written for {verdict.written_for}; not used"
    return f"{where} belongs to the project `{lock_dir}`, not to this environment's; not used"
