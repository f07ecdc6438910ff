"""Building the kernelspec of one environment: pure functions from a record to a ``kernel.json`` dict.

The spec starts the environment's own interpreter directly on ``kernel_side/launch.py`` (no
shell in between, so SIGINT reaches the kernel and restarts work); the launcher finds ipykernel
in the environment or in an overlay outside it. A broken environment gets a spec that starts
the *host* interpreter on the launcher, which prints the problem and the hint and exits.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from envkernels.kernels.activation import Activation
from envkernels.model import Environment

PROVISIONER_NAME = "envkernels-provisioner"
DEFAULT_DISPLAY_FORMAT = "{language} {version} ({kind}: {name})"
# How the kernel process learns what it runs in (kernel_side/launch.py and the magics read these).
ENV_ID = "ENVKERNELS_ENV_ID"
ENV_PREFIX = "ENVKERNELS_ENV_PREFIX"
ENV_HOST_PYTHON = "ENVKERNELS_HOST_PYTHON"
ENV_OVERLAY_ROOT = "ENVKERNELS_OVERLAY_ROOT"
ENV_OVERLAY_DIRS = "ENVKERNELS_OVERLAY_DIRS"
ENV_WITHOUT_IPYKERNEL = "ENVKERNELS_WITHOUT_IPYKERNEL"
ENV_PATH_PREPEND = "ENVKERNELS_PATH_PREPEND"
ENV_UNSET = "ENVKERNELS_UNSET"
ENV_PROBLEM = "ENVKERNELS_PROBLEM"
ENV_HINT = "ENVKERNELS_HINT"


@dataclass(frozen=True)
class LaunchSettings:
    """What the spec of every environment shares: where the launcher, host and overlays are."""

    launcher: str
    host_python: str
    overlay_root: str
    without_ipykernel: str = "overlay"
    display_format: str = DEFAULT_DISPLAY_FORMAT
    provisioner: bool = True
    overlay_dirs: tuple[str, ...] = ()  # prepared, read-only overlays, searched before overlay_root


def short_version(env: Environment) -> str:
    """``3.12`` (``3.13t`` when free-threaded) from the record's version, or ``?``."""
    if not env.python_version:
        return "?"
    parts = env.python_version.split(".")
    return ".".join(parts[:2]) + ("t" if env.free_threaded else "")


def display_name(env: Environment, fmt: str = DEFAULT_DISPLAY_FORMAT) -> str:
    """A name people can read: ``Python 3.12 (uv: myproject)``; broken ones say so.

    A shared environment (an administrator's, under a shared root) shows ``team`` as its kind:
    ``Python 3.12 (team: analytics)``; ``{tool}`` is always the real kind.
    """
    language = "PyPy" if env.implementation == "pypy" else "Python"
    fields = {
        "language": language,
        "version": short_version(env),
        "kind": "team" if env.shared else env.kind,
        "tool": env.kind,
        "name": env.name,
        "id": env.id,
        "prefix": env.prefix,
    }
    try:
        text = fmt.format(**fields)
    except (KeyError, IndexError, ValueError):
        text = DEFAULT_DISPLAY_FORMAT.format(**fields)
    return text if env.ok else f"{text} [{env.status}]"


def refusal(env: Environment) -> str:
    """Why a kernel for ``env`` does not start (broken, or a Python envkernels cannot run as a kernel)."""
    if env.status == "unsupported":
        return f"envkernels cannot start a kernel for `{env.prefix}`: {env.problem or 'unsupported'}"
    return f"the environment `{env.prefix}` is broken: {env.problem or 'unusable'}"


def kernel_env(env: Environment, activation: Activation, settings: LaunchSettings) -> dict[str, str]:
    """The ``env`` block of the spec: identity, activation, and launcher instructions."""
    variables = dict(activation.variables)
    variables.update(
        {
            ENV_ID: env.id,
            ENV_PREFIX: env.prefix,
            ENV_HOST_PYTHON: settings.host_python,
            ENV_OVERLAY_ROOT: settings.overlay_root,
            # Nothing is installed into a shared environment: it gets the overlay instead.
            ENV_WITHOUT_IPYKERNEL: "overlay"
            if env.shared and settings.without_ipykernel == "install"
            else settings.without_ipykernel,
        }
    )
    if settings.overlay_dirs:
        variables[ENV_OVERLAY_DIRS] = os.pathsep.join(settings.overlay_dirs)
    if env.shared and "PYTHONPYCACHEPREFIX" not in variables:
        # Bytecode of the shared environment's modules goes to the user's cache, never beside
        # them (a kernel running as root would otherwise write __pycache__ into the shared root).
        from envkernels.cachedir import cache_root

        variables["PYTHONPYCACHEPREFIX"] = os.path.join(cache_root(), "pycache")
    if activation.path_prepend:
        variables[ENV_PATH_PREPEND] = os.pathsep.join(activation.path_prepend)
    if activation.unset:
        variables[ENV_UNSET] = ",".join(activation.unset)
    if not env.ok:
        variables[ENV_PROBLEM] = refusal(env)
        if env.hint:
            variables[ENV_HINT] = env.hint
    return variables


def kernel_argv(env: Environment, settings: LaunchSettings) -> list[str]:
    """The command line: the environment's interpreter (the host's if it has none) on the launcher."""
    if not (env.ok and env.python):
        return [settings.host_python, settings.launcher, "-f", "{connection_file}"]
    flags = []
    if env.implementation == "cpython" and _version(env.python_version) >= (3, 11):
        flags.append("-Xfrozen_modules=off")  # as `ipykernel install` does: the debugger needs it
    return [env.python, *flags, settings.launcher, "-f", "{connection_file}"]


def _version(text: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in (text or "").split(".")[:2])
    except ValueError:
        return ()


def build_spec(env: Environment, activation: Activation, settings: LaunchSettings) -> dict[str, Any]:
    """The ``kernel.json`` dict of ``env`` (``metadata.envkernels`` carries the record)."""
    metadata: dict[str, Any] = {"envkernels": env.to_dict(), "debugger": True}
    if settings.provisioner:
        metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME, "config": {}}
    return {
        "argv": kernel_argv(env, settings),
        "env": kernel_env(env, activation, settings),
        "display_name": display_name(env, settings.display_format),
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": metadata,
    }


def is_ours(spec: dict[str, Any]) -> bool:
    """True when a kernel.json dict was written by envkernels (``metadata.envkernels`` present)."""
    meta = spec.get("metadata")
    return isinstance(meta, dict) and isinstance(meta.get("envkernels"), dict)


def is_plain_ipykernel(spec: dict[str, Any]) -> bool:
    """True for a stock ``ipykernel install`` spec (``<python> -m ipykernel_launcher -f ...``, no env)."""
    argv = list(spec.get("argv") or [])
    meta = spec.get("metadata") or {}
    while len(argv) > 1 and argv[1].startswith("-X"):  # interpreter options such as -Xfrozen_modules=off
        del argv[1]
    return (
        len(argv) == 5
        and argv[1:]
        in (
            ["-m", "ipykernel_launcher", "-f", "{connection_file}"],
            ["-m", "ipykernel", "-f", "{connection_file}"],
        )
        and not spec.get("env")
        and "kernel_provisioner" not in meta
        and str(spec.get("language", "python")).lower() == "python"
    )


def interpreter_prefix_of(argv: list[str]) -> str | None:
    """The environment prefix a spec's ``argv[0]`` lives in (the dir above ``bin``/``Scripts``).

    The interpreter's *directory* is resolved, not the interpreter itself: a venv's
    ``bin/python`` is a link to the base interpreter, yet it belongs to the venv.
    """
    if not argv:
        return None
    exe = argv[0]
    major, minor = sys.version_info[:2]
    if exe in ("python", f"python{major}", f"python{major}.{minor}"):
        exe = sys.executable  # jupyter_client starts these names as its own interpreter
    if not os.path.isabs(exe):
        return None
    bindir = os.path.realpath(os.path.dirname(exe))
    if os.path.basename(bindir).lower() in ("bin", "scripts"):
        return os.path.dirname(bindir)
    return bindir  # Windows conda: python.exe sits in the prefix itself
