"""Living beside another kernel spec manager instead of silently replacing it.

Jupyter reads ``jupyter_server_config.d/*.json`` in name order, so a package such as
nb_conda_kernels (``nb_conda_kernels.json`` sets ``ServerApp.kernel_spec_manager_class`` after
our ``envkernels.json``) may win the setting. The server extension calls
:func:`adopt_kernel_spec_manager` while it is *linked* (before the ServerApp builds its managers):
if another manager was configured, ours takes the setting and wraps the other one
(``EnvKernelSpecManager.wrapped_class``), so both sets of kernels are offered.

Some managers are set later: nb-venv-kernels installs a ``jupyter_config.json`` naming its manager
for ``NotebookApp`` (JupyterLab moves that to the ServerApp when it links, after us) and sets the
class again when its extension loads, after the managers exist. :func:`keep_adopting` watches the
setting from link time on and wraps whatever comes later the same way, in the config or in the
running manager; the log says which manager serves kernels and how to choose another.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager

from envkernels.kernels.manager import EnvKernelSpecManager


def adopt_kernel_spec_manager(serverapp: Any, log: logging.Logger | None = None) -> str:
    """Make the ServerApp use EnvKernelSpecManager, wrapping whatever other manager it had.

    Returns what was done, for the log: ``"ours"`` (already ours), ``"wrapped <Class>"``,
    ``"kept <Class>"`` (the admin opted out with ``EnvKernelSpecManager.wrap_other=False``,
    or the other manager is a gateway), or ``"default"`` (jupyter_client's plain manager).
    """
    log = log or logging.getLogger("envkernels")
    # At link time (before `init_configurables`) an unset trait cannot even be read: its dynamic
    # default consults `serverapp.gateway_config`, which does not exist yet. Unset means "the
    # default", which is jupyter_client's plain manager unless a gateway is configured.
    current = (
        serverapp.kernel_spec_manager_class
        if serverapp.trait_has_value("kernel_spec_manager_class")
        else KernelSpecManager
    )
    if isinstance(current, type) and issubclass(current, EnvKernelSpecManager):
        return "ours"
    name = getattr(current, "__name__", str(current))
    if _gateway_enabled(serverapp):
        log.warning(
            "envkernels: kernels come from a gateway (%s); environments are not offered as kernels", name
        )
        return f"kept {name}"
    ours_cfg = serverapp.config.get("EnvKernelSpecManager", {})
    if ours_cfg.get("wrap_other", True) is False:
        log.warning(
            "envkernels: %s stays the kernel spec manager (EnvKernelSpecManager.wrap_other is "
            "False); environments are not offered as kernels",
            name,
        )
        return f"kept {name}"
    if current is KernelSpecManager or not (
        isinstance(current, type) and issubclass(current, KernelSpecManager)
    ):
        _use_ours(serverapp)
        return "default"
    serverapp.config.EnvKernelSpecManager.wrapped_class = current
    _use_ours(serverapp)
    log.info("envkernels: wrapping %s; its kernels are offered beside every environment", name)
    return f"wrapped {name}"


def keep_adopting(serverapp: Any, log: logging.Logger | None = None) -> None:
    """From now on, wrap any other manager set as ``ServerApp.kernel_spec_manager_class``.

    Called when the extension is linked, after :func:`adopt_kernel_spec_manager`. Unless the admin
    kept the other manager (``EnvKernelSpecManager.wrap_other = False``) or kernels come from a
    gateway, a later setting is wrapped instead of replacing envkernels; when the server's manager
    already exists, it wraps the newcomer at once.
    """
    log = log or logging.getLogger("envkernels")

    def changed(change: Any) -> None:
        new = change["new"]
        if not isinstance(new, type) or issubclass(new, EnvKernelSpecManager):
            return
        if not issubclass(new, KernelSpecManager) or new is KernelSpecManager:
            _use_ours(serverapp)
            return
        name = f"{new.__module__}.{new.__qualname__}"
        if serverapp.config.get("EnvKernelSpecManager", {}).get("wrap_other", True) is False:
            log.warning(
                "envkernels: kernels are served by %s (EnvKernelSpecManager.wrap_other is False), "
                "so environments are not offered as kernels; to choose envkernels, set "
                "c.ServerApp.kernel_spec_manager_class = %r",
                name,
                MANAGER_CLASS,
            )
            return
        already = serverapp.config.get("EnvKernelSpecManager", {}).get("wrapped_class") is new
        serverapp.config.EnvKernelSpecManager.wrapped_class = new
        running = serverapp._trait_values.get("kernel_spec_manager")
        _use_ours(serverapp)
        if isinstance(running, EnvKernelSpecManager):
            running.wrapped_class = new
        if already:  # set again (nb_venv_kernels does at load time): still wrapped, said once
            log.debug("envkernels: %s set again as the kernel spec manager; still wrapped", name)
            return
        log.warning(
            "envkernels: %s was set as the kernel spec manager after envkernels; envkernels keeps "
            "serving kernels and wraps it, so its kernels are offered beside the environments (each "
            "environment once). To let %s serve alone, set c.EnvKernelSpecManager.wrap_other = False "
            "(c.ServerApp.kernel_spec_manager_class chooses the manager)",
            name,
            new.__name__,
        )

    serverapp.observe(changed, names="kernel_spec_manager_class")


MANAGER_CLASS = f"{EnvKernelSpecManager.__module__}.{EnvKernelSpecManager.__qualname__}"


def _use_ours(serverapp: Any) -> None:
    """Make EnvKernelSpecManager the server's manager, in its config too.

    Setting the trait alone does not last: when extensions' config is merged into the server's
    (right after linking), traitlets applies ``ServerApp.kernel_spec_manager_class`` from the config
    again, which would bring the other manager back.
    """
    serverapp.config.ServerApp.kernel_spec_manager_class = EnvKernelSpecManager
    serverapp.kernel_spec_manager_class = EnvKernelSpecManager


def _gateway_enabled(serverapp: Any) -> bool:
    """True when kernels come from a gateway: then its kernel spec manager stays."""
    config = getattr(serverapp, "gateway_config", None)  # exists once configurables are built
    if config is not None:
        return bool(config.gateway_enabled)
    gateway = serverapp.config.get("GatewayClient", {})
    return bool(gateway.get("url") or os.environ.get("JUPYTER_GATEWAY_URL"))
