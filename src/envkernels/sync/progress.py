"""A progress line on a terminal for long operations (index look-ups, uv runs).

``TerminalProgress`` is a ``progress(message, done, total)`` callable that redraws one line on
stderr; the CLI uses it only when stderr is a terminal or ``--progress`` asks for it.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class TerminalProgress:
    """Redraws ``[done/total] message`` on one line; ``close()`` ends the line."""

    def __init__(self, stream: TextIO | None = None, *, min_interval: float = 0.05) -> None:
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self._last = 0.0
        self._width = 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, message: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        text = f"[{done}/{total}] {message}"
        if self.tty:
            text = text[:100]
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Clear the progress line (on a terminal)."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
