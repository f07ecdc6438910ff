"""Where one environment prefix keeps things, read from its files (never by running its interpreter),
and the names envkernels gives environments.

Owns: the prefix's layout (POSIX or Windows, ``lib/pythonX.Y[t]``, site-packages, the interpreter
link, ``pyvenv.cfg``), PEP 503 name normalization, and the slugs, ids and kernel names of records.
Every part of envkernels that needs "where is site-packages" asks here, so the answer is the same
for discovery, inspection, locking, syncing, auditing and the kernels.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from envkernels.core.facts import parse_pyvenv_cfg

_LIB_PY = re.compile(r"^python(\d+)\.(\d+)(t?)$")
_SLUG_BAD = re.compile(r"[^a-z0-9._-]+")


def is_windows_layout(prefix: Path) -> bool:
    """True for a Windows-style prefix (``Scripts/``, ``Lib/site-packages``)."""
    return (prefix / "Lib" / "site-packages").is_dir() and not (prefix / "lib").is_dir()


def read_pyvenv_cfg(prefix: Path) -> dict[str, str] | None:
    """Parse ``pyvenv.cfg`` into a dict (keys lowercased); None when absent or unreadable.

    Lines without ``=`` are ignored, as CPython's own ``site.py`` ignores them.
    """
    try:
        text = (prefix / "pyvenv.cfg").read_bytes().decode("utf-8", "replace")
    except OSError:
        return None
    return parse_pyvenv_cfg(text)


def lib_python_dirs(prefix: Path) -> list[tuple[int, int, bool, Path]]:
    """The ``lib/pythonX.Y[t]`` directories of a POSIX prefix: (major, minor, free_threaded, path)."""
    found: list[tuple[int, int, bool, Path]] = []
    for lib in ("lib", "lib64"):
        try:
            entries = os.scandir(prefix / lib)
        except OSError:
            continue
        with entries:
            for entry in entries:
                m = _LIB_PY.match(entry.name)
                if m and entry.is_dir():
                    found.append((int(m.group(1)), int(m.group(2)), m.group(3) == "t", Path(entry.path)))
    found.sort(key=lambda t: (t[0], t[1], t[2]), reverse=True)
    return found


def site_packages_dirs(prefix: str | os.PathLike[str]) -> list[Path]:
    """Every existing site-packages (and dist-packages) directory of ``prefix``, purelib first."""
    root = Path(prefix)
    dirs: list[Path] = []
    if is_windows_layout(root):
        return [root / "Lib" / "site-packages"]
    if root.parent.name == "__pypackages__":  # PEP 582 (PDM): packages go straight into X.Y/lib
        return [root / "lib"] if (root / "lib").is_dir() else []
    # lib64 is often a symlink to lib: one directory, counted once (by inode, no resolve())
    seen: set[tuple[int, int]] = set()
    for _maj, _min, _ft, libdir in lib_python_dirs(root):
        for name in ("site-packages", "dist-packages"):
            candidate = libdir / name
            try:
                st = os.stat(candidate)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key not in seen and os.path.isdir(candidate):
                seen.add(key)
                dirs.append(candidate)
    return dirs


def interpreter_path(prefix: Path) -> Path | None:
    """The environment's interpreter (``bin/python`` or ``Scripts/python.exe``), if the link is there.

    The path itself is returned (not its resolved target): a venv's ``bin/python`` is what
    activates the venv when started.
    """
    candidates = (
        [prefix / "Scripts" / "python.exe", prefix / "python.exe"]
        if is_windows_layout(prefix)
        else [prefix / "bin" / "python", prefix / "bin" / "python3"]
    )
    for cand in candidates:
        if os.path.lexists(cand):
            return cand
    # A free-threaded or versioned-only layout: bin/python3.13t
    for _maj, _min, ft, _lib in lib_python_dirs(prefix):
        cand = prefix / "bin" / f"python{_maj}.{_min}{'t' if ft else ''}"
        if os.path.lexists(cand):
            return cand
    return None


def has_distribution(prefix: str | os.PathLike[str], name: str) -> bool:
    """True when a distribution called ``name`` (normalized) is installed in one of the site-packages."""
    want = normalize_name(name).replace("-", "_")
    for sp in site_packages_dirs(prefix):
        try:
            with os.scandir(sp) as entries:
                for entry in entries:
                    n = entry.name
                    if n.endswith((".dist-info", ".egg-info")):
                        dist = n.rsplit(".", 1)[0].split("-", 1)[0]
                        if normalize_name(dist).replace("-", "_") == want:
                            return True
        except OSError:
            continue
    return False


def normalize_name(name: str) -> str:
    """PEP 503 normalization of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def slugify(text: str) -> str:
    """A lowercase ``[a-z0-9._-]`` slug for kernel names and ids."""
    slug = _SLUG_BAD.sub("-", text.lower()).strip("-.")
    return slug[:40] or "env"


def prefix_hash(prefix: str) -> str:
    """Eight hex digits that stay the same for one resolved prefix across restarts."""
    return hashlib.sha256(prefix.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def environment_id(kind: str, name: str, prefix: str) -> str:
    """The stable id ``<kind>-<slug>-<hash8>`` of an environment."""
    return f"{kind}-{slugify(name)}-{prefix_hash(prefix)}"


def kernel_name_for(env_id: str) -> str:
    """The kernelspec name ``envk-<id>`` (docs/reference.md)."""
    return f"envk-{env_id}"
