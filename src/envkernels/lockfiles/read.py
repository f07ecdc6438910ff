"""``read_lock(path)``: detect a lockfile's format by its name and content, then read it.

Detection order:
1. ``*.ipynb`` → a notebook whose ``metadata.envkernels.lock`` carries pylock text;
2. the well-known names (``uv.lock``, ``poetry.lock``, ``pdm.lock``, ``Pipfile.lock``,
   ``pylock.toml``/``pylock.*.toml``, ``*.txt``/``*.in``);
3. otherwise the content: JSON (Pipfile.lock, notebook) or TOML keys that only one format writes.

A file named like one format whose content is another (a ``pylock.toml`` that really holds pinned
requirements, as older ``uv export -o pylock.toml`` wrote) is read as what it is, with a warning.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from envkernels.errors import BadInputError
from envkernels.lockfiles._common import LOCK_HINT as _HINT
from envkernels.lockfiles._common import read_text
from envkernels.lockfiles.model import Lock

FORMATS = ("pylock", "uv", "poetry", "pdm", "pipfile", "requirements", "notebook")
# format -> (module under envkernels.lockfiles.formats, function); imported on first use.
_PARSERS: dict[str, tuple[str, str]] = {
    "pylock": ("pylock", "parse_pylock"),
    "uv": ("uvlock", "parse_uv_lock"),
    "poetry": ("poetry", "parse_poetry_lock"),
    "pdm": ("pdm", "parse_pdm_lock"),
    "pipfile": ("pipfile", "parse_pipfile_lock"),
    "requirements": ("requirements", "parse_requirements"),
}


def _parser(fmt: str) -> Callable[[str, str], Lock]:
    module, name = _PARSERS[fmt]
    return getattr(importlib.import_module(f"envkernels.lockfiles.formats.{module}"), name)


def format_from_name(name: str) -> str | None:
    """The format a file name announces, or None."""
    lower = name.lower()
    if lower.endswith(".ipynb"):
        return "notebook"
    if lower == "uv.lock" or lower.endswith(".py.lock"):
        return "uv"
    if lower == "poetry.lock":
        return "poetry"
    if lower == "pdm.lock":
        return "pdm"
    if lower == "pipfile.lock":
        return "pipfile"
    if re.fullmatch(r"pylock(\.[^.]+)?\.toml", lower):
        return "pylock"
    if lower.endswith((".txt", ".in")):
        return "requirements"
    return None


def format_from_content(text: str) -> str | None:
    """The format the content looks like, or None."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if isinstance(data, dict) and "_meta" in data:
            return "pipfile"
        if isinstance(data, dict) and "nbformat" in data:
            return "notebook"
        return None
    if re.search(r"^lock-version\s*=", text, re.M) and re.search(r"^created-by\s*=", text, re.M):
        return "pylock"
    if re.search(r"^lock_version\s*=", text, re.M):
        return "pdm"
    if re.search(r"^\[metadata\]", text, re.M) and re.search(r"^(lock-version|content-hash)\s*=", text, re.M):
        return "poetry"
    if re.search(r"^\[\[package\]\]", text, re.M) and re.search(r"^category\s*=", text, re.M):
        return "poetry"
    if re.search(r"^version\s*=\s*\d+\s*$", text, re.M) and re.search(r"^source\s*=", text, re.M):
        return "uv"
    from envkernels.lockfiles.formats.requirements import looks_like_requirements

    if looks_like_requirements(text):
        return "requirements"
    return None


def parse_lock(text: str, path: str, fmt: str | None = None) -> Lock:
    """Read lock ``text`` (``path`` names it in errors) as ``fmt``, or as detected.

    Whatever the format, the result has passed :func:`~envkernels.lockfiles.validate.validate_lock`
    (names, versions, hashes, URLs checked; BadInputError naming file, package and field).
    """
    from envkernels.lockfiles.validate import validate_lock

    return validate_lock(_parse(text, path, fmt))


def _parse(text: str, path: str, fmt: str | None) -> Lock:
    name = Path(path).name
    if name in ("pixi.lock", "conda-lock.yml") or name.endswith(".conda-lock.yml"):
        raise BadInputError(
            f"`{path}` is a conda lock ({name}); envkernels syncs PyPI locks only",
            hint="`pixi install` / `conda-lock install` rebuild that environment; " + _HINT,
        )
    by_name = format_from_name(name)
    fmt = fmt or by_name or format_from_content(text)
    if fmt is None:
        raise BadInputError(f"`{path}` is not a lockfile envkernels can read", hint=_HINT)
    if fmt == "notebook":
        from envkernels.lockfiles.notebook import lock_from_notebook_text

        return lock_from_notebook_text(text, path)
    if fmt in ("pylock", "uv", "poetry", "pdm") and by_name == fmt:
        # The name says TOML; the content may say otherwise (the corpus' negative case).
        sniffed = format_from_content(text)
        if sniffed == "requirements":
            lock = _parser("requirements")(text, path)
            note = f"`{path}` is named like a {fmt} lock but holds a pinned requirements list; read as one"
            return replace(lock, warnings=(note, *lock.warnings))
    return _parser(fmt)(text, path)


def read_lock(path: str | os.PathLike[str]) -> Lock:
    """Read any lockfile docs/reference.md lists (format detected by name and content).

    Bad input raises :class:`~envkernels.errors.BadInputError` naming the file (and the line for
    TOML); a lock of an unknown format version raises it too, saying which versions are read.
    """
    p = str(path)
    return parse_lock(read_text(p), p)
