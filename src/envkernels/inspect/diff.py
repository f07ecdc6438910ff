"""Side-by-side comparison of two package sets: two environments, or an environment and a lock.

Pure: both sides come in as ``{name: version}`` maps with a label; the result is the rows the
diff view shows, one per distribution name (PEP 503 normalized), sorted by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from envkernels.core.layout import normalize_name

STATUSES = ("same", "changed", "only-left", "only-right")


def versions_of(pairs: Iterable[tuple[str, str | None]]) -> dict[str, tuple[str, str | None]]:
    """``{normalized: (display name, version)}``, the first entry of a name winning (path order)."""
    out: dict[str, tuple[str, str | None]] = {}
    for name, version in pairs:
        out.setdefault(normalize_name(name), (name, version))
    return out


def compare(
    left: Mapping[str, tuple[str, str | None]],
    right: Mapping[str, tuple[str, str | None]],
    *,
    left_label: dict[str, Any],
    right_label: dict[str, Any],
) -> dict[str, Any]:
    """The diff document: ``{"left", "right", "rows": [{name, left, right, status}], "summary"}``."""
    rows = []
    for key in sorted(set(left) | set(right)):
        lname, lver = left.get(key, (None, None))
        rname, rver = right.get(key, (None, None))
        if key not in right:
            status = "only-left"
        elif key not in left:
            status = "only-right"
        elif lver == rver:
            status = "same"
        else:
            status = "changed"
        rows.append({"name": lname or rname, "left": lver, "right": rver, "status": status})
    summary = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    return {"left": left_label, "right": right_label, "rows": rows, "summary": summary}
