"""Discovery: every Python environment on the machine, read from the files its tool writes.

The public entry points are :func:`discover` (all environments) and :func:`resolve_target`
(one TARGET as the CLI and the REST API name it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envkernels.discovery.probe import environment_from_prefix
    from envkernels.discovery.scan import discover, resolve_target


def __getattr__(name: str) -> Any:
    # Lazy, so that a caller needing one record (`check TARGET`) does not import the whole scan
    # machinery (its cache, the inotify watcher and its ctypes): CLI start-up is measured.
    if name == "environment_from_prefix":
        from envkernels.discovery.probe import environment_from_prefix

        return environment_from_prefix
    if name in ("discover", "resolve_target"):
        from envkernels.discovery import scan

        return getattr(scan, name)
    raise AttributeError(f"module 'envkernels.discovery' has no attribute {name!r}")


__all__ = ["discover", "environment_from_prefix", "resolve_target"]
