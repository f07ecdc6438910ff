"""Which Python an environment holds, read from its files: never by starting its interpreter.

Sources, most trusted first:
1. ``pyvenv.cfg`` (``version_info``/``version``, ``implementation``) of venv, virtualenv and uv;
2. conda's package records ``conda-meta/python-X.Y.Z-<build>.json`` (the build string tells PyPy
   and free-threaded builds apart; ``python_abi-*-cp313t`` and ``python-freethreading`` too);
3. the prefix's own name where the tool puts the version there (uv's
   ``cpython-3.12.4+freethreaded-linux-x86_64-gnu``, pyenv's ``3.13.0t``, ``pypy3.10-7.3.17``);
4. the ``lib/pythonX.Y[t]`` (or ``lib/pypyX.Y``) directory, and ``include/pythonX.Y/patchlevel.h``
   for the patch level of a base interpreter that has nothing else to say.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_LIB_PY = re.compile(r"^(python|pypy)(\d+)\.(\d+)(t?)$")
_CONDA_PY = re.compile(r"^python-(\d+\.\d+(?:\.\d+)?)-([^-]+)\.json$")
_CONDA_PYPY = re.compile(r"^pypy(\d+\.\d+)-[^-]+-[^-]+\.json$")
# uv's `cpython-3.12.4-...`/`pypy-3.10.14-...`, pyenv's `3.12.4`/`3.13.0t` (not pyenv's
# `pypy3.10-7.3.17`, whose X.Y.Z is PyPy's own version).
_NAME_VERSION = re.compile(r"^(?:[a-z]+-)?(\d+\.\d+\.\d+)(t?)(?:$|[-+])")
_PATCHLEVEL = re.compile(rb'#define\s+PY_VERSION\s+"([^"]+)"')


@dataclass(frozen=True)
class PythonFacts:
    """Version, implementation and free-threading of one prefix, plus where its packages live."""

    version: str | None
    implementation: str
    free_threaded: bool
    lib_dir: str | None  # lib/pythonX.Y[t] (or lib/pypyX.Y), the one the interpreter uses
    major_minor: tuple[int, int] | None


def parse_pyvenv_cfg(text: str) -> dict[str, str]:
    """``key = value`` lines into a dict (keys lowercased); other lines are ignored, as ``site.py`` does."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    return values


def _trim_version(text: str) -> str | None:
    # virtualenv writes "3.12.4.final.0"; keep the numeric X.Y[.Z]
    parts = []
    for piece in text.strip().split(".")[:3]:
        if not piece.isdigit():
            break
        parts.append(piece)
    return ".".join(parts) if len(parts) >= 2 else None


def lib_dirs(prefix: str) -> list[tuple[int, int, bool, str, str]]:
    """``(major, minor, free_threaded, impl, path)`` of ``lib/pythonX.Y[t]``/``lib/pypyX.Y``, newest first."""
    found = []
    try:
        names = os.listdir(prefix + "/lib")
    except (OSError, ValueError):
        return []
    for name in names:
        m = _LIB_PY.match(name)
        if m:
            impl = "pypy" if m.group(1) == "pypy" else "cpython"
            found.append((int(m.group(2)), int(m.group(3)), m.group(4) == "t", impl, f"{prefix}/lib/{name}"))
    found.sort(reverse=True)
    return found


def read_facts(
    prefix: str,
    cfg: dict[str, str] | None,
    conda_names: list[str] | None,
) -> PythonFacts:
    """Everything this module's docstring lists, for one (real, absolute) prefix."""
    version: str | None = None
    implementation: str | None = None
    free_threaded = False
    base = os.path.basename(prefix).lower()
    if cfg:
        raw = cfg.get("version_info") or cfg.get("version")
        version = _trim_version(raw) if raw else None
        if cfg.get("implementation"):
            implementation = cfg["implementation"].lower()
        elif "pypy" in cfg.get("home", "").lower():
            implementation = "pypy"
        if version and implementation in (None, "cpython"):
            major, minor = (int(p) for p in version.split(".")[:2])
            if (major, minor) < (3, 13):
                # No free-threaded build before 3.13: the lib dir is known without listing lib/.
                known = f"{prefix}/lib/python{major}.{minor}"
                return PythonFacts(version, "cpython", False, known, (major, minor))
    libs = lib_dirs(prefix)
    if conda_names:
        for n in conda_names:
            m = _CONDA_PY.match(n)
            if m:
                version = version or m.group(1)
                build = m.group(2)
                if "pypy" in build:
                    implementation = implementation or "pypy"
                if re.search(r"cp\d+t", build):
                    free_threaded = True
            elif _CONDA_PYPY.match(n):
                implementation = "pypy"
            elif n.startswith("python-freethreading-") or re.match(r"^python_abi-.*cp\d+t\.json$", n):
                free_threaded = True
    parent_base = os.path.basename(os.path.dirname(prefix))
    if version is None and parent_base == "__pypackages__" and re.match(r"^\d+\.\d+t?$", base):
        version = base.rstrip("t")  # PEP 582: __pypackages__/X.Y
    if version is None:
        m2 = _NAME_VERSION.search(base)
        if m2:
            version = m2.group(1)
    if "freethreaded" in base or re.match(r"^\d+\.\d+\.\d+t$", base):
        free_threaded = True
    if implementation is None:
        if "pypy" in base:
            implementation = "pypy"
        elif "graalpy" in base:
            implementation = "graalpy"
    lib_dir: str | None = None
    major_minor = None
    if libs:
        major, minor, ft, impl, lib_dir = libs[0]
        major_minor = (major, minor)
        free_threaded = free_threaded or ft
        if implementation is None and impl == "pypy":
            implementation = "pypy"
        if version is None:
            version = _patchlevel(prefix, major, minor, ft) or f"{major}.{minor}"
    if implementation is None:
        implementation = "cpython"
    if major_minor is None and version:
        bits = version.split(".")
        major_minor = (int(bits[0]), int(bits[1]))
    return PythonFacts(version, implementation, free_threaded, lib_dir, major_minor)


def _patchlevel(prefix: str, major: int, minor: int, ft: bool) -> str | None:
    """X.Y.Z from ``include/pythonX.Y[t]/patchlevel.h`` (only base interpreters ship it)."""
    path = f"{prefix}/include/python{major}.{minor}{'t' if ft else ''}/patchlevel.h"
    try:
        with open(path, "rb") as fh:
            m = _PATCHLEVEL.search(fh.read(65536))
    except (OSError, ValueError):
        return None
    if not m:
        return None
    m2 = re.match(rb"(\d+\.\d+\.\d+)", m.group(1))
    return m2.group(1).decode("ascii") if m2 else None
