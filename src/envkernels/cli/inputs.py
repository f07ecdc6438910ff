"""Checks of arguments several commands share, made before any work so that bad input prints no verdict.

The CLI's rule for bad input (every command): one ``error:`` line and its ``hint:`` on stderr, exit 2,
and nothing on stdout.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from envkernels.errors import UsageError


def require_directories(roots: Sequence[str], option: str = "--root") -> None:
    """Raise UsageError naming the first of ``roots`` that is not an existing directory."""
    for root in roots:
        if not os.path.isdir(os.path.expanduser(root)):
            raise UsageError(
                f"`{root}` is not a directory", hint=f"give an existing directory with `{option}`"
            )
