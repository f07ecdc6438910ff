"""System interpreters: every ``python``/``python3``/``python3.X[t]``/``pypy3`` on ``PATH``, and the
interpreter running envkernels.

Each is de-duplicated by its resolved real path, and its prefix is the directory above the real
file's ``bin/`` when that prefix has ``lib/pythonX.Y``: a shim (pyenv's ``shims/python``, a
script) has none and is skipped. An interpreter on ``PATH`` inside a venv's ``bin/`` stands for
that venv.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

from envkernels.discovery.context import Candidate, ScanContext

_PY_NAME = re.compile(r"^(python|pypy)(\d+(\.\d+t?)?)?$")


def _has_lib_python(ctx: ScanContext, prefix: str) -> bool:
    lib = ctx.listdir(f"{prefix}/lib")
    if not lib:
        return False
    return any(n.startswith(("python3", "python2", "pypy")) for n in lib)


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """The interpreters on ``PATH`` (in ``PATH`` order), then the running one."""
    seen: set[str] = set()
    for bindir in dict.fromkeys(p for p in (ctx.env("PATH") or "").split(os.pathsep) if os.path.isabs(p)):
        entries = ctx.listdir(bindir)
        if not entries:
            continue
        parent = os.path.dirname(bindir)
        for name in sorted(entries or ()):
            if not _PY_NAME.match(name):
                continue
            if "pyvenv.cfg" in (ctx.listdir(parent) or ()):
                if parent not in seen:
                    seen.add(parent)
                    yield Candidate(parent, "venv")
                break
            try:
                real = os.path.realpath(entries[name].path)
            except (OSError, ValueError):
                continue
            if real in seen or not os.path.isfile(real):
                continue
            seen.add(real)
            prefix = os.path.dirname(os.path.dirname(real))
            if prefix not in seen and _has_lib_python(ctx, prefix):
                seen.add(prefix)
                yield Candidate(prefix, "system")
    running = os.path.realpath(sys.prefix)
    if running not in seen:
        yield Candidate(running, "system")
