"""Helpers for the shared-root tests: the real CLI, a root's file listing, a server config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def listing(root: Path) -> list[tuple[str, int, int]]:
    """Every path under ``root`` with its mtime (ns) and mode: what must never change."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out.append((os.path.relpath(path, root), st.st_mtime_ns, st.st_mode))
    return sorted(out)


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess."""
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full,
        timeout=300,
    )


def named_identity() -> Any:
    """An identity provider whose token-authenticated user is always ``ana`` (as a hub's would be)."""
    from jupyter_server.auth.identity import IdentityProvider, User

    class NamedIdentity(IdentityProvider):  # type: ignore[misc]
        def generate_anonymous_user(self, handler: Any) -> User:
            return User(username="ana", name="Ana", display_name="Ana")

    return NamedIdentity


def config_for(team_root: Path, user_root: Path | None = None, **app: Any) -> Any:
    """A jupyter_server config: envkernels on, the team root shared (through the traits), nothing else."""
    from traitlets.config import Config

    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"envkernels": True},
                "kernel_spec_manager_class": "envkernels.kernels.manager.EnvKernelSpecManager",
                "identity_provider_class": named_identity(),
            },
            "EnvKernelsApp": {"default_roots": False, "shared_roots": [str(team_root)], **app},
            "EnvKernelSpecManager": {"default_roots": False, "shared_roots": [str(team_root)]},
        }
    )
