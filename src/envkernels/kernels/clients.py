"""Kernel managers for Jupyter clients that build their own: nbclient, papermill, nbconvert, Voilà.

A client that starts kernels itself (``nbclient.NotebookClient``, papermill, ``jupyter nbconvert
--execute``) makes a ``jupyter_client`` kernel manager whose kernel spec manager is jupyter_client's
plain one: it knows only the kernelspec directories on disk, so an ``envk-`` name fails with
``NoSuchKernel`` unless ``envkernels kernels install`` wrote one, and a name saved on another
machine never resolves. :class:`AsyncEnvKernelManager` and :class:`EnvKernelManager` are those
managers with :class:`~envkernels.kernels.manager.EnvKernelSpecManager` as their spec manager:
every discovered environment is a kernel, a name from another machine starts the local
environment of the same kind and slug, and a name nothing fits fails with
``KernelNameNotResolved`` naming the closest local environments (never another Python).

How each client gets them (docs/clients.md has the one line each needs):

- nbclient: ``NotebookClient(nb, kernel_manager_class=AsyncEnvKernelManager)``;
- ``jupyter nbconvert --execute``:
  ``--ExecutePreprocessor.kernel_manager_class=envkernels.kernels.clients.AsyncEnvKernelManager``;
- papermill: ``--engine envkernels`` / ``engine_name="envkernels"``
  (:class:`envkernels.kernels.papermill_engine.EnvKernelsEngine`, registered under the
  ``papermill.engine`` entry point);
- Voilà: as a jupyter_server extension it uses the server's spec manager (envkernels' once the
  envkernels extension is enabled); standalone:
  ``--VoilaConfiguration.kernel_spec_manager_class=envkernels.kernels.manager.EnvKernelSpecManager``.

The async manager is the one to use: with the sync one, nbclient hangs at exit when a kernel
fails to start (nbclient's behaviour, not envkernels').
"""

from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import default

from envkernels.kernels.manager import EnvKernelSpecManager


class EnvKernelManager(KernelManager):
    """jupyter_client's ``KernelManager`` with envkernels' kernel spec manager."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> EnvKernelSpecManager:
        # parent=self: `c.EnvKernelSpecManager.*` of the client's config applies.
        return EnvKernelSpecManager(parent=self, data_dir=self.data_dir)


class AsyncEnvKernelManager(AsyncKernelManager):
    """jupyter_client's ``AsyncKernelManager`` (nbclient's default) with envkernels' kernel spec manager."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> EnvKernelSpecManager:
        return EnvKernelSpecManager(parent=self, data_dir=self.data_dir)
