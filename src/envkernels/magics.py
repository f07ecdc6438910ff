"""``%load_ext envkernels``: the same five magics, with the engine running in this process.

The magics themselves (argument parsing, facts, result objects, widgets) live in the stdlib-only
``kernel_side/envkernels_kernel.py`` that envkernels' own kernels load; here they get a backend
that calls :class:`envkernels.worker.Worker` directly instead of a worker process, because
envkernels is importable in this IPython.
"""

from __future__ import annotations

from typing import Any

from envkernels.kernel_side import envkernels_kernel as _kernel_side
from envkernels.worker import Worker

EnvironmentCheckFailed = _kernel_side.EnvironmentCheckFailed
EnvKernelsMagicError = _kernel_side.EnvKernelsMagicError
EnvResult = _kernel_side.EnvResult


class InProcessBackend:
    """Answers the magics' requests with the engine in this process (same protocol as the worker)."""

    def __init__(self) -> None:
        self.worker = Worker()
        self.cells = _kernel_side.CellFeed()
        self._ids = 0

    def request(
        self, op: str, args: dict[str, Any], facts: dict[str, Any], progress: Any = None
    ) -> dict[str, Any]:
        """One request; returns the ``result`` or raises EnvKernelsMagicError."""
        self._ids += 1
        sent = _kernel_side.send_cells(self.cells, facts)
        reply = self.worker.handle({"id": self._ids, "op": op, "args": args, "facts": sent}, progress)
        self.cells.sent = len(facts.get("cells") or ())
        return _kernel_side._unwrap(reply)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%envs``, ``%envcheck``, ``%envlock``, ``%envaudit`` and ``%envsync`` in ``ipython``."""
    if getattr(ipython, "_envkernels_magics", None) is not None:
        return
    ipython._envkernels_magics = _kernel_side.register(ipython, InProcessBackend())


def unload_ipython_extension(ipython: Any) -> None:
    """Forget the magics object (the registered names stay until IPython restarts, as IPython does)."""
    ipython._envkernels_magics = None
