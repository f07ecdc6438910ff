"""papermill's ``envkernels`` engine: its nbclient engine, starting kernels with envkernels' manager.

Registered under the ``papermill.engine`` entry point, so ``papermill in.ipynb out.ipynb -k
envk-uv-myproject-3f2a9c1e --engine envkernels`` (or ``execute_notebook(...,
engine_name="envkernels")``) runs the notebook in that environment, a name from another machine
in the local environment of the same kind and slug. papermill imports this module while it loads
its engines; nothing else does (papermill is not a dependency of envkernels).
"""

from __future__ import annotations

from typing import Any

from papermill.engines import NBClientEngine

from envkernels.kernels.clients import AsyncEnvKernelManager


class EnvKernelsEngine(NBClientEngine):
    """papermill's ``nbclient`` engine with :class:`~envkernels.kernels.clients.AsyncEnvKernelManager`."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: Any, **kwargs: Any) -> Any:
        """Run as papermill's nbclient engine does, with envkernels' kernel manager unless one is given."""
        kwargs.setdefault("kernel_manager_class", AsyncEnvKernelManager)
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
