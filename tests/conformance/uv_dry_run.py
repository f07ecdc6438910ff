"""`uv pip sync --dry-run` as a reference: run it on a real environment and read its plan as changes.

uv prints its plan on stderr, one line per distribution: `` - name==old`` for what it would remove
(or replace) and `` + name==new`` for what it would install; a replaced distribution has both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from packaging.utils import canonicalize_name

from envfactory import uv

Change = tuple[str, str | None, str | None]

_LINE = re.compile(r"^ ([+-]) (\S+?)==(\S+)")


def parse_dry_run(stderr: str) -> set[Change]:
    """``{(normalized name, old version or None, new version or None)}`` from uv's dry-run output."""
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m:
            (old if m.group(1) == "-" else new)[canonicalize_name(m.group(2))] = m.group(3)
    return {(name, old.get(name), new.get(name)) for name in old.keys() | new.keys()}


def uv_dry_run(lock: str | os.PathLike[str], prefix: str | os.PathLike[str]) -> set[Change]:
    """What ``uv pip sync`` would change in ``prefix`` to match ``lock`` (nothing is changed)."""
    proc = uv("pip", "sync", "--dry-run", "--python", str(Path(prefix) / "bin" / "python"), str(lock))
    changes = parse_dry_run(proc.stderr)
    # Fail closed: an output this parser does not understand must not read as "no changes".
    assert changes or "Would make no changes" in proc.stderr, proc.stderr
    return changes
