"""``EnvKernelSpecManager``: the native kernelspecs plus one kernelspec per discovered environment.

Switched on by ``jupyter-config/jupyter_server_config.d/envkernels.json``
(``ServerApp.kernel_spec_manager_class``). How it serves:

- **Listing never blocks the event loop.** Inside a running loop (jupyter_server's handler
  awaits ``get_all_specs()`` through ``ensure_async``), a listing older than ``refresh_interval``
  is rebuilt in a worker thread (discovery + spec building), one rebuild shared by all concurrent
  requests; a fresh one is served from memory. Outside a loop, ``get_all_specs()`` is plain sync.
- **New environments appear without a restart**: discovery is asked again after
  ``refresh_interval`` seconds; ``refresh()`` (or ``await async_refresh()``) forces it at once
  (the REST ``POST environments/refresh`` calls it).
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
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from traitlets import Bool, Enum, Float, List, Type, Unicode, default

from envkernels.discovery import discover, environment_from_prefix
from envkernels.kernels import paths
from envkernels.kernels.activation import activation_for
from envkernels.kernels.resolve import parse_kernel_name, resolve_kernel_name
from envkernels.kernels.spec import (
    DEFAULT_DISPLAY_FORMAT,
    PROVISIONER_NAME,
    LaunchSettings,
    build_spec,
    interpreter_prefix_of,
    is_plain_ipykernel,
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
    made: float = 0.0
    models: dict[str, dict[str, Any]] | None = None  # REST models, built on first use (see rest_models)


def provisioner_installed() -> bool:
    """True when the ``envkernels-provisioner`` entry point is registered (envkernels is installed)."""
    return any(ep.name == PROVISIONER_NAME for ep in entry_points(group="jupyter_client.kernel_provisioners"))


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
        True,
        config=True,
        help="List broken environments (their kernel refuses to start with the problem and the fix).",
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
    upgrade_native_twins = Bool(
        True,
        config=True,
        help="An environment's own stock ipykernel kernelspec (`python -m ipykernel_launcher -f ...`, no env "
        "block) is started the envkernels way (activation, magics) under its own name and display name.",
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

    @default("overlay_root")
    def _overlay_root_default(self) -> str:
        return str(paths.overlay_root())

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing: Listing | None = None
        self._entries: dict[tuple[Environment, LaunchSettings], SpecEntry] = {}
        self._resources: dict[str, list[tuple[str, str]]] = {}
        self._lock = threading.Lock()
        self._inflight: asyncio.Future[Listing] | None = None
        self._wrapped: KernelSpecManager | None = None
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
        self._prewarm: threading.Thread | None = None
        if self.prewarm and self.base_url() is not None:
            self._prewarm = threading.Thread(target=self.refresh, name="envkernels-prewarm", daemon=True)
            self._prewarm.start()

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
    def build_listing(self) -> Listing:
        """Discover and build the whole listing (blocking: call it off the event loop)."""
        envs = discover(roots=list(self.roots), default_roots=self.default_roots)
        native = self.native_specs()
        by_prefix: dict[str, str] = {}
        for name, entry in native.items():
            prefix = interpreter_prefix_of(list(entry.get("spec", {}).get("argv") or []))
            if prefix is not None:
                by_prefix.setdefault(os.path.realpath(prefix), name)
        listing = Listing(shown=dict(native))
        settings = self.launch_settings()
        entries: dict[Any, SpecEntry] = {}
        for env in envs:
            if not self.wanted(env):
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

    async def async_get_all_specs(self) -> dict[str, Any]:
        """The listing for the event loop: from memory when fresh, else rebuilt off the loop.

        Inside jupyter_server (and with ``prebuilt_models``) the values are the REST models
        ``{"name", "spec", "resources"}`` that its handler passes through unchanged.
        """
        if self._prewarm is not None and self._prewarm.is_alive():
            await asyncio.to_thread(self._prewarm.join)
        listing = self._fresh() or await self.async_refresh()
        base_url = self.base_url()
        if self.prebuilt_models and base_url is not None:
            return dict(self.rest_models(listing, base_url))
        return dict(listing.shown)

    def rest_models(self, listing: Listing, base_url: str) -> dict[str, dict[str, Any]]:
        """The ``/api/kernelspecs`` models of a listing (what jupyter_server's ``kernelspec_model`` makes)."""
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
                models[name] = {"name": name, "spec": spec, "resources": resources}
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

    def get_all_specs(self) -> Any:
        """``{name: {"resource_dir", "spec"}}``; inside a running event loop, an awaitable of it.

        jupyter_server awaits the result through ``ensure_async`` (as it does for its gateway
        manager), so discovery never runs on the loop; sync callers outside a loop get the dict.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return dict((self._fresh() or self.refresh()).shown)
        return self.async_get_all_specs()

    def find_kernel_specs(self) -> dict[str, str]:
        """Kernel names to resource directories (what ``jupyter kernelspec list`` shows)."""
        listing = self._listing or self.refresh()
        return {name: entry["resource_dir"] for name, entry in listing.shown.items()}

    def environment_for(self, kernel_name: str) -> Environment | None:
        """The environment behind a kernel name (ours or a native twin), from the last listing."""
        listing = self._listing or self.refresh()
        env = listing.environments.get(kernel_name)
        if env is None:
            for ours, native in listing.native_alias.items():
                if native == kernel_name:
                    return listing.environments.get(ours)
        if env is None and parse_kernel_name(kernel_name) is not None:
            try:
                return self.resolve_kernel_name(kernel_name)
            except NoSuchKernel:
                return None
        return env

    def resolve_kernel_name(self, kernel_name: str, hint: Mapping[str, Any] | None = None) -> Environment:
        """The local environment an ``envk-`` name from another machine means (same kind and slug).

        See :func:`envkernels.kernels.resolve.resolve_kernel_name` for the rules; ``hint`` is a
        notebook's ``metadata.envkernels``. Only environments offered as kernels (and allowed by
        ``allowed_kernelspecs``) are candidates. Raises ``NoSuchKernel`` naming the candidates when
        it is ambiguous, or saying what was looked for when nothing fits.
        """
        listing = self._listing or self.refresh()
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

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        """The spec to start ``kernel_name`` with; an environment's spec is rebuilt from its files now."""
        listing = self._listing
        if listing is None or (
            kernel_name.startswith("envk-")
            and kernel_name not in listing.environments
            and kernel_name not in listing.resolved
        ):
            listing = self.refresh()  # a new environment since the last listing
        env = listing.environments.get(kernel_name)
        display = None
        if env is None and kernel_name in listing.upgraded:
            env = listing.environments.get(listing.upgraded[kernel_name])
            display = listing.shown[kernel_name]["spec"].get("display_name")
        if env is None:
            try:
                return self._native_kernel_spec(kernel_name)
            except NoSuchKernel:
                if parse_kernel_name(kernel_name) is None:
                    raise
            # An envk- name from another machine (another prefix, so another hash): the local
            # environment of the same kind and slug stands in, under the name the notebook asked for.
            env = self.resolve_kernel_name(kernel_name)
            twin = listing.native_alias.get(env.kernel_name)
            if twin is not None and twin not in listing.upgraded:
                return self._native_kernel_spec(twin)  # a customised native spec launches as written
        # Re-read the environment: ipykernel may have been installed, the env broken, since listing.
        current = environment_from_prefix(env.prefix, kind=env.kind, name=env.name, project=env.project)
        entry = self.spec_entry(current)
        spec = {**entry["spec"], "display_name": display or entry["spec"]["display_name"]}
        return self.kernel_spec_class(resource_dir=entry["resource_dir"], **spec)
