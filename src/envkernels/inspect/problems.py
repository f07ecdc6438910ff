"""Input problems: a file the user owns that the check could not read (named, never fatal).

The check goes on without the file; the CLI prints each as ``error: ...``/``hint: ...`` and exits 2,
the JSON report carries them under ``input_errors``.
"""

from __future__ import annotations

import re
from typing import Any

from envkernels._toml import tomllib
from envkernels.model import InputProblem

_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


class InputError(Exception):
    """Raised inside the readers, caught by the check and turned into an :class:`InputProblem`."""

    def __init__(self, problem: InputProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def read_text(path: str) -> str:
    """A user's text file as UTF-8; InputError naming the file when it cannot be read."""
    from envkernels.limits import TooLargeError, read_limited

    try:
        raw = read_limited(path)
    except TooLargeError as exc:
        raise InputError(InputProblem(path, exc.message, hint=exc.hint)) from exc
    except OSError as exc:
        raise InputError(InputProblem(path, f"`{path}` cannot be read ({exc.strerror})")) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            InputProblem(path, f"`{path}` is not UTF-8 (byte {exc.start})", hint="save the file as UTF-8")
        ) from exc


def load_toml(path: str, what: str) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes InputError naming the file and the line."""
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_WHERE.search(msg)
        line = int(m.group(1)) if m else None
        reason = _TOML_WHERE.sub("", msg).strip()
        where = f"{path}:{line}" if line else path
        raise InputError(
            InputProblem(
                path,
                f"`{where}` is not valid TOML ({reason})",
                hint=f"fix the {what} at that line",
                line=line,
            )
        ) from exc


def line_of(text: str, needle: str) -> int | None:
    """The 1-based line where ``needle`` first appears in ``text`` (to point at a bad entry)."""
    idx = text.find(needle)
    return text.count("\n", 0, idx) + 1 if idx >= 0 else None
