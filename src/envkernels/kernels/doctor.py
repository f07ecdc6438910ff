"""``envkernels doctor``: what the Jupyter server will run on and show, and what is wrong with it.

The report is data (``Diagnosis``); the CLI prints it as a table or JSON. Each problem is a
finding with docs/reference.md's shape (``code``, ``severity``, ``package``, ``message``, ``hint``).

Codes: ``manager-not-active`` (the server extension, which installs the manager, is not enabled),
``other-kernel-manager`` (another manager is configured: wrapped, or serving alone),
``provisioner-missing``, ``duplicate-kernelspec`` (two kernelspecs start the same environment),
``stale-kernelspec``, ``broken-environment``, ``unsupported-environment`` (a working Python
envkernels cannot start a kernel on, e.g. 2.7: listed, not offered), ``no-ipykernel``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envkernels.kernels.installed import stale_specs
from envkernels.kernels.spec import interpreter_prefix_of
from envkernels.model import Environment, Finding

MANAGER_CLASS = "envkernels.kernels.manager.EnvKernelSpecManager"


@dataclass
class Diagnosis:
    """What doctor found: the server's software, the kernels it will show, and findings."""

    jupyter: dict[str, Any]
    python: dict[str, Any]
    kernels: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``doctor --json``."""
        return {
            "jupyter": self.jupyter,
            "python": self.python,
            "kernels": self.kernels,
            "findings": [f.to_dict() for f in self.findings],
        }


def configured_manager() -> tuple[str | None, str | None]:
    """(class, file) of ``ServerApp.kernel_spec_manager_class`` as the JSON config files set it.

    Files are read in Jupyter's order (lowest priority first: system, env, user; in each
    directory ``jupyter_server_config.d/*.json`` sorted, then ``jupyter_server_config.json``);
    the last one that sets it wins. Python config files are not evaluated.
    """
    value = source = None
    for path, data in _server_config_files():
        # JupyterLab moves a NotebookApp setting to the ServerApp after linking: it wins.
        for app in ("ServerApp", "NotebookApp"):
            cls = (data.get(app) or {}).get("kernel_spec_manager_class")
            if cls:
                value, source = str(cls), str(path)
    return value, source


def extension_enabled() -> bool:
    """True when the JSON config files enable the ``envkernels`` server extension (last one wins).

    The extension is what makes the server use EnvKernelSpecManager: it adopts (and wraps)
    whatever manager is configured while it is linked.
    """
    enabled = False
    for _path, data in _server_config_files():
        value = ((data.get("ServerApp") or {}).get("jpserver_extensions") or {}).get("envkernels")
        if isinstance(value, bool):
            enabled = value
    return enabled


def _server_config_files() -> list[tuple[Path, dict[str, Any]]]:
    """The JSON server config files that parse, lowest priority first."""
    from jupyter_core.paths import jupyter_config_path

    found: list[tuple[Path, dict[str, Any]]] = []
    for directory in reversed(jupyter_config_path()):
        d = Path(directory)
        files = [
            d / "jupyter_config.json",  # read by every Jupyter app (nb-venv-kernels installs one)
            *sorted((d / "jupyter_server_config.d").glob("*.json")),
            d / "jupyter_server_config.json",
        ]
        for path in files:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                found.append((path, data))
    return found


def _wrap_other() -> bool:
    """``EnvKernelSpecManager.wrap_other`` as the JSON config files set it (default True)."""
    value = True
    for _path, data in _server_config_files():
        setting = (data.get("EnvKernelSpecManager") or {}).get("wrap_other")
        if isinstance(setting, bool):
            value = setting
    return value


def _software() -> tuple[dict[str, Any], dict[str, Any]]:
    from importlib.metadata import PackageNotFoundError, version

    jupyter: dict[str, Any] = {}
    for dist in ("jupyter_server", "jupyter_client", "jupyterlab", "notebook", "ipykernel", "envkernels"):
        try:
            jupyter[dist] = version(dist)
        except PackageNotFoundError:
            jupyter[dist] = None
    cls, source = configured_manager()
    jupyter["kernel_spec_manager_class"] = cls
    jupyter["kernel_spec_manager_config"] = source
    python = {"executable": sys.executable, "version": sys.version.split()[0], "prefix": sys.prefix}
    return jupyter, python


def diagnose(roots: list[str] | None = None, default_roots: bool = True) -> Diagnosis:
    """Build the diagnosis (reads config, kernelspecs and environments from disk)."""
    from envkernels.kernels.manager import EnvKernelSpecManager, provisioner_installed

    jupyter, python = _software()
    diag = Diagnosis(jupyter=jupyter, python=python)
    cls, source = jupyter["kernel_spec_manager_class"], jupyter["kernel_spec_manager_config"]
    jupyter["envkernels_extension_enabled"] = extension_enabled()
    if cls != MANAGER_CLASS and not jupyter["envkernels_extension_enabled"]:
        where = f" (set in `{source}`)" if source else ""
        diag.findings.append(
            Finding(
                "manager-not-active",
                "warning",
                None,
                f"the envkernels server extension is not enabled, so the server keeps "
                f"`{cls or 'jupyter_client.kernelspec.KernelSpecManager'}`{where} and offers no "
                "environments as kernels",
                "`jupyter server extension enable envkernels` (it adopts, and wraps, any other manager)",
            )
        )
    elif cls and cls != MANAGER_CLASS and cls.rsplit(".", 1)[-1] != "EnvKernelSpecManager":
        short = cls.rsplit(".", 1)[-1]
        where = f" (in `{source}`)" if source else ""
        wrapped = _wrap_other()
        diag.findings.append(
            Finding(
                "other-kernel-manager",
                "info" if wrapped else "warning",
                None,
                f"`{cls}` is configured as the kernel spec manager{where}; "
                + (
                    "the envkernels server extension wraps it: its kernels are offered beside the "
                    "environments, each environment once"
                    if wrapped
                    else "it serves kernels alone (EnvKernelSpecManager.wrap_other is False), so "
                    "environments are not offered as kernels"
                ),
                f"to let {short} serve alone: `c.EnvKernelSpecManager.wrap_other = False`; "
                "`c.ServerApp.kernel_spec_manager_class` chooses the manager"
                if wrapped
                else "to offer the environments: `c.EnvKernelSpecManager.wrap_other = True`",
            )
        )
    if not provisioner_installed():
        diag.findings.append(
            Finding(
                "provisioner-missing",
                "error",
                None,
                "the `envkernels-provisioner` entry point is not registered",
                "reinstall envkernels: `pip install --force-reinstall envkernels`",
            )
        )
    ksm = EnvKernelSpecManager(roots=roots or [], default_roots=default_roots)
    listing = ksm.refresh()
    for name, entry in sorted(listing.shown.items()):
        record = (entry["spec"].get("metadata") or {}).get("envkernels")
        diag.kernels.append(
            {
                "name": name,
                "display_name": entry["spec"].get("display_name"),
                "environment": record.get("id") if isinstance(record, dict) else None,
            }
        )
    diag.findings.extend(_duplicates(ksm.native_specs()))
    for stale in stale_specs():
        hint = "`envkernels kernels prune`" if stale.ours else f"`jupyter kernelspec remove {stale.name}`"
        diag.findings.append(
            Finding(
                "stale-kernelspec",
                "warning",
                None,
                f"kernelspec `{stale.name}` ({stale.resource_dir}): {stale.reason}",
                hint,
            )
        )
    everything = {**listing.refused, **listing.environments}
    for env in sorted(everything.values(), key=lambda e: e.id):
        diag.findings.extend(_environment_findings(env))
    diag.findings.extend(_hub_findings(list(everything.values()), list(ksm.overlay_dirs)))
    return diag


def _hub_findings(envs: list[Environment], overlay_dirs: list[str]) -> list[Finding]:
    """What an administrator of shared environments should know: overlays not prepared, an
    audit log the users cannot write."""
    from envkernels.kernels.overlay import interpreter_tag, prepared_overlay
    from envkernels.shared import history_log

    found = []
    missing: dict[str, list[str]] = {}
    for env in envs:
        if env.shared and env.ok and not env.has_ipykernel and env.python_version:
            tag = interpreter_tag(env.implementation, env.python_version, env.free_threaded)
            if prepared_overlay(tag, overlay_dirs) is None:
                missing.setdefault(tag, []).append(env.name)
    if missing:
        shown = "; ".join(f"{tag}: {', '.join(sorted(names)[:3])}" for tag, names in sorted(missing.items()))
        found.append(
            Finding(
                "overlay-not-prepared",
                "warning",
                "ipykernel",
                f"shared environments without ipykernel have no prepared overlay ({shown}): each "
                "user's first kernel downloads ipykernel, and a hub without the index cannot start them",
                "as the administrator: `envkernels kernels prepare --dest DIR`, then "
                "`c.EnvKernelSpecManager.overlay_dirs = ['DIR']` (or `ENVKERNELS_OVERLAY_DIRS=DIR` "
                "in `c.Spawner.environment`)",
            )
        )
    raw = history_log()
    if raw is not None:
        log = Path(raw)
        target = log if log.exists() else log.parent
        if not os.access(target, os.W_OK):
            found.append(
                Finding(
                    "history-log-unwritable",
                    "warning",
                    None,
                    f"the server-wide history log `{log}` cannot be written by this user, so changes "
                    "involving shared environments are recorded only in the user's own cache",
                    f"as the administrator: `install -m 0622 /dev/null {log}` (each user may append, "
                    "not read others' lines) or a group-writable file",
                )
            )
    return found


def _duplicates(native: dict[str, dict[str, Any]]) -> list[Finding]:
    by_prefix: dict[str, list[str]] = {}
    for name, entry in native.items():
        prefix = interpreter_prefix_of(list(entry["spec"].get("argv") or []))
        if prefix:
            by_prefix.setdefault(os.path.realpath(prefix), []).append(name)
    return [
        Finding(
            "duplicate-kernelspec",
            "warning",
            None,
            f"kernelspecs {', '.join(f'`{n}`' for n in sorted(names))} all start `{prefix}`",
            f"keep one: `jupyter kernelspec remove {sorted(names)[-1]}`",
        )
        for prefix, names in sorted(by_prefix.items())
        if len(names) > 1
    ]


def _environment_findings(env: Environment) -> list[Finding]:
    if env.status == "unsupported":
        return [
            Finding(
                "unsupported-environment",
                "warning",
                None,
                f"`{env.prefix}` ({env.id}) is not offered as a kernel: {env.problem}",
                env.hint,
            )
        ]
    if not env.ok:
        return [
            Finding(
                "broken-environment",
                "error",
                None,
                f"`{env.prefix}` ({env.id}) is broken, so it is not offered as a kernel: {env.problem}",
                env.hint,
            )
        ]
    if not env.has_ipykernel:
        return [
            Finding(
                "no-ipykernel",
                "info",
                "ipykernel",
                f"`{env.prefix}` ({env.id}) has no ipykernel; its kernel runs with an overlay "
                "outside the environment",
                f"to install it there: `uv pip install --python {env.python} ipykernel`",
            )
        ]
    return []
