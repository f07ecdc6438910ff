"""Helpers the per-kind finders share: "each subdirectory of D that is an environment"."""

from __future__ import annotations

from collections.abc import Iterator

from envkernels.discovery.context import Candidate, ScanContext, is_dir


def prefixes_in(
    ctx: ScanContext, directory: str, kind: str | None, marker: str = "pyvenv.cfg", depth: int = 0
) -> Iterator[Candidate]:
    """Subdirectories of ``directory`` (down to ``depth`` more levels) that hold ``marker``."""
    entries = ctx.listdir(directory)
    if not entries:
        return
    for name in sorted(entries):
        entry = entries[name]
        if not is_dir(entry):
            continue
        sub = ctx.listdir(entry.path)
        if sub is None:
            if depth == 0:
                yield Candidate(entry.path, kind)  # in a tool's env home but unreadable: broken
            continue
        if marker in sub:
            yield Candidate(entry.path, kind)
        elif depth > 0:
            yield from prefixes_in(ctx, entry.path, kind, marker, depth - 1)
