"""The kernel provisioner of the specs the server serves: checks and prepares before the launch.

jupyter_client calls ``pre_launch`` (async) before starting the process, which is the right
moment for work that must not block the server's event loop and must fail *clearly*:

- a broken environment refuses to start with its problem and hint (JupyterLab's "Error
  Starting Kernel" dialog shows the message, instead of a kernel that silently dies);
- an environment without ipykernel gets its overlay built (in a thread) before the launcher
  needs it, or ipykernel installed into it when the admin chose ``without_ipykernel = "install"``.

Registered under the ``jupyter_client.kernel_provisioners`` entry point ``envkernels-provisioner``.
Installed kernelspecs (``envkernels kernels install``) do not name it: the launcher does the same
work itself there, so other tools that read kernel.json never need envkernels' Python.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from envkernels.core.layout import has_distribution
from envkernels.errors import EnvKernelsError
from envkernels.kernels import overlay
from envkernels.kernels.spec import ENV_OVERLAY_DIRS, ENV_OVERLAY_ROOT, ENV_WITHOUT_IPYKERNEL, refusal
from envkernels.model import Environment


class KernelStartError(EnvKernelsError):
    """A kernel that cannot start: what is wrong (``message``) and, where known, what fixes it (``hint``).

    ``str()`` carries both, as a kernel client (nbclient, papermill) shows only ``str()``.
    """

    def __str__(self) -> str:
        return f"{self.message}. hint: {self.hint}" if self.hint else self.message


def _for_jupyter_server(exc: KernelStartError) -> Exception:
    """The form of ``exc`` jupyter_server shows: ``POST /api/kernels`` (and ``/api/sessions``) answer
    a tornado ``HTTPError`` with its status and message, and any other exception with "Unhandled
    error". jupyter_server loads this provisioner without envkernels' server extension (its kernel
    spec manager alone is enough), so the translation cannot wait for the server layer.
    """
    from tornado import web

    return web.HTTPError(409, str(exc), reason="Kernel cannot start")


def _inside_jupyter_server(kernel_manager: object) -> bool:
    """True when ``kernel_manager`` is jupyter_server's (it requires a ServerKernelManager subclass)."""
    return any(c.__module__.startswith("jupyter_server.") for c in type(kernel_manager).__mro__)


def environment_of(kernel_spec: Any) -> Environment | None:
    """The environment record a spec carries in ``metadata.envkernels`` (None for other specs)."""
    meta = getattr(kernel_spec, "metadata", None) or {}
    record = meta.get("envkernels")
    return Environment.from_dict(record) if isinstance(record, dict) else None


async def prepare(
    env: Environment, mode: str, root: str | None = None, dirs: Sequence[str] | None = None
) -> None:
    """Make ``env`` startable: raise KernelStartError when it is broken or unsupported, or when
    ipykernel cannot be provided. ``root`` and ``dirs``: the spec's overlay root and prepared
    overlay directories (a prepared overlay is used as it is: nothing is downloaded)."""
    if not env.ok:
        raise KernelStartError(refusal(env), env.hint)
    if await asyncio.to_thread(has_distribution, env.prefix, "ipykernel"):
        return
    try:
        if mode == "install" and not env.shared:
            await asyncio.to_thread(overlay.install_ipykernel, env)
        else:
            where = Path(root) if root else None
            await asyncio.to_thread(overlay.ensure_overlay, env, where, dirs)
    except EnvKernelsError as exc:
        raise KernelStartError(
            f"could not provide ipykernel for `{env.prefix}`: {exc.message}", exc.hint
        ) from exc


class EnvKernelProvisioner(LocalProvisioner):
    """A LocalProvisioner that prepares the environment first (see the module docstring)."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Refuse broken and unsupported environments, provide ipykernel, then launch as usual."""
        env = environment_of(self.kernel_spec)
        if env is not None:
            spec_env = self.kernel_spec.env or {}
            mode = spec_env.get(ENV_WITHOUT_IPYKERNEL, "overlay")
            dirs = [d for d in spec_env.get(ENV_OVERLAY_DIRS, "").split(os.pathsep) if d]
            try:
                await prepare(env, mode, spec_env.get(ENV_OVERLAY_ROOT), dirs)
            except KernelStartError as exc:
                if _inside_jupyter_server(self.parent):
                    raise _for_jupyter_server(exc) from exc
                raise
        return await super().pre_launch(**kwargs)
