"""Ordinary kernelspecs on disk: `kernels install` writes them, `kernels prune` removes our stale ones.

An installed spec is a plain ``kernel.json`` in a Jupyter kernels directory, so VS Code,
nbconvert, papermill and ``jupyter kernelspec list`` see it without envkernels' server. It names
no provisioner (the launcher does the preparation itself) and is marked as ours by
``metadata.envkernels`` (the environment record), which is how ``prune`` tells ours from others.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envkernels.errors import EnvKernelsError
from envkernels.kernels import overlay, paths
from envkernels.kernels.activation import activation_for
from envkernels.kernels.spec import LaunchSettings, build_spec, is_ours
from envkernels.model import Environment


@dataclass(frozen=True)
class InstalledSpec:
    """One kernelspec directory found on disk."""

    name: str
    resource_dir: str
    spec: dict[str, Any]

    @property
    def ours(self) -> bool:
        """True when envkernels wrote it."""
        return is_ours(self.spec)


@dataclass(frozen=True)
class StaleSpec:
    """A kernelspec whose environment or interpreter is gone; ``ours`` ones are what prune removes."""

    name: str
    resource_dir: str
    reason: str
    ours: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON shape used by ``kernels prune --json`` and ``doctor --json``."""
        return {
            "name": self.name,
            "resource_dir": self.resource_dir,
            "reason": self.reason,
            "ours": self.ours,
        }


def install_settings(overlay_root: str | None = None) -> LaunchSettings:
    """Launch settings of an installed spec: no provisioner, the overlay cache of this user."""
    return LaunchSettings(
        launcher=str(paths.launcher_script()),
        host_python=paths.host_python(),
        overlay_root=overlay_root or str(paths.overlay_root()),
        overlay_dirs=tuple(overlay.overlay_dirs_from_environ()),
        provisioner=False,
    )


def install_kernelspec(
    env: Environment, *, user: bool = True, prefix: str | None = None, build_overlay: bool = True
) -> str:
    """Write ``env``'s kernelspec (kernel.json + logo) and return its directory.

    Environments without ipykernel get their overlay built now, so the first start is quick.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    if not env.ok:
        raise EnvKernelsError(f"the environment `{env.prefix}` is broken: {env.problem}", env.hint)
    if build_overlay and not env.has_ipykernel:
        overlay.ensure_overlay(env)
    spec = build_spec(env, activation_for(env), install_settings())
    with tempfile.TemporaryDirectory(prefix="envkernels-spec-") as tmp:
        for logo in paths.logos_dir(env.kind).glob("logo-*"):
            shutil.copy2(logo, tmp)
        Path(tmp, "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        ksm = KernelSpecManager()
        return str(ksm.install_kernel_spec(tmp, env.kernel_name, user=user and prefix is None, prefix=prefix))


def kernel_dirs(extra: Iterable[str] = ()) -> list[str]:
    """Every Jupyter kernels directory (``jupyter --paths`` order) plus ``extra`` ones."""
    from jupyter_core.paths import jupyter_path

    dirs = [*extra, *jupyter_path("kernels")]
    return list(dict.fromkeys(os.path.abspath(d) for d in dirs))


def installed_specs(dirs: Iterable[str] | None = None) -> list[InstalledSpec]:
    """Every readable ``kernel.json`` under the kernels directories (first directory wins a name)."""
    found: dict[str, InstalledSpec] = {}
    for kdir in dirs if dirs is not None else kernel_dirs():
        try:
            entries = sorted(os.listdir(kdir))
        except OSError:
            continue
        for name in entries:
            resource_dir = os.path.join(kdir, name)
            try:
                with open(os.path.join(resource_dir, "kernel.json"), encoding="utf-8") as f:
                    spec = json.load(f)
            except (OSError, ValueError):
                continue
            if isinstance(spec, dict):
                found.setdefault(name.lower(), InstalledSpec(name.lower(), resource_dir, spec))
    return list(found.values())


def stale_reason(item: InstalledSpec) -> str | None:
    """Why a spec no longer works (its environment or interpreter is gone), or None when it may."""
    if item.ours:
        record = item.spec["metadata"]["envkernels"]
        prefix, python = record.get("prefix"), record.get("python")
        if prefix and not os.path.isdir(prefix):
            return f"its environment `{prefix}` is gone"
        if python and not os.path.exists(python):
            return f"its interpreter `{python}` is gone"
        return None
    argv = item.spec.get("argv") or []
    if argv and isinstance(argv[0], str) and os.path.isabs(argv[0]) and not os.path.exists(argv[0]):
        return f"its interpreter `{argv[0]}` is gone"
    return None


def stale_specs(dirs: Iterable[str] | None = None) -> list[StaleSpec]:
    """The installed kernelspecs that no longer work, ours and others'."""
    out = []
    for item in installed_specs(dirs):
        reason = stale_reason(item)
        if reason:
            out.append(StaleSpec(item.name, item.resource_dir, reason, item.ours))
    return out


def prune(
    dirs: Iterable[str] | None = None, *, dry_run: bool = False
) -> tuple[list[StaleSpec], list[StaleSpec]]:
    """Remove OUR stale kernelspecs (unless ``dry_run``); return (removed-or-would-be, others reported)."""
    stale = stale_specs(dirs)
    ours = [s for s in stale if s.ours]
    if not dry_run:
        for item in ours:
            shutil.rmtree(item.resource_dir)
    return ours, [s for s in stale if not s.ours]
