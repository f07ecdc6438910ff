"""The REST API's calls into the engine API (:mod:`envkernels.api`): one method per endpoint.

What is the server's own: its configuration (roots, audit source, license policy, what a sync
may install), request paths resolved inside the server root (:func:`~envkernels.server.paths.inside_root`),
size limits checked before reading (413), which files a request may write, and the JSON shape of
its answers. Everything else is a call into :mod:`envkernels.api`, the same functions the CLI and
the kernel worker call. Handlers run these in a worker thread and turn the
:class:`~envkernels.errors.EnvKernelsError` they raise into HTTP statuses; nothing here runs a
command a request chose (sync runs uv through the sync engine, with the lock as data).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from envkernels import api
from envkernels.errors import NotFoundError, UsageError
from envkernels.limits import check_size
from envkernels.model import Environment
from envkernels.server.paths import inside_root, relative_to_root

if TYPE_CHECKING:
    from envkernels.audit.policy import AuditConfig
    from envkernels.sync.apply import SourcePolicy

_RELATIVE_HINT = "name a file relative to the directory Jupyter was started in"
# PEP 751 lock file names: what POST .../lock may write.
PYLOCK_NAME = re.compile(r"pylock\.toml|pylock\.[^./\\]+\.toml")


@dataclass(frozen=True)
class ServiceConfig:
    """What the extension's traits say, frozen for the worker threads."""

    root_dir: str
    roots: tuple[str, ...] = ()
    default_roots: bool = True
    audit_db: str | None = None
    audit_api_url: str | None = None
    audit_timeout: float | None = None
    audit_deadline: float = 30.0
    license_allow: tuple[str, ...] = ()
    license_deny: tuple[str, ...] = ()
    license_fail_on_unknown: bool | None = None
    licenses: bool = False
    allow_sync: bool = True
    allow_direct_sources: bool = False
    allow_builds: bool = False
    allow_fork: bool = True


class EnvironmentService:
    """The endpoints' engine calls for the environments the server sees, under its configuration."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        # The projects of notebooks the kernel spec manager searches too (kernels/notebooks.py).
        self.notebook_projects: Callable[[], list[str]] | None = None

    # ---- discovery -------------------------------------------------------------------------
    def environments(self, fresh: bool = False) -> list[Environment]:
        """Every environment discovery finds under the configured roots (``fresh``: scan regardless).

        Plus those of the notebooks' projects the kernel spec manager searches, discovered on
        their own (as the kernel listing does: a new root would walk a large root_dir again).
        """
        envs = api.list_environments(
            roots=self.config.roots, default_roots=self.config.default_roots, fresh=fresh
        )
        projects = [
            p for p in (self.notebook_projects() if self.notebook_projects else []) if os.path.isdir(p)
        ]
        if not projects:
            return envs
        seen = {e.prefix for e in envs}
        extra = api.list_environments(roots=projects, default_roots=False, fresh=fresh)
        return [*envs, *(e for e in extra if e.prefix not in seen)]

    def environment(self, env_id: str) -> Environment:
        """The environment whose ``id`` is ``env_id``; NotFoundError when no discovery produced it."""
        try:
            return api.environment_by_id(env_id, self.environments())
        except NotFoundError as exc:
            raise NotFoundError(
                exc.message,
                hint="GET envkernels/api/environments lists the ids (POST .../refresh rescans)",
            ) from None

    def record(self, env: Environment) -> dict[str, Any]:
        """The environment record plus ``project_path``: the project relative to the root (or null)."""
        data = env.to_dict()
        data["project_path"] = relative_to_root(self.config.root_dir, env.project) if env.project else None
        return data

    def path(self, relative: object, what: str) -> str:
        """A request's path resolved inside the server root (OutsideRootError/UsageError otherwise)."""
        return str(inside_root(self.config.root_dir, relative, what=what))

    def existing_file(self, relative: object, what: str, label: str) -> str:
        """:meth:`path`, which must be an existing file within its size limit (404, 413)."""
        path = self.path(relative, what)
        if not os.path.isfile(path):
            raise NotFoundError(f"no {label} at `{relative}`", hint=_RELATIVE_HINT)
        check_size(path)  # 413 before reading, not an input error after
        return path

    # ---- check / audit -----------------------------------------------------------------------
    def check(self, env_id: str, lock: str | None = None, notebook: str | None = None) -> dict[str, Any]:
        """``check`` of one environment, optionally against a lock and with a notebook's imports."""
        env = self.environment(env_id)
        nb_path = self.existing_file(notebook, "notebook", "notebook") if notebook is not None else None
        lock_path = self.existing_file(lock, "lock", "lockfile") if lock is not None else None
        # The advice reads the advisories the server's audit would use, where they are on disk.
        return api.check(env, lock=lock_path, notebook=nb_path, audit_config=self._audit_config()).to_dict()

    def audit(self, env_id: str, licenses: bool | None = None) -> dict[str, Any]:
        """Known vulnerabilities (and, with ``licenses``, license statuses) of one environment."""
        env = self.environment(env_id)
        want_licenses = self.config.licenses if licenses is None else licenses
        return api.audit(env, licenses=want_licenses, config=self._audit_config()).to_dict()

    def _audit_config(self) -> AuditConfig:
        """The server's audit settings (authoritative: it chooses where advisories come from)."""
        from envkernels.audit.policy import AuditConfig

        # The server's configuration wins: a project (a cloned repository) may narrow the policy,
        # never choose where advisories come from (its `db`/`api-url` are reported, not used).
        return AuditConfig(
            db=self.config.audit_db,
            api_url=self.config.audit_api_url,
            timeout=self.config.audit_timeout,
            allow=self.config.license_allow,
            deny=self.config.license_deny,
            fail_on_unknown=self.config.license_fail_on_unknown,
            deadline=self.config.audit_deadline,
            authoritative=True,
        )

    # ---- lock / sync -------------------------------------------------------------------------
    def lock(
        self, env_id: str, path: object, *, notebook: object = None, hashes: bool = True
    ) -> dict[str, Any]:
        """Write a lock of the environment: a pylock file at ``path`` and/or a notebook's metadata.

        Only PEP 751 file names (``pylock.toml``, ``pylock.<name>.toml``) and ``.ipynb`` notebooks
        are written, so a request cannot replace a project file (``pyproject.toml``, a script);
        every earlier version is kept beside it as ``<name>.<UTC time>.bak``.
        """
        env = self.environment(env_id)
        if path is None and notebook is None:
            raise UsageError(
                "`path` or `notebook` is required",
                hint='send e.g. {"path": "pylock.toml"} or {"notebook": "analysis.ipynb"}',
            )
        output = self.path(path, "path") if path is not None else None
        if output is not None:
            if os.path.isdir(output):
                raise UsageError(f"`{path}` is a directory", hint="name the file to write: `pylock.toml`")
            if not PYLOCK_NAME.fullmatch(os.path.basename(output)):
                raise UsageError(
                    f"`{path}` is not a pylock file; the lock endpoint writes only `pylock.toml` or "
                    "`pylock.<name>.toml`",
                    hint='send e.g. {"path": "project/pylock.toml"}, or {"notebook": "x.ipynb"} '
                    "to lock into a notebook",
                )
        nb_path = self.path(notebook, "notebook") if notebook is not None else None
        if nb_path is not None and not nb_path.endswith(".ipynb"):
            raise UsageError(
                f"`{notebook}` is not a notebook (`.ipynb`)", hint='send e.g. {"notebook": "x.ipynb"}'
            )
        if nb_path is not None and not os.path.isfile(nb_path):
            raise NotFoundError(f"no notebook at `{notebook}`", hint=_RELATIVE_HINT)
        result = api.lock(env, output=output, notebook=nb_path, hashes=hashes).to_dict()
        result["relative_path"] = relative_to_root(self.config.root_dir, output) if output else None
        return result

    def sync(self, env_id: str, lock: object, *, dry_run: bool) -> dict[str, Any]:
        """The plan that makes the environment match ``lock``; carried out unless ``dry_run``."""
        env = self.environment(env_id)
        lock_path = self.path(lock, "lock")
        if not os.path.isfile(lock_path):
            raise NotFoundError(f"no lockfile at `{lock}`", hint=_RELATIVE_HINT)
        plan = api.plan(env, lock_path)
        policy = self.source_policy()
        if dry_run:
            return {
                "dry_run": True,
                "plan": plan.to_dict(),
                "text": plan.text(),
                "refused": [s.to_dict() for s in api.refused(plan, policy)],
            }
        result = api.sync(env, lock_path, planned=plan, policy=policy)
        return {"dry_run": False, **result.to_dict(), "text": result.summary()}

    def fork(self, env_id: str, dest: object = None) -> dict[str, Any]:
        """A personal copy of the environment from its exact lock (``envkernels fork``).

        ``dest`` is relative to the server root (inside it); without one, the user's forks
        directory (``~/.local/share/envkernels/envs/<name>-fork``), which no request names.
        """
        env = self.environment(env_id)
        target = self.path(dest, "dest") if dest is not None else None
        result = api.fork(env, target, policy=self.source_policy())
        data = result.to_dict()
        data["environment"] = self.record(result.environment)
        data["text"] = result.summary()
        return data

    def history(self, env_id: str | None = None) -> list[dict[str, Any]]:
        """The audit trail of one environment, or of every environment this server sees plus the
        user's cache-side histories and the server-wide log of shared environments."""
        if env_id is not None:
            return api.history(self.environment(env_id))
        return api.history(environments=self.environments())

    def source_policy(self) -> SourcePolicy:
        """What a REST sync may install: the server's index only, unless the administrator allows more."""
        return api.source_policy(
            allow_direct_sources=self.config.allow_direct_sources,
            allow_builds=self.config.allow_builds,
            index_only=True,
            hint="this server installs only pinned releases from its package index; an administrator "
            "can allow more with `c.EnvKernelsApp.allow_direct_sources` / `allow_builds`",
        )

    # ---- pictures: tree and diff ------------------------------------------------------------
    def tree(self, env_id: str, why: str | None = None) -> dict[str, Any]:
        """What pulls in what in the environment; with ``why``, the chains that explain that package."""
        env = self.environment(env_id)
        try:
            doc = api.tree(env, why=why).to_dict()
        except NotFoundError as exc:
            raise NotFoundError(
                exc.message, hint="GET .../tree without `why` lists the installed packages"
            ) from None
        doc["environment"] = self.record(env)  # with project_path
        return doc

    def diff(self, env_id: str, *, other: str | None = None, lock: str | None = None) -> dict[str, Any]:
        """The environment side by side with another environment (``other``) or a lockfile (``lock``)."""
        if (other is None) == (lock is None):
            raise UsageError(
                "a diff needs exactly one of `other` (an environment id) or `lock` (a path)",
                hint="e.g. GET .../diff?other=<id> or .../diff?lock=project/pylock.toml",
            )
        env = self.environment(env_id)
        if other is not None:
            return api.diff(env, other=self.environment(other)).to_dict()
        lock_path = self.path(lock, "lock")
        if not os.path.isfile(lock_path):
            raise NotFoundError(f"no lockfile at `{lock}`", hint=_RELATIVE_HINT)
        found = api.diff(env, lock=lock_path)
        # The lock as the request named it, relative to the root.
        return replace(found, right=replace(found.right, path=str(lock))).to_dict()
