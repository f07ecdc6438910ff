"""The jupyter_server extension: ``EnvKernelsApp`` and the traits that configure it.

Enabled by ``jupyter-config/jupyter_server_config.d/envkernels.json`` (installed with the
package); configured as ``c.EnvKernelsApp.<trait>``. The REST API lives under
``<base_url>envkernels/api/`` (see :mod:`envkernels.server.handlers`).
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, List, Unicode, default

from envkernels.server.handlers import routes
from envkernels.server.service import EnvironmentService, ServiceConfig
from envkernels.shared import SHARED_ROOTS_VAR, split_paths
from envkernels.shared import configure as configure_shared_roots
from envkernels.sync.history import HISTORY_LOG_VAR, configure_history_log

ROOTS_ENV_VAR = "ENVKERNELS_ROOTS"


def serving_manager(serverapp: Any) -> str:
    """One line for the log: which kernel spec manager serves kernels, and how to choose another."""
    ksm = getattr(serverapp, "kernel_spec_manager", None)
    name = f"{type(ksm).__module__}.{type(ksm).__qualname__}"
    wrapped = getattr(ksm, "wrapped_class", None)
    if wrapped is not None:
        return (
            f"kernels are served by {name}, wrapping {wrapped.__module__}.{wrapped.__qualname__} "
            "(its kernels beside the environments; c.EnvKernelSpecManager.wrap_other = False lets it "
            "serve alone)"
        )
    if type(ksm).__name__ == "EnvKernelSpecManager":
        return f"kernels are served by {name}"
    return (
        f"kernels are served by {name}, so environments are not offered as kernels "
        "(c.ServerApp.kernel_spec_manager_class chooses the manager)"
    )


class EnvKernelsApp(ExtensionApp):
    """Serves the environments, their checks, audits, locks, syncs, trees and diffs over REST."""

    name = "envkernels"
    description = "Every Python environment a Jupyter kernel, and the REST API behind the Environments panel."
    load_other_extensions = True

    roots = List(
        Unicode(),
        config=True,
        help="Directories scanned for environments (to a bounded depth), beside the default places. "
        f"Default: the `{ROOTS_ENV_VAR}` variable (paths joined by `{os.pathsep}`), plus the "
        "kernel spec manager's `roots` when it is envkernels' own.",
    )
    default_roots = Bool(
        True,
        config=True,
        help="Also look in the default places (conda's, pyenv's, poetry's, ... registries, "
        "the running Python).",
    )
    shared_roots = List(
        Unicode(),
        config=True,
        help="Read-only directories of environments every user sees (the administrator's team "
        f"environments; see c.EnvKernelSpecManager.shared_roots). Default: `${SHARED_ROOTS_VAR}`. "
        "Their environments are `shared` in the records; a sync of one is refused (fork it).",
    )
    audit_db = Unicode(
        None,
        allow_none=True,
        config=True,
        help="A local OSV advisory database (a directory of OSV records or OSV's all.zip) for audits; "
        "works offline. None: the OSV API (or what the project's `[tool.envkernels.audit]` names).",
    )
    audit_api_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Base URL of an OSV API (a mirror inside a firewalled JupyterHub); "
        "None: the audit engine's default.",
    )
    audit_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds an OSV API request may take before the audit reports the source as unusable.",
    )
    audit_deadline = Float(
        30.0,
        config=True,
        help="Seconds a whole audit may take; what the advisory source has not answered by then is "
        "reported as not checked (`source-unavailable`), never as clean.",
    )
    audit_licenses = Bool(
        False,
        config=True,
        help="Include the license check in every audit; a request's `?licenses=1` asks for it either way.",
    )
    license_allow = List(
        Unicode(),
        config=True,
        help="SPDX ids every environment may carry (server-wide license policy; a project's "
        "`[tool.envkernels.audit] allow` can only narrow it).",
    )
    license_deny = List(
        Unicode(),
        config=True,
        help="SPDX ids no environment may carry (added to what a project denies).",
    )
    license_fail_on_unknown = Bool(
        None,
        allow_none=True,
        config=True,
        help="Treat a package whose license cannot be read as denied (None: leave it to the project).",
    )
    recheck_interval = Float(
        60.0,
        config=True,
        help="Seconds between looks for environments changed since their last check (installed or "
        "removed packages); a changed one is re-checked in the background, at low priority, and its "
        "verdict in the listing follows. 0 turns the background re-check off.",
    )
    heavy_workers = Int(
        4,
        config=True,
        help="Threads for heavy requests (audit, check, lock, sync, tree, diff). Listing and single "
        "records run apart, so slow heavy work never blocks them.",
    )
    heavy_queue = Int(
        16,
        config=True,
        help="Heavy requests that may wait for a thread; past that a request is refused at once (503).",
    )
    max_lock_bytes = Int(
        4 << 20,
        config=True,
        help="Largest lockfile or project file read, in bytes (default 4 MiB); larger is 413.",
    )
    max_notebook_bytes = Int(
        32 << 20,
        config=True,
        help="Largest notebook read, in bytes (default 32 MiB); larger is 413.",
    )
    max_request_bytes = Int(
        1 << 20,
        config=True,
        help="Largest REST request body, in bytes (default 1 MiB); larger is 413.",
    )
    allow_sync = Bool(
        True,
        config=True,
        help="Allow `POST .../sync` with `dry_run: false` to change environments; "
        "dry runs are always allowed. "
        "A JupyterHub admin may set False so users can see plans but not apply them.",
    )

    allow_direct_sources = Bool(
        False,
        config=True,
        help="Allow `POST .../sync` to apply a lock that installs from local directories (editable "
        "or not), VCS repositories, URLs, or files at another origin than this server's package "
        "index. Off by default: a lock from a notebook or repository then installs only pinned "
        "releases from the index (dry runs still show such sources, marked).",
    )
    allow_builds = Bool(
        False,
        config=True,
        help="Allow `POST .../sync` to build source distributions (uv runs their build backends). "
        "Off by default: uv gets `--no-build` and a lock offering only an sdist is refused.",
    )

    history_log = Unicode(
        None,
        allow_none=True,
        config=True,
        help="A server-wide JSON-lines log of every change involving a shared environment (a fork of "
        "it, a lock of it written into a project), one line each: Jupyter user, time, environment, "
        "plan, result. Every user's server appends to it, so make it writable for them (e.g. "
        "`install -m 0622 /dev/null /var/log/envkernels-history.jsonl`). Default: "
        "`$ENVKERNELS_HISTORY_LOG`; personal environments keep their trail in their own history.",
    )
    allow_fork = Bool(
        True,
        config=True,
        help="Allow `POST .../fork`: a user makes their own environment (inside the server root, or "
        "in their forks directory) from another one's exact lock, e.g. from a shared environment.",
    )

    @default("history_log")
    def _history_log_default(self) -> str | None:
        return os.environ.get(HISTORY_LOG_VAR) or None

    @default("shared_roots")
    def _shared_roots_default(self) -> list[str]:
        return split_paths(os.environ.get(SHARED_ROOTS_VAR))

    @default("roots")
    def _roots_default(self) -> list[str]:
        raw = os.environ.get(ROOTS_ENV_VAR, "")
        return [p for p in raw.split(os.pathsep) if p.strip()]

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        """Link as usual, then make sure environments are offered as kernels.

        Linking runs before the ServerApp builds its kernel spec manager, so this is the moment to
        wrap another configured manager (nb_conda_kernels, ...) instead of being replaced by it.
        """
        super()._link_jupyter_server_extension(serverapp)
        from envkernels.kernels.coexist import adopt_kernel_spec_manager, keep_adopting

        outcome = adopt_kernel_spec_manager(serverapp, self.log)
        self.log.debug("envkernels: kernel spec manager: %s", outcome)
        if not outcome.startswith("kept"):
            keep_adopting(serverapp, self.log)

    def initialize_settings(self) -> None:
        """Freeze the traits into the service the handlers call, and the per-env sync guard."""
        from envkernels import limits
        from envkernels.server.work import WorkPools

        self.syncs_running: set[str] = set()
        configure_shared_roots(self.shared_roots)
        configure_history_log(self.history_log)
        self.service = EnvironmentService(self.service_config())
        self.pools = WorkPools(heavy_workers=self.heavy_workers, heavy_queue=self.heavy_queue)
        limits.configure(
            lock=self.max_lock_bytes, notebook=self.max_notebook_bytes, request=self.max_request_bytes
        )
        self._start_verdicts()
        if self.serverapp is not None:
            from envkernels.kernels.notebooks import watch_notebooks

            # The project of every notebook a kernel starts for (or that is opened) is searched too.
            self.notebook_projects = watch_notebooks(self.serverapp, self.log)
            if self.notebook_projects is not None:  # the REST listing (the panel) shows them too
                self.service.notebook_projects = self.notebook_projects.ksm.notebook_projects
        from envkernels.cachedir import cache_root, not_private

        shared_cache = not_private(cache_root())
        if shared_cache is not None:
            self.log.warning(
                "envkernels: the cache directory is not this user's alone: %s; give each user their own "
                "(unset a shared ENVKERNELS_CACHE_DIR / XDG_CACHE_HOME in c.Spawner.environment)",
                shared_cache,
            )
        base_url = self.serverapp.base_url if self.serverapp else "/"
        roots = ", ".join(self.service.config.roots) or "-"
        self.log.info("envkernels: REST API under %senvkernels/api/ (roots: %s)", base_url, roots)
        self.log.info("envkernels: %s", serving_manager(self.serverapp))

    def service_config(self) -> ServiceConfig:
        """The service's configuration from the traits and the server (root dir, kernel manager roots)."""
        roots = list(self.roots)
        ksm: Any = getattr(self.serverapp, "kernel_spec_manager", None)
        discovery_roots = getattr(ksm, "discovery_roots", None)  # envkernels' own: roots + root_dir
        ksm_roots = discovery_roots() if callable(discovery_roots) else getattr(ksm, "roots", None)
        for root in ksm_roots or ():
            if isinstance(root, str) and root not in roots:
                roots.append(root)
        root_dir = getattr(self.serverapp, "root_dir", None) or os.getcwd()
        return ServiceConfig(
            root_dir=os.path.realpath(os.path.expanduser(root_dir)),
            roots=tuple(roots),
            default_roots=self.default_roots,
            audit_db=self.audit_db,
            audit_api_url=self.audit_api_url,
            audit_timeout=self.audit_timeout,
            audit_deadline=self.audit_deadline,
            license_allow=tuple(self.license_allow),
            license_deny=tuple(self.license_deny),
            license_fail_on_unknown=self.license_fail_on_unknown,
            licenses=self.audit_licenses,
            allow_sync=self.allow_sync,
            allow_direct_sources=self.allow_direct_sources,
            allow_builds=self.allow_builds,
            allow_fork=self.allow_fork,
        )

    def _start_verdicts(self) -> None:
        """The kept verdicts, and the background re-check of environments that changed since theirs."""
        from envkernels.server.verdicts import BackgroundRechecker, VerdictStore

        self.verdicts = VerdictStore()
        self.rechecker = BackgroundRechecker(self._recheck)
        self._recheck_timer: Any = None
        if self.recheck_interval > 0:
            from tornado.ioloop import PeriodicCallback

            self._recheck_timer = PeriodicCallback(self._look_for_changes, self.recheck_interval * 1000)
            self._recheck_timer.start()

    def _recheck(self, env_id: str) -> None:
        """One background re-check (on the re-check thread): check, and keep its verdict."""
        report = self.service.check(env_id)
        prefix = str(report.get("environment", {}).get("prefix", ""))
        self.verdicts.record(env_id, prefix, "check", report)

    def stale_verdicts(self, records: list[dict[str, Any]]) -> None:
        """Annotate listing records with their verdicts; queue a re-check of each stale one."""
        pending = self.rechecker.pending()
        for record in records:
            self.verdicts.annotate(record)
            if record["verdict_stale"] and record["id"] not in pending and self.recheck_interval > 0:
                self.rechecker.request(record["id"])

    async def _look_for_changes(self) -> None:
        """Every ``recheck_interval``: the (cached, cheap) listing, annotated: stale ones get re-checked."""
        try:
            envs = await self.pools.light(self.service.environments)
            records = [self.service.record(e) for e in envs]
            await self.pools.light(self.stale_verdicts, records)
        except Exception as exc:  # never let the timer die on one bad scan
            self.log.debug("envkernels: looking for changed environments failed: %s", exc)

    async def stop_extension(self) -> None:
        """Stop the thread pools and the background re-check when the server stops."""
        pools = getattr(self, "pools", None)
        if pools is not None:
            pools.shutdown()
        timer = getattr(self, "_recheck_timer", None)
        if timer is not None:
            timer.stop()
        rechecker = getattr(self, "rechecker", None)
        if rechecker is not None:
            rechecker.stop()

    def initialize_handlers(self) -> None:
        """Register the REST routes (the base class joins them onto base_url)."""
        self.handlers.extend(routes())
