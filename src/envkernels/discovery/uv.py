"""uv: project environments, and the interpreters uv installs.

Project environments (``pyproject.toml`` + ``uv.lock`` + ``.venv``, or ``$UV_PROJECT_ENVIRONMENT``)
are reached with their project (roots, the current directory; see :mod:`projects`). Here: the
interpreters ``uv python install`` puts in ``uv python dir`` — ``$UV_PYTHON_INSTALL_DIR``, else
``$XDG_DATA_HOME/uv/python`` (default ``~/.local/share/uv/python``) — one prefix per
``cpython-3.12.4-linux-x86_64-gnu``-style directory; the ``cpython-3.12-...`` minor-version links
resolve to the same prefix and appear once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from envkernels.discovery.context import Candidate, ScanContext, is_dir


def python_dir(ctx: ScanContext) -> str:
    """``uv python dir``, computed as uv computes it."""
    explicit = ctx.env("UV_PYTHON_INSTALL_DIR")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    return os.path.join(ctx.xdg("XDG_DATA_HOME", ".local/share"), "uv", "python")


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """Every uv-managed interpreter: a directory with ``bin/`` or ``python.exe`` (not ``.temp``)."""
    pydir = python_dir(ctx)
    entries = ctx.listdir(pydir)
    for name in sorted(entries or ()):
        entry = entries[name]  # type: ignore[index]
        if name.startswith(".") or not is_dir(entry):
            continue
        sub = ctx.listdir(entry.path)
        if sub and ("bin" in sub or "python.exe" in sub):
            yield Candidate(entry.path, "uv", name)
