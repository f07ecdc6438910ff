"""Inspection: the check and what it reads, plus the views built on an environment's contents.

Owns the check (``check`` and its rules in ``check_*``, its cache), the inventory of what an environment
holds (``inventory``, over :mod:`envkernels.core.distributions`), what a project declares
(``declared``), a notebook's imports (``imports``), what ``pip check`` would say (``broken``), fix
advice and hints, the dependency tree (``tree``) and the comparison of two package sets (``diff``).
"""
