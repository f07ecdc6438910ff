"""``envkernels fork SHARED_ENV [DEST]``: a personal environment made from another one's exact lock.

The way out of a shared (read-only) environment for a user who needs one more package: the
source is locked (a PEP 751 lock, sha256 hashes from the index where it can be reached), a new
venv is made with uv on the source's own interpreter, synced from that lock (hash-checked when
the lock has hashes) by the same machinery as ``sync --create``, and registered as a kernel.
Nothing is written into the source: the lock is kept inside the new environment
(``.envkernels/pylock.fork.toml``), beside its history.

Where: ``DEST``, else ``<forks dir>/<name>-fork`` where the forks dir is
``$ENVKERNELS_FORK_DIR``, else ``$XDG_DATA_HOME/envkernels/envs`` (``~/.local/share/envkernels/envs``):
the user's own, and one of the places discovery always looks.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envkernels.core.layout import read_pyvenv_cfg
from envkernels.discovery.probe import environment_from_prefix
from envkernels.errors import BadInputError, EnvKernelsError
from envkernels.model import Environment
from envkernels.shared import refuse_write
from envkernels.sync import history
from envkernels.sync.apply import Progress, SourcePolicy, SyncResult, apply_sync
from envkernels.sync.create import create_venv, register_kernel
from envkernels.sync.plan import plan_sync

FORK_DIR_VAR = "ENVKERNELS_FORK_DIR"
FORK_LOCK = "pylock.fork.toml"


def forks_dir(environ: Any = None) -> Path:
    """Where forks go by default (see the module docstring); the user's own directory."""
    env = os.environ if environ is None else environ
    explicit = env.get(FORK_DIR_VAR)
    if explicit:
        return Path(os.path.expanduser(explicit))
    home = env.get("HOME") or os.path.expanduser("~")
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path(home) / ".local" / "share"
    return base / "envkernels" / "envs"


def default_dest(source: Environment) -> Path:
    """``<forks dir>/<name>-fork``."""
    return forks_dir() / f"{source.name}-fork"


@dataclass
class ForkResult:
    """The source, the environment made, the lock it was made from, the sync, and the kernel."""

    source: Environment
    environment: Environment
    lock: str
    sync: SyncResult
    kernelspec: str | None
    kernel_note: str | None = None
    warnings: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (CLI ``--json``, REST)."""
        return {
            "source": self.source.to_dict(),
            "environment": self.environment.to_dict(),
            "lock": self.lock,
            "sync": self.sync.to_dict(),
            "kernelspec": self.kernelspec,
            "kernel_note": self.kernel_note,
            "warnings": list(self.warnings or ()),
        }

    def summary(self) -> str:
        """One line: what was made from what."""
        n = self.sync.plan.install
        return (
            f"forked `{self.source.name}` into `{self.environment.prefix}` ({len(n)} packages from "
            f"its lock); kernel `{self.environment.kernel_name}`"
        )


def fork_environment(
    source: Environment,
    dest: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
    policy: SourcePolicy | None = None,
    install_kernel: bool = True,
) -> ForkResult:
    """Make a personal copy of ``source`` at ``dest`` from its exact lock (see the module docstring)."""
    from envkernels.discovery.problems import require_readable
    from envkernels.lockfiles.writer import lock_environment

    if not source.ok or not source.python:
        raise BadInputError(
            f"`{source.name}` ({source.prefix}) cannot be forked: "
            f"{source.problem or 'it has no interpreter'}",
            hint=source.hint,
        )
    require_readable(source.prefix, "fork")
    prefix = Path(dest).expanduser().resolve() if dest is not None else default_dest(source).resolve()
    refuse_write(prefix, "a forked environment")
    if prefix == Path(source.prefix) or Path(source.prefix) in prefix.parents:
        raise BadInputError(
            f"`{prefix}` is inside the environment being forked",
            hint=f"pass a DEST outside `{source.prefix}`",
        )
    if prefix.exists():
        raise BadInputError(
            f"`{prefix}` already exists",
            hint="pass another DEST (`envkernels fork SHARED_ENV DEST`), or use the existing environment",
        )
    if progress:
        progress(f"locking `{source.prefix}`", 0, 1)
    locked = lock_environment(source, output="-", check_project_lock=False)
    warnings = [*locked.warnings]
    warnings += [f"{m['name']} {m['version']}: {m['reason']}" for m in locked.missing]
    warnings += [
        f"{m['name']} {m['version']} is not reproducible: {m['reason']}" for m in locked.not_reproducible
    ]
    prefix.parent.mkdir(parents=True, exist_ok=True)
    # The source's base Python, the exact same version (never the shared environment itself).
    create_venv(prefix, None, python=base_python(source), progress=progress)
    try:
        kept = prefix / ".envkernels"
        kept.mkdir(exist_ok=True)
        lock_path = kept / FORK_LOCK
        lock_path.write_text(locked.text, encoding="utf-8")
        env = environment_from_prefix(prefix)
        result = apply_sync(
            plan_sync(str(lock_path), env), env, lock_path=str(lock_path), progress=progress, policy=policy
        )
    except (EnvKernelsError, OSError) as exc:
        # Nothing usable was made: remove the half-made venv (ours, created a moment ago).
        shutil.rmtree(prefix, ignore_errors=True)
        error = getattr(exc, "message", None) or str(exc)
        history.record_action(source, "fork", "failed", dest=str(prefix), error=error)
        raise
    env = environment_from_prefix(prefix)
    kernelspec, note = register_kernel(env) if install_kernel else (None, None)
    plan = result.plan.to_dict()
    for warning in (
        history.record_action(
            env, "fork", "created", source=history.summary(source), lock=str(lock_path), plan=plan
        )[1],
        history.record_action(source, "fork", "created", dest=str(prefix), lock=str(lock_path), plan=plan)[1],
    ):
        if warning:
            warnings.append(warning)
    return ForkResult(
        source=source,
        environment=env,
        lock=str(lock_path),
        sync=result,
        kernelspec=kernelspec,
        kernel_note=note,
        warnings=warnings,
    )


def base_python(env: Environment) -> str | None:
    """The interpreter ``env``'s venv was made from, followed through venvs made from venvs.

    uv resolves a venv's interpreter to its base itself on Python 3.11+, but a venv made from
    another venv's Python 3.10 names that venv as its base (3.10's ``sys._base_executable``),
    so a fork would be built on the shared environment's own bin/ (or on a CI venv). Each
    ``pyvenv.cfg`` ``home`` is followed until it leads out of venvs; without one, ``env.python``.
    """
    python = env.python
    prefix = Path(env.prefix)
    seen: set[Path] = set()
    while prefix not in seen:
        seen.add(prefix)
        cfg = read_pyvenv_cfg(prefix)
        home = cfg.get("home") if cfg else None
        if not home:
            break
        names = [os.path.basename(python)] if python else []
        if env.python_version:
            major_minor = ".".join(env.python_version.split(".")[:2])
            names.append(f"python{major_minor}")
        names += ["python3", "python"]
        found = next(
            (os.path.join(home, n) for n in names if os.access(os.path.join(home, n), os.X_OK)), None
        )
        if found is None:
            break
        python = found
        prefix = Path(home).parent
    return python
