"""``sync NB.ipynb --create``: a fresh environment beside a notebook, built from the lock it carries.

The environment goes to ``<notebook dir>/<notebook stem>.venv`` (one per notebook, so a project's
own ``.venv`` is never touched), made with ``uv venv`` for the Python version the lock names,
synced from the lock, and offered as a kernel (its kernelspec installed through
:func:`envkernels.kernels.installed.install_kernelspec`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from envkernels._subprocess import run
from envkernels.discovery.probe import environment_from_prefix
from envkernels.errors import BadInputError, EnvKernelsError
from envkernels.lockfiles.model import Lock
from envkernels.lockfiles.read import read_lock
from envkernels.model import Environment
from envkernels.sync.apply import Progress, SourcePolicy, SyncResult, apply_sync
from envkernels.sync.plan import plan_sync
from envkernels.sync.sources import DIRECT_KINDS, package_sources, refusal_error, refused
from envkernels.uvbin import uv_binary


@dataclass
class CreateResult:
    """The environment made, the sync into it, and the kernelspec (or why there is none)."""

    environment: Environment
    sync: SyncResult
    kernelspec: str | None
    kernel_note: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON shape."""
        return {
            "environment": self.environment.to_dict(),
            "sync": self.sync.to_dict(),
            "kernelspec": self.kernelspec,
            "kernel_note": self.kernel_note,
        }


def default_prefix(lock_path: str) -> Path:
    """``<dir>/<stem>.venv`` beside the notebook (or lockfile)."""
    p = Path(lock_path).resolve()
    stem = p.stem if p.suffix == ".ipynb" else p.parent.name
    return p.parent / f"{stem}.venv"


def python_request(lock: Lock) -> str | None:
    """The Python version to create the environment with, from the lock's ``requires-python``."""
    spec = lock.requires_python or ""
    if spec.startswith("==") and spec.endswith(".*"):
        return spec[2:-2]
    return None


def create_from_lock(
    lock_path: str,
    target: str | None = None,
    *,
    progress: Progress | None = None,
    install_kernel: bool = True,
    policy: SourcePolicy | None = None,
) -> CreateResult:
    """Create an environment from ``lock_path`` (a notebook or any lock) and sync it."""
    lock = read_lock(lock_path)
    if policy is not None:
        # Refuse direct sources before an environment is made for nothing (apply_sync checks again).
        direct = [s for s in package_sources(lock, lock.packages, (), False) if s.kind in DIRECT_KINDS]
        blocked = refused(
            direct, allow_direct_sources=policy.allow_direct_sources, allow_builds=True, allowed_origins=None
        )
        if blocked:
            raise refusal_error(lock.path, blocked, policy.hint)
    prefix = Path(target).resolve() if target else default_prefix(lock_path)
    if prefix.exists() and not (prefix / "pyvenv.cfg").is_file():
        raise BadInputError(
            f"`{prefix}` exists and is not a virtual environment",
            hint="move it away, or pass `--target` with another path",
        )
    if not prefix.exists():
        create_venv(prefix, python_request(lock), progress=progress)
    env = environment_from_prefix(prefix)
    result = apply_sync(plan_sync(lock, env), env, lock_path=lock_path, progress=progress, policy=policy)
    env = environment_from_prefix(prefix)
    kernelspec, note = register_kernel(env) if install_kernel else (None, None)
    return CreateResult(environment=env, sync=result, kernelspec=kernelspec, kernel_note=note)


def create_venv(
    prefix: Path, version: str | None, *, python: str | None = None, progress: Progress | None = None
) -> None:
    """``uv venv PREFIX`` for the Python ``version`` (``3.12``) or the interpreter ``python`` names."""
    argv = [uv_binary(), "venv", str(prefix), "--quiet"]
    if python:
        argv += ["--python", python]
    elif version == f"{sys.version_info[0]}.{sys.version_info[1]}":
        # envkernels' own Python is that version: name it, so uv need not search (a pyenv shim
        # under another HOME finds nothing) nor try to download one.
        argv += ["--python", sys.executable]
    elif version:
        argv += ["--python", version]
    if progress:
        progress(f"creating `{prefix}`", 0, 1)
    run(
        argv,
        env={"VIRTUAL_ENV": ""},
        hint=f"uv could not create the environment (Python {python or version or 'any'})",
    )


def register_kernel(env: Environment) -> tuple[str | None, str | None]:
    """Install ``env``'s kernelspec: (its directory, None), or (None, why it was not installed).

    An ipykernel overlay that cannot be built now (the index unreachable) does not keep the
    kernel from being registered: its first start builds it, or says why it cannot.
    """
    try:
        from envkernels.kernels.installed import install_kernelspec
    except ImportError:
        return None, "kernelspec not installed: envkernels' kernel support is not available"
    try:
        return install_kernelspec(env), None
    except EnvKernelsError as exc:
        first = exc
    try:
        spec = install_kernelspec(env, build_overlay=False)
    except EnvKernelsError as exc:
        return None, f"kernelspec not installed: {exc.message}"
    return (
        spec,
        f"the ipykernel overlay could not be built now ({first.message}); "
        "the kernel's first start tries again",
    )
