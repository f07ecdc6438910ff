"""Leftover environments under given roots: found, sized, and deleted only when asked.

What counts as a leftover (each with the reason shown to the user):

1. ``duplicate-venv``: a ``venv``/``env``/``virtualenv`` beside the ``.venv`` that the project
   (a directory with ``pyproject.toml``, a lockfile, ``Pipfile`` or ``requirements*.txt``) uses;
2. ``interpreter-gone``: an environment (``pyvenv.cfg``) whose interpreter is missing or dangles;
3. ``remnant``: a directory named ``venv``, ``.venv``, ``env`` or ``virtualenv`` holding a
   ``pyvenv.cfg`` but no site-packages (a half-deleted or half-created environment).

The scan never follows symlinks and never leaves the roots; :func:`delete` removes exactly the
candidates it is given after checking again that each lies inside a root and is no symlink.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from envkernels.discovery import layout
from envkernels.errors import UsageError

ENV_DIR_NAMES = ("venv", ".venv", "env", "virtualenv")
_PROJECT_FILES = (
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile",
    "setup.py",
    "requirements.txt",
)
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache"}
MAX_DEPTH = 6


@dataclass(frozen=True)
class Leftover:
    """One directory ``cleanup`` would delete, why, and how many bytes it holds."""

    path: str
    reason: str
    detail: str
    size: int

    def to_dict(self) -> dict[str, object]:
        """JSON shape of ``cleanup --json``."""
        return {"path": self.path, "reason": self.reason, "detail": self.detail, "size": self.size}


def tree_size(path: str) -> int:
    """Bytes in a directory tree (symlinks counted as links, never followed)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def human_size(size: int) -> str:
    """``12.3 MB`` style sizes for the table."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _is_env(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file() and not path.is_symlink()


def _judge(path: Path) -> tuple[str, str] | None:
    """(reason, detail) when the environment at ``path`` is a leftover on its own."""
    interp = layout.interpreter_path(path)
    if interp is None or not os.path.exists(interp):
        what = f"`{interp}` dangles" if interp is not None else "no interpreter in `bin/`"
        return "interpreter-gone", what
    if path.name in ENV_DIR_NAMES and not layout.site_packages_dirs(path):
        return "remnant", "a `pyvenv.cfg` without site-packages"
    return None


def _duplicates(project: Path) -> list[tuple[Path, str]]:
    """Environments beside a working ``.venv`` of a project."""
    dotvenv = project / ".venv"
    if not _is_env(dotvenv) or _judge(dotvenv) is not None:
        return []
    if not any((project / f).exists() for f in _PROJECT_FILES):
        return []
    return [
        (project / n, f"beside `{dotvenv}`, which the project uses")
        for n in ENV_DIR_NAMES
        if n != ".venv" and _is_env(project / n)
    ]


def find_leftovers(roots: Iterable[str | os.PathLike[str]], max_depth: int = MAX_DEPTH) -> list[Leftover]:
    """Every leftover under ``roots`` (see the module docstring), sorted by path."""
    found: dict[str, Leftover] = {}

    def visit(directory: Path, depth: int) -> None:
        for path, detail in _duplicates(directory):
            key = str(path)
            found.setdefault(key, Leftover(key, "duplicate-venv", detail, tree_size(key)))
        try:
            with os.scandir(directory) as it:
                subdirs = sorted(
                    Path(e.path) for e in it if e.is_dir(follow_symlinks=False) and e.name not in _SKIP_DIRS
                )
        except OSError:
            return
        for sub in subdirs:
            if _is_env(sub):
                judged = _judge(sub)
                if judged and str(sub) not in found:
                    found[str(sub)] = Leftover(str(sub), judged[0], judged[1], tree_size(str(sub)))
                continue  # never look inside an environment
            if depth > 0:
                visit(sub, depth - 1)

    for root in roots:
        base = Path(os.path.abspath(root))
        if not base.is_dir():
            raise UsageError(f"`{root}` is not a directory", hint="give an existing directory with `--root`")
        if not _is_env(base):  # a root is never itself a candidate: only what lies inside it
            visit(base, max_depth)
    return sorted(found.values(), key=lambda item: item.path)


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real != r and os.path.commonpath([real, r]) == r for r in roots)


def delete(leftovers: Iterable[Leftover], roots: Iterable[str | os.PathLike[str]]) -> list[Leftover]:
    """Delete exactly ``leftovers`` (each re-checked to lie strictly inside a root); return those deleted."""
    real_roots = [os.path.realpath(r) for r in roots]
    deleted = []
    for item in leftovers:
        if os.path.islink(item.path) or not _inside(item.path, real_roots) or not _is_env(Path(item.path)):
            continue
        shutil.rmtree(item.path)
        deleted.append(item)
    return deleted
