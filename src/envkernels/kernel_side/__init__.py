"""The code that runs inside envkernels' kernels, in the environment's own interpreter.

``launch.py`` (the bootstrap), ``envkernels_kernel`` (the magics' kernel half) and
``envkernels_widgets`` (the ipywidgets views) are loaded there as top-level modules from this
directory, where envkernels itself may not be installed: they import nothing of envkernels (the
layer contract in pyproject.toml holds them to it). This package form is only for envkernels' own
in-process use (:mod:`envkernels.magics`, :mod:`envkernels.widgets`).
"""
