"""Discovery: every Python environment on the machine, read from the files its tool writes.

The public entry points are :func:`discover` (all environments) and :func:`resolve_target`
(one TARGET as the CLI and the REST API name it).
"""

from __future__ import annotations

from envkernels.discovery.probe import environment_from_prefix
from envkernels.discovery.scan import discover, resolve_target

__all__ = ["discover", "environment_from_prefix", "resolve_target"]
