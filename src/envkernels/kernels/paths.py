"""Where the kernel machinery keeps its files: the launcher script, logos, and the overlay cache."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from envkernels.cachedir import cache_dir

_PACKAGE = Path(__file__).resolve().parent.parent


def launcher_script() -> Path:
    """The absolute path of ``kernel_side/launch.py``, the script every envkernels kernel runs."""
    return _PACKAGE / "kernel_side" / "launch.py"


@functools.lru_cache(maxsize=32)
def logos_dir(kind: str) -> Path:
    """The resource directory holding the logo of an environment ``kind`` (a generic one if unknown)."""
    cand = Path(__file__).resolve().parent / "logos" / kind
    return cand if cand.is_dir() else cand.parent / "python"


def overlay_root() -> Path:
    """The directory holding one ipykernel overlay per interpreter tag (``cp312``, ``cp313t``, ``pp310``)."""
    return cache_dir() / "overlay"


def host_python() -> str:
    """The interpreter running envkernels (the kernel side's worker and overlay builder use it)."""
    return sys.executable
