"""Side-by-side comparison of two package sets: two environments, or an environment and a lock.

Pure: both sides come in as ``{name: version}`` maps with a label; the result is the rows the
diff view shows, one per distribution name (PEP 503 normalized), sorted by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from envkernels.core.layout import normalize_name
from envkernels.model import DIFF_STATUSES, Diff, DiffRow, DiffSide, DiffStatus

STATUSES = DIFF_STATUSES


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
    left_label: DiffSide,
    right_label: DiffSide,
) -> Diff:
    """The diff: one row per name on either side (sorted by normalized name), and the counts."""
    rows = []
    for key in sorted(set(left) | set(right)):
        lname, lver = left.get(key, (None, None))
        rname, rver = right.get(key, (None, None))
        status: DiffStatus
        if key not in right:
            status = "only-left"
        elif key not in left:
            status = "only-right"
        elif lver == rver:
            status = "same"
        else:
            status = "changed"
        rows.append(DiffRow(str(lname or rname), lver, rver, status))
    summary: dict[str, int] = {s: sum(1 for r in rows if r.status == s) for s in DIFF_STATUSES}
    return Diff(left_label, right_label, tuple(rows), summary)
