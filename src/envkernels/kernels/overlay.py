"""The ipykernel overlay: ipykernel and its dependencies for an environment that lacks them,
installed *outside* that environment, one directory per interpreter tag.

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
import shutil
import sys
import tempfile
from pathlib import Path

from envkernels._subprocess import run
from envkernels.errors import EnvKernelsError
from envkernels.kernels.paths import overlay_root
from envkernels.model import Environment
from envkernels.uvbin import uv_binary

_IMPL_SHORT = {"cpython": "cp", "pypy": "pp", "graalpy": "gp"}
OVERLAY_REQUIREMENT = "ipykernel"
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


def build_overlay(python: str, target: Path) -> Path:
    """Install ipykernel for interpreter ``python`` into ``target`` (atomically); return ``target``.

    Does nothing when the overlay is already built. Raises CommandError when uv fails.
    """
    if is_built(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
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
            hint="check that PyPI (or your index, `UV_INDEX_URL`) is reachable, then start the kernel again",
        )
        try:
            os.replace(staging, target)
        except OSError:
            if not is_built(target):  # lost a race only if the winner left a usable overlay
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def ensure_overlay(env: Environment) -> Path | None:
    """Build the overlay ``env`` needs (None when it has ipykernel or is broken)."""
    if env.has_ipykernel or not env.ok or not env.python:
        return None
    target = overlay_dir_for(env)
    if target is None:
        return None
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
