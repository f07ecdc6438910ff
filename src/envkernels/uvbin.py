"""Where the uv binary is: the one shipped in uv's PyPI package, else `uv` on PATH."""

from __future__ import annotations

import functools
import shutil

from envkernels.errors import NotFoundError


@functools.lru_cache(maxsize=1)
def uv_binary() -> str:
    """Return the path of the uv executable envkernels installs with (the ``uv`` dependency)."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise NotFoundError("uv is not installed", hint="`pip install uv`")
