"""How the CLI talks: JSON and tables to stdout, ``error:``/``warning:``/``hint:`` to stderr.

Colour only on a terminal and never with ``NO_COLOR`` set; every line reads right without it.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: on the path of a `check` answered from its cached verdict
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

_COLOURS = {"error": "31", "warning": "33", "hint": "36", "info": "34", "ok": "32"}


def use_colour(stream: Any = None) -> bool:
    """True when ``stream`` is a terminal and neither NO_COLOR nor a dumb TERM forbids colour."""
    stream = stream or sys.stderr
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def colour(text: str, what: str) -> str:
    """``text`` coloured for ``what`` (error, warning, hint, info, ok), terminal or not."""
    code = _COLOURS.get(what)
    return f"\033[{code}m{text}\033[0m" if code else text


def paint(text: str, what: str, stream: Any = None) -> str:
    """``text`` coloured for ``what`` (error, warning, hint, info, ok) when colour is on."""
    return colour(text, what) if use_colour(stream) else text


def print_error(message: str, hint: str | None = None) -> None:
    """One ``error:`` line and, where a fix is known, one ``hint:`` line, on stderr."""
    print(f"{paint('error', 'error')}: {message}", file=sys.stderr)
    if hint:
        print(f"{paint('hint', 'hint')}: {hint}", file=sys.stderr)


def print_warning(message: str, hint: str | None = None) -> None:
    """A ``warning:`` line (and ``hint:``) on stderr."""
    print(f"{paint('warning', 'warning')}: {message}", file=sys.stderr)
    if hint:
        print(f"{paint('hint', 'hint')}: {hint}", file=sys.stderr)


def json_text(data: Any) -> str:
    """What :func:`print_json` prints for ``data``."""
    import json

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def print_json(data: Any) -> None:
    """Pretty JSON on stdout."""
    import json  # here: a `check` answered from its cached verdict prints stored text, without json

    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain, aligned text table on stdout."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def check_exit_code(report: dict[str, Any], strict: bool) -> int:
    """1 when a check report has an error finding (with ``strict``: a warning too), else 0."""
    worst = {f["severity"] for f in report["findings"]}
    return 1 if "error" in worst or (strict and "warning" in worst) else 0
