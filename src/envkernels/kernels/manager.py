"""``EnvKernelSpecManager``: the native kernelspecs plus one kernelspec per discovered environment.

Switched on by ``jupyter-config/jupyter_server_config.d/envkernels.json``
(``ServerApp.kernel_spec_manager_class``). How it serves:

- **jupyter_client's contract, kept** (``tests/kernels/test_jupyter_client_kernelspec.py`` runs
  jupyter_client's own kernelspec tests against this class): ``get_all_specs()`` returns a dict
  everywhere; ``find_kernel_specs()``, ``get_kernel_spec()`` and ``remove_kernel_spec()`` rebuild
  the listing first, so installs, removals and new environments show on the next call; names are
  matched case-insensitively, as jupyter_client matches them.
- **Listing never waits on discovery inside the event loop.** Inside a running loop (jupyter_server's
  handler, Voilà), ``get_all_specs()`` serves the warm listing and, when it is older than
  ``refresh_interval``, starts one rebuild in a background thread (shared by concurrent callers):
  the next call sees its result. Only the very first listing, when none exists yet, is built on
  the caller's path (inside a server the prewarm thread has usually built it already).
  ``refresh()`` (or ``await async_refresh()``) rebuilds at once (the REST ``POST
  environments/refresh`` calls it).
- **Removing never deletes what envkernels does not own**: ``remove_kernel_spec`` deletes only a
  kernelspec directory inside one of Jupyter's kernel directories (``envkernels kernels install``'s,
  or any other there, as jupyter_client does); an environment's kernel is *hidden*
  (:mod:`envkernels.kernels.hidden`), never its files, the environment, or envkernels' package.
- **Each environment once**: an environment that already has a kernelspec of its own (its
  ``argv[0]`` lives in the environment's prefix, e.g. written by ``ipykernel install``) is listed
  under that native name (with ``metadata.envkernels`` added); its ``envk-...`` name stays
  resolvable. ``python3`` stays listed and resolvable.
- **Portable names**: an ``envk-<kind>-<slug>-<hash8>`` name from another machine (another
  prefix, so another hash) starts the local environment of the same kind and slug
  (:mod:`envkernels.kernels.resolve`), under the name the notebook asked for.
- **Coexistence**: ``wrapped_class`` names another KernelSpecManager (nb_conda_kernels'
  ``CondaKernelSpecManager``, ...) whose specs stand in for the native ones.
  :func:`envkernels.kernels.coexist.adopt_kernel_spec_manager` sets it when the server was
  configured with another manager.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from traitlets import Bool, Enum, Float, List, Type, Unicode, default, observe

from envkernels import shared
from envkernels.discovery import discover, environment_from_prefix, mounts
from envkernels.errors import EnvKernelsError, UsageError
from envkernels.kernels import hidden, paths
from envkernels.kernels.activation import activation_for
from envkernels.kernels.resolve import KernelNameNotResolved, parse_kernel_name, resolve_kernel_name
from envkernels.kernels.spec import (
    DEFAULT_DISPLAY_FORMAT,
    PROVISIONER_NAME,
    LaunchSettings,
    build_spec,
    interpreter_prefix_of,
    is_plain_ipykernel,
    refusal,
)
from envkernels.model import KINDS, Environment

SpecEntry = dict[str, Any]  # {"resource_dir": str, "spec": dict}


@dataclass
class Listing:
    """One built listing: what is shown, what else resolves, and the environments behind it."""

    shown: dict[str, SpecEntry] = field(default_factory=dict)
    environments: dict[str, Environment] = field(default_factory=dict)  # kernel name -> env
    native_alias: dict[str, str] = field(default_factory=dict)  # envk-name -> native name shown for it
    upgraded: dict[str, str] = field(default_factory=dict)  # native name launched as ours -> envk-name
    resolved: dict[str, str] = field(default_factory=dict)  # another machine's envk-name -> local envk-name
    hidden: frozenset[str] = frozenset()  # kernel names the user removed (kernels/hidden.py)
    unoffered: dict[str, str] = field(default_factory=dict)  # kernel name -> why the traits offer it not
    refused: dict[str, Environment] = field(default_factory=dict)  # broken/unsupported: start says why
    made: float = 0.0
    models: dict[str, dict[str, Any]] | None = None  # REST models, built on first use (see rest_models)


class SpecListing(dict[str, Any]):
    """What ``get_all_specs()`` returns: a plain ``dict`` of the listed kernels, looked up as
    ``get_kernel_spec`` looks names up.

    Iteration, ``len``, ``keys()``, ``items()``: exactly the listing. ``name in specs``,
    ``specs[name]`` and ``specs.get(name)`` also accept a listed name in another case and an
    ``envk-`` name from another machine (giving the local environment's entry). A well-formed
    ``envk-`` name that fits no local environment is *claimed* too (``in`` is True) and
    ``specs[name]`` raises the resolver's ``NoSuchKernel`` naming the closest environments: a
    client that falls back to "any kernel of the same language" for a name it cannot find (Voilà
    does) then fails with that message instead of running the notebook on another Python.
    """

    def __init__(self, entries: Mapping[str, Any], lookup: Callable[[str], str]) -> None:
        super().__init__(entries)
        self._lookup = lookup  # a name -> the listed name it means, or raises NoSuchKernel

    def __contains__(self, name: object) -> bool:
        if dict.__contains__(self, name):
            return True
        if not isinstance(name, str):
            return False
        try:
            self._lookup(name)
        except NoSuchKernel:
            return parse_kernel_name(name.lower()) is not None
        return True

    def __missing__(self, name: object) -> Any:
        if not isinstance(name, str):
            raise KeyError(name)
        return dict.__getitem__(self, self._lookup(name))

    def get(self, name: Any, default: Any = None) -> Any:
        """``self[name]``, or ``default`` when nothing fits ``name``."""
        try:
            return self[name]
        except KeyError:
            return default

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles are plain dicts of the listing (the lookup belongs to this manager).
        return (dict, (dict(self),))


def provisioner_installed() -> bool:
    """True when the ``envkernels-provisioner`` entry point is registered (envkernels is installed)."""
    return any(ep.name == PROVISIONER_NAME for ep in entry_points(group="jupyter_client.kernel_provisioners"))


# Notebooks' projects searched beside the roots (each one a small walk on every listing rebuild).
MAX_NOTEBOOK_PROJECTS = 64


class EnvKernelSpecManager(KernelSpecManager):
    """The native kernelspecs plus one per discovered environment (see the module docstring)."""

    roots = List(
        Unicode(),
        config=True,
        help="Extra directories scanned for environments (to a bounded depth), beside the default places.",
    )
    default_roots = Bool(
        True,
        config=True,
        help="Also look in the default places (conda's, pyenv's, poetry's, ... registries and PATH).",
    )
    shared_roots = List(
        Unicode(),
        config=True,
        help="Read-only directories of environments every user sees (an administrator's team "
        "environments): their kernels say `team`, and envkernels never writes under them. "
        "Default: `$ENVKERNELS_SHARED_ROOTS` (paths joined by the OS path separator). Exported to "
        "the server's environment so kernels and their magics see the same roots.",
    )
    hidden_kinds = List(
        Enum(list(KINDS)),
        config=True,
        help=f"Kinds of environment offered as no kernel (any of {', '.join(KINDS)}).",
    )
    without_ipykernel = Enum(
        ["overlay", "hide", "install"],
        "overlay",
        config=True,
        help="Environments without ipykernel: 'overlay' runs them with ipykernel from a cache outside "
        "the environment (nothing installed into it); 'hide' offers no kernel for them; 'install' "
        "installs ipykernel into the environment when its kernel first starts.",
    )
    show_broken = Bool(
        False,
        config=True,
        help="Also offer broken and unsupported environments (e.g. Python 2.7) as kernels, whose start "
        "then refuses with the problem and the fix. By default only kernels that start are offered; "
        "the others stay listed (`envkernels list`, the REST API, the Environments panel) with "
        "their problem and hint, and a notebook naming one gets that problem when it starts.",
    )
    display_name_format = Unicode(
        DEFAULT_DISPLAY_FORMAT,
        config=True,
        help="Display name of an environment's kernel; fields: "
        "{language} {version} {kind} {name} {id} {prefix}.",
    )
    refresh_interval = Float(
        2.0,
        config=True,
        help="Seconds a listing is served from memory before discovery is asked again (0: every time).",
    )
    network_poll_interval = Float(
        config=True,
        help="Seconds between stat checks of environments and roots on network file systems (NFS, "
        "CIFS/SMB, FUSE, 9p, ...), where inotify cannot see changes made on other machines: an "
        "environment created there appears in the kernel list within this interval (plus "
        "refresh_interval). Default: $ENVKERNELS_NETWORK_POLL_INTERVAL, else 30; 0 checks every time.",
    )
    wrapped_class = Type(
        None,
        klass=KernelSpecManager,
        allow_none=True,
        config=True,
        help="Another KernelSpecManager (e.g. nb_conda_kernels.CondaKernelSpecManager) whose kernelspecs "
        "are served in place of the native ones, so envkernels adds to it instead of replacing it.",
    )
    wrap_other = Bool(
        True,
        config=True,
        help="When another kernel_spec_manager_class is configured, the envkernels server extension wraps "
        "it (see wrapped_class) and takes its place; False keeps the other manager and offers no "
        "environments as kernels.",
    )
    overlay_root = Unicode(
        config=True, help="Where ipykernel overlays are kept (default: envkernels' cache)."
    )
    overlay_dirs = List(
        Unicode(),
        config=True,
        help="Prepared, read-only ipykernel overlay directories (`envkernels kernels prepare --dest DIR`), "
        "searched before a user's own overlay is built: with one for the kernel's Python, nothing "
        "is downloaded. Default: `$ENVKERNELS_OVERLAY_DIRS` (paths joined by the OS path separator).",
    )
    upgrade_native_twins = Bool(
        True,
        config=True,
        help="An environment's own stock ipykernel kernelspec (`python -m ipykernel_launcher -f ...`, no env "
        "block) is started the envkernels way (activation, magics) under its own name and display name.",
    )
    search_root_dir = Bool(
        True,
        config=True,
        help="Inside a server, also walk its root_dir (the folder JupyterLab shows) for projects and "
        "environments, as roots are walked (bounded depth, skip rules). The walk runs in the "
        "background: the first listing comes from the default places and the configured roots, "
        "and the root's environments join it when the walk is done.",
    )
    search_notebook_projects = Bool(
        True,
        config=True,
        help="Inside a server, also search the project of every notebook a kernel is started for or "
        "that is opened (walking up from the notebook, never above the server's root_dir, to the "
        "nearest pyproject.toml, Pipfile, pixi.toml, environment.yml, ...): its environments are "
        "offered even where the root_dir walk does not reach (deeper than its depth, or skipped).",
    )
    prewarm = Bool(
        True,
        config=True,
        help="Inside a server, build the first listing in a background thread as the manager is created, "
        "so the first request is already served warm.",
    )
    prebuilt_models = Bool(
        True,
        config=True,
        help="Inside jupyter_server, answer get_all_specs with ready REST models (as its gateway manager "
        "does), so the handler does not look into every resource directory on each request.",
    )

    @default("network_poll_interval")
    def _network_poll_interval_default(self) -> float:
        return mounts.poll_interval()

    @observe("network_poll_interval")
    def _network_poll_interval_changed(self, change: Any) -> None:
        mounts.configure_poll_interval(change["new"])

    @default("overlay_root")
    def _overlay_root_default(self) -> str:
        return str(paths.overlay_root())

    @default("overlay_dirs")
    def _overlay_dirs_default(self) -> list[str]:
        return [p for p in os.environ.get("ENVKERNELS_OVERLAY_DIRS", "").split(os.pathsep) if p.strip()]

    @default("shared_roots")
    def _shared_roots_default(self) -> list[str]:
        return shared.split_paths(os.environ.get(shared.SHARED_ROOTS_VAR))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        shared.configure(self.shared_roots)
        if self.overlay_dirs:  # exported: discovery reads the shared roots' snapshot from them
            os.environ["ENVKERNELS_OVERLAY_DIRS"] = os.pathsep.join(self.overlay_dirs)
        self._listing: Listing | None = None
        self._entries: dict[tuple[Environment, LaunchSettings], SpecEntry] = {}
        self._resources: dict[str, list[tuple[str, str]]] = {}
        self._lock = threading.Lock()
        self._inflight: asyncio.Future[Listing] | None = None
        self._background: threading.Thread | None = None
        self._background_lock = threading.Lock()
        self._wrapped: KernelSpecManager | None = None
        # Projects of notebooks (kernels/notebooks.py), searched beside the roots; oldest first.
        self._notebook_projects: dict[str, None] = {}
        self._projects_lock = threading.Lock()
        if self.wrapped_class is not None and not issubclass(type(self), self.wrapped_class):
            self._wrapped = self.wrapped_class(parent=self.parent, config=self.config, log=self.log)
            self.log.info(
                "envkernels: serving the kernelspecs of %s beside its own", self.wrapped_class.__name__
            )
        self._use_provisioner = provisioner_installed()
        if not self._use_provisioner:
            self.log.warning(
                "envkernels: the `%s` entry point is missing (reinstall envkernels); "
                "kernels start without pre-launch checks",
                PROVISIONER_NAME,
            )
        self._log_network_roots()
        self._prewarm: threading.Thread | None = None
        self._first_listing = threading.Event()  # set once a listing (maybe without root_dir) exists
        if self.prewarm and self.base_url() is not None:
            self._prewarm = threading.Thread(
                target=self._prewarm_listing, name="envkernels-prewarm", daemon=True
            )
            self._prewarm.start()
        else:
            self._first_listing.set()

    def _log_network_roots(self) -> None:
        """Say which roots sit on network file systems: they are polled, not watched by inotify."""
        roots = [*self.shared_roots, *self.discovery_roots()]
        for root, mount in mounts.network_mounts(roots).items():
            self.log.info(
                "envkernels: %s is on a network file system (%s, %s at %s): inotify cannot see changes "
                "made on other machines, so it is re-checked every %g s (network_poll_interval)",
                root,
                mount.fstype,
                mount.source,
                mount.mount_point,
                mounts.poll_interval(),
            )

    @observe("wrapped_class")
    def _wrapped_class_changed(self, change: Any) -> None:
        """Wrap a manager named after this one was made (an extension that sets the server's class
        when it loads, as nb_venv_kernels does): its kernels join the next listing."""
        if not hasattr(self, "_use_provisioner"):  # still in __init__, which makes the wrapped one
            return
        cls = change["new"]
        wrapped = None
        if cls is not None and not issubclass(type(self), cls):
            wrapped = cls(parent=self.parent, config=self.config, log=self.log)
        with self._lock:
            self._wrapped = wrapped
            self._listing = None

    @observe("shared_roots")
    def _shared_roots_changed(self, change: Any) -> None:
        shared.configure(change["new"])
        if hasattr(self, "_use_provisioner"):  # after __init__: the next listing sees the new roots
            with self._lock:
                self._listing = None

    @default("kernel_dirs")
    def _kernel_dirs_default(self) -> list[str]:
        # jupyter_client's default imports IPython (~0.5 s) only to find `~/.ipython/kernels`;
        # the same directory, without the import, keeps the first listing fast.
        from jupyter_core.paths import jupyter_path

        ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
        return [*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")]

    def base_url(self) -> str | None:
        """The server's base URL when this manager serves a jupyter_server (None otherwise)."""
        url = getattr(self.parent, "base_url", None)
        return url if isinstance(url, str) else None

    # ---- settings and spec building -----------------------------------------------------------
    def launch_settings(self) -> LaunchSettings:
        """The launch settings every spec shares, from the traits."""
        return LaunchSettings(
            launcher=str(paths.launcher_script()),
            host_python=paths.host_python(),
            overlay_root=self.overlay_root,
            overlay_dirs=tuple(self.overlay_dirs),
            without_ipykernel=self.without_ipykernel,
            display_format=self.display_name_format,
            provisioner=self._use_provisioner,
        )

    def spec_entry(self, env: Environment, settings: LaunchSettings | None = None) -> SpecEntry:
        """``{"resource_dir", "spec"}`` of one environment (activation read from its files now)."""
        spec = build_spec(env, activation_for(env), settings or self.launch_settings())
        return {"resource_dir": str(paths.logos_dir(env.kind)), "spec": spec}

    def _cached_entry(
        self, env: Environment, settings: LaunchSettings, fresh: dict[Any, SpecEntry]
    ) -> SpecEntry:
        """The entry of ``env``, reused from the last listing while its record is unchanged."""
        key = (env, settings)
        entry = self._entries.get(key) or self.spec_entry(env, settings)
        fresh[key] = entry
        return entry

    def wanted(self, env: Environment) -> bool:
        """True when ``env`` is offered as a kernel under the current traits."""
        if env.kind in self.hidden_kinds:
            return False
        if not env.ok:
            return self.show_broken
        return env.has_ipykernel or self.without_ipykernel != "hide"

    def _why_not_offered(self, env: Environment) -> str:
        if env.kind in self.hidden_kinds:
            return f"{env.kind} environments are not offered (EnvKernelSpecManager.hidden_kinds)"
        if not env.ok:
            return f"{refusal(env)}" + (f". hint: {env.hint}" if env.hint else "")
        return "it has no ipykernel and EnvKernelSpecManager.without_ipykernel is 'hide'"

    # ---- native specs (ours or the wrapped manager's) -----------------------------------------
    def native_specs(self) -> dict[str, SpecEntry]:
        """The kernelspecs installed in the Jupyter paths (or the wrapped manager's), by name."""
        if self._wrapped is not None:
            specs = self._wrapped.get_all_specs()
            if asyncio.iscoroutine(specs):  # an async manager: only usable from the event loop
                specs.close()
                self.log.warning(
                    "envkernels: %s is async-only; its specs are not listed", type(self._wrapped).__name__
                )
                return {}
            return dict(specs)
        res: dict[str, SpecEntry] = {}
        for name, resource_dir in KernelSpecManager.find_kernel_specs(self).items():
            try:
                spec = KernelSpecManager.get_kernel_spec(self, name)
            except NoSuchKernel:
                continue
            except Exception:
                self.log.warning("envkernels: kernelspec %r cannot be read", name, exc_info=True)
                continue
            res[name] = {"resource_dir": resource_dir, "spec": spec.to_dict()}
        return res

    def _native_kernel_spec(self, name: str) -> KernelSpec:
        if self._wrapped is not None:
            return self._wrapped.get_kernel_spec(name)
        return KernelSpecManager.get_kernel_spec(self, name)

    # ---- the listing ---------------------------------------------------------------------------
    def server_root_dir(self) -> str | None:
        """The server's root_dir when it is searched (``search_root_dir``, inside a server), else None."""
        if not self.search_root_dir or self.base_url() is None:
            return None
        root = getattr(self.parent, "root_dir", None)
        if not isinstance(root, str) or not root:
            return None
        return os.path.realpath(os.path.expanduser(root))

    def discovery_roots(self, include_root_dir: bool = True) -> list[str]:
        """The roots walked: ``roots``, plus the server's root_dir unless ``search_root_dir`` is off."""
        roots = list(self.roots)
        root_dir = self.server_root_dir() if include_root_dir else None
        if root_dir is not None and root_dir not in roots:
            roots.append(root_dir)
        return roots

    def _prewarm_listing(self) -> None:
        """The first listing, in two steps when root_dir is searched: without it (quick), then with it."""
        try:
            if self.server_root_dir() is not None:
                with self._lock:
                    self._listing = self.build_listing(include_root_dir=False)
                self._first_listing.set()
            self.refresh()
        except Exception:  # the first request builds it on its own path instead
            self.log.warning("envkernels: building the first kernel listing failed", exc_info=True)
        finally:
            self._first_listing.set()

    def add_notebook_project(self, project: str) -> bool:
        """Search ``project`` (a notebook's, ``kernels/notebooks.py``) too; True when the listing grew.

        A project whose environments the listing already holds (the root_dir walk reached it)
        changes nothing. Otherwise it joins the searched projects (at most
        :data:`MAX_NOTEBOOK_PROJECTS`, the oldest dropped) and the listing is rebuilt now, so a
        kernel started for the notebook right after finds its environment. Blocking: call it off
        the event loop.
        """
        project = os.path.realpath(project)
        if project in self._notebook_projects:
            return False
        listing = self._listing
        known = listing.environments.values() if listing is not None else ()
        if any(e.project == project for e in (*known, *(listing.refused.values() if listing else ()))):
            return False
        with self._projects_lock:  # notebooks are noticed from several threads at once
            self._notebook_projects[project] = None
            while len(self._notebook_projects) > MAX_NOTEBOOK_PROJECTS:
                del self._notebook_projects[next(iter(self._notebook_projects))]
        before = set(listing.shown) if listing is not None else set()
        after = self.refresh()
        grew = bool(set(after.shown) - before)
        self.log.info(
            "envkernels: searching %s, the project of a notebook%s",
            project,
            "" if grew else " (no environment found in it)",
        )
        return grew

    def notebook_projects(self) -> list[str]:
        """The notebooks' projects searched beside the roots (``add_notebook_project``)."""
        with self._projects_lock:
            return list(self._notebook_projects)

    def _discover(self, include_root_dir: bool) -> list[Environment]:
        """The roots' and default places' environments, then those of the notebooks' projects.

        The projects are discovered on their own (a small walk each), not as more roots: a new
        root would change discovery's cache key and walk a large root_dir again.
        """
        envs = discover(roots=self.discovery_roots(include_root_dir), default_roots=self.default_roots)
        projects = [p for p in self.notebook_projects() if os.path.isdir(p)]
        if not projects:
            return envs
        seen = {e.prefix for e in envs}
        extra = [e for e in discover(roots=projects, default_roots=False) if e.prefix not in seen]
        return [*envs, *extra]

    def build_listing(self, include_root_dir: bool = True) -> Listing:
        """Discover and build the whole listing (blocking: call it off the event loop)."""
        envs = self._discover(include_root_dir)
        native = self.native_specs()
        try:
            hidden_names = frozenset(hidden.hidden_kernels())
        except EnvKernelsError as exc:  # an unreadable record must not take every kernel away
            self.log.error("envkernels: %s; no kernel is hidden (%s)", exc.message, exc.hint)
            hidden_names = frozenset()
        by_prefix: dict[str, str] = {}
        for name, entry in native.items():
            prefix = interpreter_prefix_of(list(entry.get("spec", {}).get("argv") or []))
            if prefix is not None:
                by_prefix.setdefault(os.path.realpath(prefix), name)
        listing = Listing(shown=dict(native), hidden=hidden_names)
        settings = self.launch_settings()
        entries: dict[Any, SpecEntry] = {}
        for env in envs:
            if not self.wanted(env):
                listing.unoffered[env.kernel_name] = self._why_not_offered(env)
                if not env.ok and env.kind not in self.hidden_kinds:
                    listing.refused[env.kernel_name] = env
                continue
            if env.kernel_name in hidden_names:
                continue
            listing.environments[env.kernel_name] = env
            twin = by_prefix.get(env.prefix)
            if twin is not None:
                # Listed once, under the name the user (or ipykernel) gave it.
                entry = dict(native[twin])
                spec = dict(entry["spec"])
                if self.upgrade_native_twins and is_plain_ipykernel(spec):
                    # A stock `ipykernel install` spec: start it as ours (activation, magics), keep its name.
                    ours = self._cached_entry(env, settings, entries)["spec"]
                    spec = {**ours, "display_name": spec.get("display_name") or ours["display_name"]}
                    listing.upgraded[twin] = env.kernel_name
                else:
                    spec["metadata"] = {**(spec.get("metadata") or {}), "envkernels": env.to_dict()}
                entry["spec"] = spec
                listing.shown[twin] = entry
                listing.native_alias[env.kernel_name] = twin
                continue
            listing.shown[env.kernel_name] = self._cached_entry(env, settings, entries)
        self._entries = entries  # only the current environments' entries are kept
        if self.allowed_kernelspecs:
            listing.shown = {k: v for k, v in listing.shown.items() if k in self.allowed_kernelspecs}
        listing.made = time.monotonic()
        return listing

    def _fresh(self) -> Listing | None:
        listing = self._listing
        if listing is not None and time.monotonic() - listing.made < self.refresh_interval:
            return listing
        return None

    def refresh(self) -> Listing:
        """Rebuild the listing now (blocking) and return it; new and removed environments show at once."""
        with self._lock:
            listing = self.build_listing()
            self._listing = listing
        return listing

    async def async_refresh(self) -> Listing:
        """Rebuild the listing in a worker thread; concurrent callers share one rebuild."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(asyncio.to_thread(self.refresh))
        return await asyncio.shield(self._inflight)

    def _refresh_in_background(self) -> None:
        """Start one rebuild in a daemon thread, unless one is already running."""
        with self._background_lock:
            if self._background is not None and self._background.is_alive():
                return
            self._background = threading.Thread(
                target=self._background_refresh, name="envkernels-refresh", daemon=True
            )
            self._background.start()

    def _background_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # the warm listing stays served; the next call tries again
            self.log.warning("envkernels: refreshing the kernel listing failed", exc_info=True)

    def _warm_listing(self) -> Listing:
        """The listing ``get_all_specs`` serves (see the module docstring: warm inside a loop)."""
        listing = self._fresh()
        if listing is not None:
            return listing
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.refresh()
        self._first_listing.wait()  # the first listing is being built: wait for it, once
        listing = self._listing
        if listing is None:
            return self.refresh()  # nothing to serve yet: the first listing is built here
        if self._fresh() is None:
            self._refresh_in_background()
        return listing

    async def async_get_all_specs(self) -> dict[str, Any]:
        """``get_all_specs()`` for callers that can wait: a stale listing is rebuilt (off the loop) first."""
        if not self._first_listing.is_set():
            await asyncio.to_thread(self._first_listing.wait)
        listing = self._fresh() or await self.async_refresh()
        return self._spec_listing(listing)

    def rest_models(self, listing: Listing, base_url: str) -> dict[str, dict[str, Any]]:
        """The ``/api/kernelspecs`` models of a listing (what jupyter_server's ``kernelspec_model`` makes).

        Each also carries ``resource_dir``, so it is a ``get_all_specs()`` entry as well.
        """
        if listing.models is None:
            from jupyter_server.utils import url_path_join

            models = {}
            for name, entry in listing.shown.items():
                files = self._resource_files(entry["resource_dir"])
                resources = {key: url_path_join(base_url, "kernelspecs", name, fname) for key, fname in files}
                # `env` and the provisioner are launch detail (GET /api/kernelspecs/{name} and every
                # launch carry them); leaving them out makes the listing ~40% smaller and faster.
                spec = {k: v for k, v in entry["spec"].items() if k != "env"}
                meta = spec.get("metadata") or {}
                if "kernel_provisioner" in meta:
                    spec["metadata"] = {k: v for k, v in meta.items() if k != "kernel_provisioner"}
                models[name] = {
                    "name": name,
                    "spec": spec,
                    "resources": resources,
                    "resource_dir": entry["resource_dir"],
                }
            listing.models = models
        return listing.models

    def _resource_files(self, resource_dir: str) -> list[tuple[str, str]]:
        """(key, file name) of a resource directory's kernel.js/kernel.css/logo-* (cached per directory)."""
        found = self._resources.get(resource_dir)
        if found is None:
            try:
                names = sorted(os.listdir(resource_dir))
            except OSError:
                names = []
            found = [(n, n) for n in names if n in ("kernel.js", "kernel.css")]
            found += [(os.path.splitext(n)[0], n) for n in names if n.startswith("logo-")]
            self._resources[resource_dir] = found
        return found

    async def get_kernel_spec_resource(self, kernel_name: str, path: str) -> bytes | None:
        """A listed kernel's ``logo-*``/``kernel.js``/``kernel.css``, from the warm listing.

        jupyter_server's ``/kernelspecs/{name}/{path}`` handler asks this first; without it each
        logo request (JupyterLab's launcher asks one per kernel) would go through
        ``get_kernel_spec``, which rebuilds the listing. Only the files ``_resource_files`` found
        in the kernel's resource directory are served; anything else gives None and the handler
        falls back to its own static file serving.
        """
        listing = self._listing
        entry = listing.shown.get(kernel_name.lower()) if listing is not None else None
        if entry is None:
            return None
        resource_dir = entry["resource_dir"]
        if path not in {fname for _, fname in self._resource_files(resource_dir)}:
            return None
        try:
            return await asyncio.to_thread(Path(resource_dir, path).read_bytes)
        except OSError:
            return None

    def _overridden(self) -> bool:
        """True when a subclass replaced ``find_kernel_specs`` or ``get_kernel_spec``.

        jupyter_client's ``get_all_specs`` then builds the listing from those two methods (as it
        does for any subclass), and so does this one, instead of serving its own listing.
        """
        cls = type(self)
        return (
            cls.find_kernel_specs is not EnvKernelSpecManager.find_kernel_specs
            or cls.get_kernel_spec is not EnvKernelSpecManager.get_kernel_spec
        )

    def get_all_specs(self) -> dict[str, Any]:
        """``{name: {"resource_dir", "spec"}}`` of every listed kernel: always a dict, never awaitable.

        Outside an event loop the listing is rebuilt when older than ``refresh_interval``; inside
        one it is served warm and rebuilt in the background (see the module docstring). Inside
        jupyter_server (with ``prebuilt_models``) each entry is also the REST model (``name``,
        ``resources``; its ``spec`` leaves out ``env`` and the provisioner), which the
        ``/api/kernelspecs`` handler passes through. The dict looks names up as
        ``get_kernel_spec`` does (:class:`SpecListing`).
        """
        if self._overridden():
            return KernelSpecManager.get_all_specs(self)
        return self._spec_listing(self._warm_listing())

    def _spec_listing(self, listing: Listing) -> SpecListing:
        base_url = self.base_url()
        if self.prebuilt_models and base_url is not None:
            entries: Mapping[str, Any] = self.rest_models(listing, base_url)
        else:
            entries = listing.shown
        return SpecListing(entries, lambda name: self._listed_name(listing, name))

    def _listed_name(self, listing: Listing, name: str) -> str:
        """The name ``listing`` shows for ``name`` (another case, a foreign envk- name), or NoSuchKernel."""
        key = name.lower()
        if key in listing.shown:
            return key
        if parse_kernel_name(key) is None:
            raise NoSuchKernel(name)
        self._refuse_unlisted(listing, key)
        env = self._resolve(listing, key)
        shown = listing.native_alias.get(env.kernel_name, env.kernel_name)
        if shown not in listing.shown:
            raise NoSuchKernel(name)
        return shown

    def find_kernel_specs(self) -> dict[str, str]:
        """Kernel names to resource directories (what ``jupyter kernelspec list`` shows), rebuilt now."""
        return {name: entry["resource_dir"] for name, entry in self.refresh().shown.items()}

    def environment_for(self, kernel_name: str) -> Environment | None:
        """The environment behind a kernel name (ours or a native twin), from the last listing."""
        listing = self._listing or self.refresh()
        name = kernel_name.lower()
        env = listing.environments.get(name)
        if env is None:
            for ours, native in listing.native_alias.items():
                if native == name:
                    return listing.environments.get(ours)
        if env is None and parse_kernel_name(name) is not None:
            try:
                return self._resolve(listing, name)
            except NoSuchKernel:
                return None
        return env

    def resolve_kernel_name(self, kernel_name: str, hint: Mapping[str, Any] | None = None) -> Environment:
        """The local environment an ``envk-`` name from another machine means (same kind and slug).

        See :func:`envkernels.kernels.resolve.resolve_kernel_name` for the rules; ``hint`` is a
        notebook's ``metadata.envkernels``. Only environments offered as kernels (not hidden, and
        allowed by ``allowed_kernelspecs``) are candidates. Raises ``NoSuchKernel`` naming the
        candidates when it is ambiguous, or saying what was looked for when nothing fits.
        """
        return self._resolve(self._listing or self.refresh(), kernel_name.lower(), hint)

    def _resolve(
        self, listing: Listing, kernel_name: str, hint: Mapping[str, Any] | None = None
    ) -> Environment:
        known = listing.resolved.get(kernel_name)
        if known is not None and hint is None:
            return listing.environments[known]
        envs = list(listing.environments.values())
        if self.allowed_kernelspecs:
            allowed = self.allowed_kernelspecs
            alias = listing.native_alias
            envs = [e for e in envs if e.kernel_name in allowed or alias.get(e.kernel_name) in allowed]
        env = resolve_kernel_name(kernel_name, envs, hint)
        if listing.resolved.get(kernel_name) != env.kernel_name:
            self.log.info(
                "envkernels: kernel %s is not on this machine; using %s (%s: %s) for it",
                kernel_name,
                env.kernel_name,
                env.kind,
                env.prefix,
            )
            listing.resolved[kernel_name] = env.kernel_name
        return env

    def _refuse_unlisted(self, listing: Listing, name: str) -> None:
        """Raise, saying why, when ``name`` is a local environment's kernel that is not offered."""
        if name in listing.hidden and name not in listing.shown:
            raise KernelNameNotResolved(
                name,
                f"No such kernel named {name}: it was removed (hidden); "
                f"`envkernels kernels unhide {name}` offers it again",
            )
        why = listing.unoffered.get(name)
        if why is not None:
            raise KernelNameNotResolved(name, f"No such kernel named {name}: {why}")

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        """The spec to start ``kernel_name`` with, from a listing rebuilt now (names match in any case).

        An environment's spec is rebuilt from its files; an ``envk-`` name from another machine
        starts the local environment of the same kind and slug; a hidden kernel's name raises
        ``NoSuchKernel`` saying how to unhide it.
        """
        name = kernel_name.lower()
        listing = self.refresh()
        env = listing.environments.get(name) or listing.refused.get(name)  # a refused one says why
        display = None
        if env is None and name in listing.upgraded:
            env = listing.environments.get(listing.upgraded[name])
            display = listing.shown[name]["spec"].get("display_name")
        if env is None:
            if name not in listing.shown:
                self._refuse_unlisted(listing, name)
            try:
                return self._native_kernel_spec(name)
            except NoSuchKernel:
                if parse_kernel_name(name) is None:
                    raise
            # An envk- name from another machine (another prefix, so another hash): the local
            # environment of the same kind and slug stands in, under the name the notebook asked for.
            env = self._resolve(listing, name)
            twin = listing.native_alias.get(env.kernel_name)
            if twin is not None and twin not in listing.upgraded:
                return self._native_kernel_spec(twin)  # a customised native spec launches as written
        # Re-read the environment: ipykernel may have been installed, the env broken, since listing.
        current = environment_from_prefix(env.prefix, kind=env.kind, name=env.name, project=env.project)
        entry = self.spec_entry(current)
        spec = {**entry["spec"], "display_name": display or entry["spec"]["display_name"]}
        return self.kernel_spec_class(resource_dir=entry["resource_dir"], **spec)

    # ---- removing -----------------------------------------------------------------------------
    def _on_disk_specs(self) -> dict[str, str]:
        """Name -> directory of the kernelspecs on disk (ours or the wrapped manager's), no native python3."""
        if self._wrapped is not None:
            saved = self._wrapped.ensure_native_kernel
            try:
                self._wrapped.ensure_native_kernel = False
                return dict(self._wrapped.find_kernel_specs())
            finally:
                self._wrapped.ensure_native_kernel = saved
        return KernelSpecManager.find_kernel_specs(self)

    def in_kernel_dirs(self, spec_dir: str) -> bool:
        """True when ``spec_dir`` sits directly in one of Jupyter's kernel directories (``kernel_dirs``).

        The spec directory's *parent* is resolved, not the directory itself: a symlinked spec
        in a kernels directory is removed as a link, never followed.
        """
        parent = os.path.realpath(os.path.dirname(os.path.abspath(spec_dir)))
        return parent in {os.path.realpath(d) for d in self.kernel_dirs}

    def remove_kernel_spec(self, name: str) -> str:
        """Remove a kernel by name, deleting only what is a kernelspec directory in Jupyter's kernel dirs.

        - a kernelspec directory in one of ``kernel_dirs`` (one ``envkernels kernels install``
          wrote, or any other, as jupyter_client removes it) is deleted, a symlink unlinked; its
          path is returned;
        - a discovered environment's kernel is *hidden* (``envkernels kernels hidden`` lists it,
          ``envkernels kernels unhide NAME`` undoes it), also after its installed kernelspec was
          deleted, so the name leaves the listing as ``remove`` promises; the path of the file
          recording it is returned (nothing was deleted);
        - anything else (a wrapped manager's spec outside the kernel dirs) is refused with an
          ``EnvKernelsError``; a name not listed raises ``NoSuchKernel`` (a ``KeyError``).

        The environment, envkernels' package (every environment kernel's resource directory is
        its logo directory) and anything outside the kernel dirs are never touched.
        """
        key = name  # exact, as jupyter_client's remove_kernel_spec looks it up (get_kernel_spec ignores case)
        saved = self.ensure_native_kernel
        try:
            self.ensure_native_kernel = False
            listing = self.refresh()
            on_disk = self._on_disk_specs()
        finally:
            self.ensure_native_kernel = saved
        if key not in listing.shown:
            raise NoSuchKernel(name)
        env = listing.environments.get(key)
        spec_dir = on_disk.get(key)
        removed: str | None = None
        if spec_dir is not None:
            if not self.in_kernel_dirs(spec_dir):
                raise UsageError(
                    f"refusing to delete `{spec_dir}`: kernel {key} is not in one of Jupyter's kernel "
                    "directories",
                    "remove it with the tool that provides it",
                )
            self.log.debug("Removing %s", spec_dir)
            if os.path.islink(spec_dir):
                os.remove(spec_dir)
            else:
                shutil.rmtree(spec_dir)
            removed = spec_dir
        elif env is None:
            raise UsageError(
                f"kernel {key} is provided by `{listing.shown[key]['resource_dir']}`, not a kernelspec "
                "directory; nothing is deleted",
                "remove it with the tool that provides it",
            )
        if env is not None:
            record = hidden.hide(env)
            self.log.info(
                "envkernels: kernel %s (%s: %s) is hidden, nothing of the environment was touched; "
                "`envkernels kernels unhide %s` offers it again",
                key,
                env.kind,
                env.prefix,
                key,
            )
            removed = removed or str(record)
        self.refresh()
        assert removed is not None
        return removed
