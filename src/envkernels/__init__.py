"""envkernels: every Python environment a Jupyter kernel, and every kernel able to check,
lock, audit and sync the environment it runs in."""

from __future__ import annotations

# The one import of the package made here: a leaf module holding a constant.
from envkernels._version import __version__

# Not `from typing import TYPE_CHECKING`: importing typing is a measurable share of a CLI start
# (`envkernels check` is measured against `uv pip check`); type checkers treat this name alike.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from envkernels.discovery import discover
    from envkernels.model import Environment, Finding, Report


def __getattr__(name: str) -> Any:
    # Lazy: `import envkernels` (every CLI start, every kernel-side import) must stay cheap.
    if name == "discover":
        from envkernels.discovery import discover

        return discover
    if name in ("Environment", "Finding", "Report"):
        from envkernels import model

        return getattr(model, name)
    raise AttributeError(f"module 'envkernels' has no attribute {name!r}")


__all__ = ["Environment", "Finding", "Report", "__version__", "discover"]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext envkernels``: register the magics in this IPython."""
    from envkernels.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext envkernels``: forget the magics' state (their in-process cache)."""
    from envkernels.magics import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    from envkernels.server.app import EnvKernelsApp

    return [{"module": "envkernels", "app": EnvKernelsApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "envkernels"}]
