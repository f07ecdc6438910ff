"""hatch environments: ``<data dir>/env/virtual/<project>/<id>/<env name>``.

The data dir is ``$HATCH_DATA_DIR``, else ``$XDG_DATA_HOME/hatch`` (``~/.local/share/hatch``).
``dirs.env.virtual`` pointing elsewhere is honoured through ``$HATCH_ENV_TYPE_VIRTUAL_PATH``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from envkernels.discovery._dirs import prefixes_in
from envkernels.discovery.context import Candidate, ScanContext


def virtual_dir(ctx: ScanContext) -> str:
    """Where hatch keeps its virtual environments."""
    explicit = ctx.env("HATCH_ENV_TYPE_VIRTUAL_PATH")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    data = ctx.env("HATCH_DATA_DIR") or os.path.join(ctx.xdg("XDG_DATA_HOME", ".local/share"), "hatch")
    return os.path.join(os.path.abspath(os.path.expanduser(data)), "env", "virtual")


def is_default_env(prefix: str) -> bool:
    """True for a project's ``default`` environment (``<project>/<id>/<project>``: named after it)."""
    parts = os.path.normpath(prefix).split(os.sep)
    return len(parts) >= 3 and parts[-1] == parts[-3]


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """Every hatch environment, named ``<project>-<env name>``."""
    root = virtual_dir(ctx)
    for cand in prefixes_in(ctx, root, "hatch", depth=2):
        rel = os.path.relpath(cand.prefix, root).split(os.sep)
        if rel and rel[0] == ".pythons":
            continue
        # <project>/<id>/<env>: the default environment is named after the project
        name = rel[0] if rel[-1] == rel[0] else f"{rel[0]}-{rel[-1]}"
        project = ctx.project_by_id(rel[1]) if len(rel) == 3 else None
        yield Candidate(cand.prefix, "hatch", name, project)
