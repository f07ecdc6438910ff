"""The ipykernel overlay: ipykernel and its dependencies for an environment that lacks them,
installed *outside* that environment, one directory per interpreter tag.

Prepared overlays come first: an administrator builds them once for every Python of the shared
roots (``envkernels kernels prepare --dest DIR``, :mod:`envkernels.kernels.prepare`) and names DIR
in ``c.EnvKernelSpecManager.overlay_dirs`` / ``$ENVKERNELS_OVERLAY_DIRS``; a kernel whose
``<DIR>/<tag>`` holds ipykernel uses it and nothing is downloaded. Only when none has the tag is
one built in the user's own overlay root; when that fails (offline, TLS, the index unreachable)
the error names the cause and the administrator's fix (:func:`explain_failure`), not uv's output.

``uv pip install --target <cache>/overlay/cp312 ipykernel --python <env python>`` resolves for
the environment's interpreter and writes nothing into it; ``kernel_side/launch.py`` appends the
directory to the END of ``sys.path``, so the environment's own packages always win. A build goes
to a temporary sibling first and is renamed into place, so a half-built overlay is never used.

Run as ``python -m envkernels.kernels.overlay --python P --target DIR`` by the launcher when a
kernel starts outside the server (VS Code, papermill) and its overlay is not built yet.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from envkernels._subprocess import run
from envkernels.cachedir import not_private
from envkernels.errors import CommandError, EnvKernelsError
from envkernels.kernels.paths import overlay_root
from envkernels.model import Environment
from envkernels.shared import refuse_change, refuse_write
from envkernels.uvbin import uv_binary

_IMPL_SHORT = {"cpython": "cp", "pypy": "pp", "graalpy": "gp"}
OVERLAY_REQUIREMENT = "ipykernel"
OVERLAY_DIRS_VAR = "ENVKERNELS_OVERLAY_DIRS"
_BUILD_TIMEOUT = 600.0
# uv resolves and installs for CPython 3.8 and newer; older interpreters need their own ipykernel.
MIN_OVERLAY_PYTHON = (3, 8)


def interpreter_tag(implementation: str, version: str, free_threaded: bool) -> str:
    """``cp312``, ``cp313t``, ``pp310``: what an overlay is keyed by (launch.py computes the same)."""
    short = _IMPL_SHORT.get(implementation.lower(), implementation.lower())
    major, minor = [*version.split("."), "0"][:2]
    return f"{short}{major}{minor}{'t' if free_threaded else ''}"


def overlay_dir_for(env: Environment, root: Path | None = None) -> Path | None:
    """The overlay directory ``env`` would use, or None when its Python version is unknown."""
    if not env.python_version:
        return None
    return (root or overlay_root()) / interpreter_tag(
        env.implementation, env.python_version, env.free_threaded
    )


def is_built(directory: Path) -> bool:
    """True when ``directory`` holds an importable ipykernel."""
    return (directory / "ipykernel" / "__init__.py").is_file()


def overlay_dirs_from_environ() -> list[str]:
    """The prepared overlay directories named by ``$ENVKERNELS_OVERLAY_DIRS`` (``os.pathsep``-joined)."""
    return [p for p in os.environ.get(OVERLAY_DIRS_VAR, "").split(os.pathsep) if p.strip()]


def prepared_overlay(tag: str, dirs: Sequence[str]) -> Path | None:
    """The first ``<dir>/<tag>`` among prepared ``dirs`` that holds ipykernel and that only its
    owner (root, or this user) can change, else None: a kernel imports code from it."""
    for d in dirs:
        candidate = Path(d) / tag
        if is_built(candidate) and trusted(candidate):
            return candidate
    return None


def trusted(directory: Path) -> bool:
    """True when ``directory`` belongs to root or to this user and no one else may write to it."""
    try:
        st = directory.stat()
    except OSError:
        return False
    owners = {0, os.geteuid()} if hasattr(os, "geteuid") else {st.st_uid}
    return st.st_uid in owners and not st.st_mode & 0o022


class OverlayUnavailableError(EnvKernelsError):
    """ipykernel could not be downloaded for an overlay; the message says why, the hint who fixes it."""


_ADMIN_FIX = (
    "an administrator can prepare the overlay once for every user, on a machine that reaches the "
    "index: `envkernels kernels prepare --dest DIR`, then `c.EnvKernelSpecManager.overlay_dirs = "
    "['DIR']` (or `ENVKERNELS_OVERLAY_DIRS=DIR` in JupyterHub's `c.Spawner.environment`); "
    "or install ipykernel into the environment"
)
_TLS = re.compile(r"certificate|UnknownIssuer|\btls\b|\bssl\b|handshake", re.IGNORECASE)
_UNREACHABLE = re.compile(
    r"Connection refused|dns error|failed to lookup|Name or service not known|timed out|"
    r"Network is unreachable|No route to host|error sending request|Connection reset",
    re.IGNORECASE,
)
_FETCH_URL = re.compile(r"Failed to (?:fetch|download)[^:]*: [`']?(?P<url>https?://[^\s`']+)")


def explain_failure(stderr: str, tag: str) -> tuple[str, str]:
    """(message, hint) for a failed overlay build: the cause in words, and the administrator's fix."""
    url_match = _FETCH_URL.search(stderr)
    if url_match:
        parts = urllib.parse.urlsplit(url_match.group("url"))
        index = f"{parts.scheme}://{parts.netloc}"
    else:  # the index uv was pointed at (uv reads these two; PyPI otherwise)
        index = (
            os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or "https://pypi.org/simple"
        )
    what = f"ipykernel for the {tag} overlay could not be downloaded"
    if "network was disabled" in stderr or "--offline" in stderr:
        cause = "uv runs offline (`UV_OFFLINE`) and ipykernel is not in its cache"
        fix = _ADMIN_FIX
    elif _TLS.search(stderr):
        cause = f"the TLS certificate of the package index `{index}` could not be verified"
        fix = (
            "give the server the certificate store it needs (`SSL_CERT_FILE=/path/ca.pem` or "
            "`UV_NATIVE_TLS=1` in JupyterHub's `c.Spawner.environment`); or " + _ADMIN_FIX
        )
    elif _UNREACHABLE.search(stderr):
        cause = f"the package index `{index}` cannot be reached"
        fix = (
            "check `UV_INDEX_URL`/`UV_DEFAULT_INDEX` and any proxy (`HTTPS_PROXY`) in the server's "
            "environment; or " + _ADMIN_FIX
        )
    elif "not found in the package registry" in stderr or "No solution found" in stderr:
        cause = f"the package index `{index}` has no ipykernel for this Python"
        fix = _ADMIN_FIX
    else:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        cause = f"uv failed: {last}"
        fix = _ADMIN_FIX
    return f"{what}: {cause}", fix


def build_overlay(python: str, target: Path) -> Path:
    """Install ipykernel for interpreter ``python`` into ``target`` (atomically); return ``target``.

    Does nothing when the overlay is already built. Raises CommandError when uv fails.
    """
    if is_built(target):
        return target
    refuse_write(target, "an ipykernel overlay")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _install(python, staging, target.name)
        try:
            os.replace(staging, target)
        except OSError:
            if not is_built(target):  # lost a race only if the winner left a usable overlay
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _install(python: str, staging: Path, tag: str) -> None:
    """``uv pip install --target STAGING ipykernel`` for ``python``; a failure says why in words."""
    try:
        run(
            [
                uv_binary(),
                "pip",
                "install",
                "--quiet",
                "--target",
                str(staging),
                "--python",
                python,
                OVERLAY_REQUIREMENT,
            ],
            env={"VIRTUAL_ENV": "", "UV_PYTHON_DOWNLOADS": "never"},
            timeout=_BUILD_TIMEOUT,
        )
    except CommandError as exc:
        message, hint = explain_failure(exc.stderr, tag)
        raise OverlayUnavailableError(message, hint) from exc


def ensure_overlay(
    env: Environment, root: Path | None = None, dirs: Sequence[str] | None = None
) -> Path | None:
    """The overlay ``env`` needs: a prepared one from ``dirs`` (default ``$ENVKERNELS_OVERLAY_DIRS``),
    else the one in ``root`` (default: the user's cache), built when missing. None when it has
    ipykernel or is broken."""
    if env.has_ipykernel or not env.ok or not env.python:
        return None
    target = overlay_dir_for(env, root)
    if target is None:
        return None
    prepared = prepared_overlay(target.name, overlay_dirs_from_environ() if dirs is None else dirs)
    if prepared is not None:
        return prepared
    for place in (target.parent, target):
        why = not_private(str(place))
        if why is not None:
            raise EnvKernelsError(
                f"the ipykernel overlay directory is not private: {why}, so a kernel could import "
                "code another user put there",
                hint="give each user their own cache (unset a shared `ENVKERNELS_CACHE_DIR` / "
                "`XDG_CACHE_HOME` in JupyterHub's `c.Spawner.environment`), or have the administrator "
                "prepare overlays (`envkernels kernels prepare`, `c.EnvKernelSpecManager.overlay_dirs`)",
            )
    if env.implementation == "cpython" and _version_tuple(env.python_version) < MIN_OVERLAY_PYTHON:
        raise EnvKernelsError(
            f"Python {env.python_version} in `{env.prefix}` is too old for an ipykernel overlay "
            f"(needs {'.'.join(map(str, MIN_OVERLAY_PYTHON))} or newer)",
            hint=f"install a version of ipykernel that supports it into the environment: "
            f"`{env.python} -m pip install ipykernel`",
        )
    return build_overlay(env.python, target)


def _version_tuple(version: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in (version or "0").split(".")[:2])
    except ValueError:
        return (0,)


def install_ipykernel(env: Environment) -> None:
    """Install ipykernel INTO ``env`` (the admin's ``without_ipykernel = "install"`` choice)."""
    refuse_change(env.id, env.prefix, "install ipykernel into")
    if not env.python:
        raise EnvKernelsError(f"the environment `{env.prefix}` has no interpreter", env.hint)
    run(
        [uv_binary(), "pip", "install", "--quiet", "--python", env.python, OVERLAY_REQUIREMENT],
        env={"VIRTUAL_ENV": ""},
        timeout=_BUILD_TIMEOUT,
        hint=f"install it by hand: `uv pip install --python {env.python} ipykernel`",
    )


def main(argv: list[str] | None = None) -> int:
    """Build one overlay (or install into the env with ``--into-env``); errors as ``error:``/``hint:``."""
    parser = argparse.ArgumentParser(prog="python -m envkernels.kernels.overlay")
    parser.add_argument("--python", required=True, help="the interpreter the overlay is for")
    parser.add_argument("--target", help="the overlay directory to build")
    parser.add_argument(
        "--into-env", action="store_true", help="install ipykernel into the interpreter's env"
    )
    args = parser.parse_args(argv)
    try:
        if args.into_env:
            run(
                [uv_binary(), "pip", "install", "--quiet", "--python", args.python, OVERLAY_REQUIREMENT],
                env={"VIRTUAL_ENV": ""},
                timeout=_BUILD_TIMEOUT,
            )
        elif args.target:
            build_overlay(args.python, Path(args.target))
        else:
            parser.error("one of --target or --into-env is required")
    except EnvKernelsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
