"""Shared environment roots: read-only directories of environments an administrator provides to every user.

A JupyterHub administrator names them in ``$ENVKERNELS_SHARED_ROOTS`` (``os.pathsep``-separated;
settable in ``c.Spawner.environment``) or in ``c.EnvKernelSpecManager.shared_roots`` /
``c.EnvKernelsApp.shared_roots``. The traits are exported into the server's own environment
(:func:`configure`), so the kernels it starts and envkernels' worker behind the magics see the
same roots as the server.

Every environment whose prefix lies under one of them is ``shared`` (the record says so, the
kernel's display name says ``team``), and envkernels never writes under a shared root: no
history, snapshot, overlay, cache or lock file goes there (:func:`refuse_write`), and a sync of a
shared environment is refused with the way out (:func:`refuse_change`): ``envkernels fork``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from envkernels.errors import EnvKernelsError

SHARED_ROOTS_VAR = "ENVKERNELS_SHARED_ROOTS"
HISTORY_LOG_VAR = "ENVKERNELS_HISTORY_LOG"

_memo: tuple[str, tuple[str, ...]] = ("", ())


class SharedEnvironmentError(EnvKernelsError):
    """A change asked of a shared (read-only, administrator-provided) environment (HTTP 403)."""


def split_paths(raw: str | None) -> list[str]:
    """``a:b:c`` (``os.pathsep``) into its non-empty parts."""
    return [p.strip() for p in (raw or "").split(os.pathsep) if p.strip()]


def shared_roots() -> tuple[str, ...]:
    """The shared roots, absolute and resolved (symlinks followed), from ``$ENVKERNELS_SHARED_ROOTS``."""
    global _memo
    raw = os.environ.get(SHARED_ROOTS_VAR, "")
    if raw == _memo[0]:
        return _memo[1]
    found: list[str] = []
    for part in split_paths(raw):
        try:
            real = os.path.realpath(os.path.abspath(os.path.expanduser(part)))
        except (OSError, ValueError):
            continue
        if real not in found and real != "/":  # "/" would make every environment shared
            found.append(real)
    _memo = (raw, tuple(found))
    return _memo[1]


def configure(roots: Iterable[str]) -> tuple[str, ...]:
    """Add ``roots`` (a trait's value) to ``$ENVKERNELS_SHARED_ROOTS`` of this process; the roots.

    Exported, not kept privately: kernels started by this server and the worker behind their
    magics inherit the variable, so they refuse the same writes.
    """
    current = split_paths(os.environ.get(SHARED_ROOTS_VAR))
    for root in roots:
        if root and root.strip() and root not in current:
            current.append(root.strip())
    if current:
        os.environ[SHARED_ROOTS_VAR] = os.pathsep.join(current)
    return shared_roots()


def shared_root_of(path: str | os.PathLike[str]) -> str | None:
    """The shared root ``path`` lies in (``path`` absolute; resolved here unless already real)."""
    roots = shared_roots()
    if not roots:
        return None
    text = os.fspath(path)
    for candidate in _forms(text):
        for root in roots:
            if candidate == root or candidate.startswith(root + os.sep):
                return root
    return None


def _forms(path: str) -> list[str]:
    """``path`` as given and resolved (a shared environment reached through a symlink is still shared)."""
    forms = [os.path.abspath(path)]
    try:
        real = os.path.realpath(forms[0])
    except (OSError, ValueError):
        return forms
    if real != forms[0]:
        forms.append(real)
    return forms


def is_shared_prefix(real_prefix: str) -> bool:
    """True when an already-resolved prefix lies under a shared root (discovery's fast path: no syscall)."""
    return any(real_prefix == root or real_prefix.startswith(root + os.sep) for root in shared_roots())


def refuse_write(path: str | os.PathLike[str], what: str = "a file") -> None:
    """Raise SharedEnvironmentError when ``path`` lies under a shared root (envkernels never writes there)."""
    root = shared_root_of(path)
    if root is None:
        return
    raise SharedEnvironmentError(
        f"`{os.fspath(path)}` is inside the shared environment root `{root}`: envkernels writes "
        f"{what} nowhere under a shared root",
        hint="write it into your own directory (e.g. your notebook's folder or your home)",
    )


def refuse_change(target: str, prefix: str, action: str = "sync") -> None:
    """Raise SharedEnvironmentError when the environment at ``prefix`` is shared (``action`` changes it)."""
    if shared_root_of(prefix) is None:
        return
    raise SharedEnvironmentError(
        f"`{target}` ({prefix}) is a shared environment: it is read-only for you and "
        f"envkernels does not {action} it",
        hint=f"`envkernels fork {target}` makes your own copy from its exact lock (a kernel of its "
        "own), which you can sync and change",
    )


def history_log() -> str | None:
    """The server-wide log of changes involving shared environments (``$ENVKERNELS_HISTORY_LOG``), if any."""
    raw = os.environ.get(HISTORY_LOG_VAR, "").strip()
    return os.path.expanduser(raw) if raw else None
