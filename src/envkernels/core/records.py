"""Who and when, for the records envkernels keeps (a sync's history, a cleanup's trash manifest)."""

from __future__ import annotations

import datetime as _dt
import getpass
import os
import socket


def utc_stamp() -> str:
    """A sortable UTC timestamp for file names (``20261122T001700.123456Z``)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def who() -> str:
    """``user@host`` of whoever runs envkernels (a sync, a cleanup)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"
