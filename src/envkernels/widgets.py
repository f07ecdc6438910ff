"""ipywidgets views of the magics' results (re-exported from the kernel-side module).

The views live in ``kernel_side/envkernels_widgets.py`` because envkernels' own kernels load
them from there without envkernels installed in the environment; in-process code (``%load_ext
envkernels``, tests) imports them from here.
"""

from __future__ import annotations

from envkernels.kernel_side.envkernels_widgets import (
    build,
    confirm_button,
    environments_view,
    matches,
    plan_view,
    report_view,
)

__all__ = ["build", "confirm_button", "environments_view", "matches", "plan_view", "report_view"]
