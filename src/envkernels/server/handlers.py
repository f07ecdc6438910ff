"""The REST handlers under ``<base_url>envkernels/api/``: thin, authenticated, authorized.

Each method carries ``@web.authenticated`` and ``@authorized`` (resource ``envkernels``), reads
its arguments, runs the blocking engine call in a worker thread (heavy work on a bounded pool,
listing apart: see :mod:`envkernels.server.work`), and writes the JSON the service built. Engine
errors become ``{"message", "hint", "reason"}`` with 400/403/404/409/413; a full backlog is 503.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from envkernels.errors import ConflictError, EnvKernelsError, UsageError
from envkernels.limits import current as current_limits
from envkernels.limits import too_large
from envkernels.server.http_errors import ApiError, api_error, error_body
from envkernels.server.service import EnvironmentService
from envkernels.server.work import Busy, WorkPools

AUTH_RESOURCE = "envkernels"
API = "envkernels/api"
ENV_ID = r"(?P<env_id>[^/]+)"

T = TypeVar("T")


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on", "")


class EnvKernelsHandler(ExtensionHandlerMixin, APIHandler):
    """Base: error bodies, the JSON body reader, and engine calls off the event loop."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> EnvironmentService:
        """The service the extension app built from its traits."""
        return self.extensionapp.service  # type: ignore[attr-defined]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error is ``{"message", "hint", "reason"}``; never a traceback."""
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        self.set_header("Content-Type", "application/json")
        body = error_body(status_code, exc)
        self.log.warning(
            "envkernels: %s %s -> %s %s", self.request.method, self.request.path, status_code, body["message"]
        )
        self.finish(json.dumps(body))

    @property
    def pools(self) -> WorkPools:
        """The extension's thread pools (heavy work bounded, light work apart)."""
        return self.extensionapp.pools  # type: ignore[attr-defined]

    async def engine(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a slow engine call (audit, check, lock, sync, tree, diff) on the bounded heavy pool.

        Its errors become HTTP errors; a full backlog is 503 at once.
        """
        user = self.jupyter_user()

        def as_user() -> T:
            from envkernels.sync.history import acting

            with acting(user, "rest"):  # a change is recorded as made by the Jupyter user
                return func(*args, **kwargs)

        try:
            return await self.pools.heavy(as_user)
        except Busy as exc:
            raise ApiError(
                503,
                f"the server is busy: {exc}",
                "try again in a moment; an administrator can raise "
                "`c.EnvKernelsApp.heavy_workers` / `heavy_queue`",
                "busy",
            ) from exc
        except EnvKernelsError as exc:
            raise api_error(exc) from exc

    def jupyter_user(self) -> str | None:
        """The name jupyter_server's identity provider gives the requesting user (None if it has none)."""
        user = self.current_user
        name = getattr(user, "username", None) or getattr(user, "name", None)
        return name if isinstance(name, str) and name else None

    async def quick(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a quick engine call (listing, one record) on the light pool, apart from heavy work."""
        try:
            return await self.pools.light(func, *args, **kwargs)
        except EnvKernelsError as exc:
            raise api_error(exc) from exc
        except OSError as exc:
            # A file the request named cannot be read or written (as the CLI says, never a 500).
            where = f" `{os.path.basename(os.fsdecode(exc.filename))}`" if exc.filename else ""
            raise ApiError(
                400,
                f"{exc.strerror or type(exc).__name__}{where}",
                "check the path and its permissions",
                "os-error",
            ) from exc

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (400 when it is not one, 413 when too large; empty is ``{}``)."""
        raw = self.request.body
        limit = current_limits().request
        if raw and len(raw) > limit:
            exc = too_large("the request body", len(raw), limit, "`c.EnvKernelsApp.max_request_bytes`")
            raise api_error(exc)
        if not raw or not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except RecursionError as exc:
            raise ApiError(
                400,
                "the request body is nested too deeply",
                'send a flat JSON object, e.g. {"path": "pylock.toml"}',
                "bad-json",
            ) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(
                400,
                f"the request body is not valid JSON: {exc}",
                'send a JSON object, e.g. {"path": "pylock.toml"}',
                "bad-json",
            ) from exc
        if not isinstance(data, dict):
            raise ApiError(
                400,
                "the request body must be a JSON object",
                'send a JSON object, e.g. {"path": "pylock.toml"}',
                "bad-json",
            )
        return data

    async def records(self, envs: list[Any]) -> list[dict[str, Any]]:
        """Environment records with the server's kept verdict (``verdict``, ``verdict_at``,
        ``verdict_stale``); stale ones are queued for a background re-check."""
        records = [self.service.record(e) for e in envs]
        await self.pools.light(self.extensionapp.stale_verdicts, records)  # type: ignore[attr-defined]
        return records

    def keep_verdict(self, env_id: str, what: str, report: dict[str, Any]) -> None:
        """Remember a check's or audit's verdict (a small atomic file write)."""
        prefix = str(report.get("environment", {}).get("prefix", ""))
        self.extensionapp.verdicts.record(env_id, prefix, what, report)  # type: ignore[attr-defined]

    def send(self, data: Any, status: int = 200) -> None:
        """Write ``data`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


def _bool_field(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise api_error(UsageError(f"`{key}` must be true or false", hint=f'send e.g. {{"{key}": true}}'))
    return value


class EnvironmentsHandler(EnvKernelsHandler):
    """``GET environments``: every record."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        envs = await self.quick(self.service.environments)
        self.send(await self.records(envs))


class RefreshHandler(EnvKernelsHandler):
    """``POST environments/refresh``: rescan now, and have the kernelspec listing follow."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        envs = await self.quick(self.service.environments, fresh=True)
        ksm = self.serverapp.kernel_spec_manager
        refresh = getattr(ksm, "async_refresh", None)
        if refresh is not None:
            await refresh()
        self.send(await self.records(envs))


class EnvironmentHandler(EnvKernelsHandler):
    """``GET environments/{id}``: one record."""

    @web.authenticated
    @authorized
    async def get(self, env_id: str) -> None:
        env = await self.quick(self.service.environment, env_id)
        self.send((await self.records([env]))[0])


class CheckHandler(EnvKernelsHandler):
    """``GET environments/{id}/check[?lock=PATH][&notebook=PATH]``: the check's report."""

    @web.authenticated
    @authorized
    async def get(self, env_id: str) -> None:
        lock = self.get_query_argument("lock", None)
        notebook = self.get_query_argument("notebook", None)
        report = await self.engine(self.service.check, env_id, lock=lock, notebook=notebook)
        if lock is None and notebook is None:  # the environment's own verdict, not a notebook's or a lock's
            await self.pools.light(self.keep_verdict, env_id, "check", report)
        self.send(report)


class AuditHandler(EnvKernelsHandler):
    """``GET environments/{id}/audit[?licenses=1]``: vulnerabilities (and licenses)."""

    @web.authenticated
    @authorized
    async def get(self, env_id: str) -> None:
        raw = self.get_query_argument("licenses", None)
        licenses = None if raw is None else _flag(raw)
        report = await self.engine(self.service.audit, env_id, licenses=licenses)
        await self.pools.light(self.keep_verdict, env_id, "audit", report)
        self.send(report)


class LockHandler(EnvKernelsHandler):
    """``POST environments/{id}/lock`` with ``{"path", "notebook"?, "hashes"?}``: write a pylock.toml."""

    @web.authenticated
    @authorized
    async def post(self, env_id: str) -> None:
        body = self.json_body()
        hashes = _bool_field(body, "hashes", True)
        self.send(
            await self.engine(
                self.service.lock, env_id, body.get("path"), notebook=body.get("notebook"), hashes=hashes
            )
        )


class SyncHandler(EnvKernelsHandler):
    """``POST environments/{id}/sync`` with ``{"lock", "dry_run"}``: the plan, or the plan carried out.

    ``dry_run`` defaults to true, so a bare request never changes an environment. One sync at a
    time per environment: a second one while the first runs is 409.
    """

    @web.authenticated
    @authorized
    async def post(self, env_id: str) -> None:
        body = self.json_body()
        dry_run = _bool_field(body, "dry_run", True)
        if "lock" not in body:
            raise api_error(
                UsageError("`lock` is required", hint='send e.g. {"lock": "pylock.toml", "dry_run": true}')
            )
        app = self.extensionapp
        if not dry_run and not app.allow_sync:  # type: ignore[attr-defined]
            raise ApiError(
                403,
                "this server does not allow changing environments",
                "an administrator can set `c.EnvKernelsApp.allow_sync = True`",
                "sync-disabled",
            )
        running: set[str] = app.syncs_running  # type: ignore[attr-defined]
        if not dry_run:
            if env_id in running:
                raise api_error(
                    ConflictError(
                        f"a sync of `{env_id}` is already running",
                        hint="wait for it to finish, then try again",
                    )
                )
            running.add(env_id)
        try:
            self.send(await self.engine(self.service.sync, env_id, body["lock"], dry_run=dry_run))
        finally:
            if not dry_run:
                running.discard(env_id)


class ForkHandler(EnvKernelsHandler):
    """``POST environments/{id}/fork`` with ``{"dest"?}``: a personal copy from the environment's lock.

    The new environment is registered as a kernel and the kernel listing is refreshed at once.
    """

    @web.authenticated
    @authorized
    async def post(self, env_id: str) -> None:
        body = self.json_body()
        if not self.service.config.allow_fork:
            raise ApiError(
                403,
                "this server does not allow forking environments",
                "an administrator can set `c.EnvKernelsApp.allow_fork = True`",
                "fork-disabled",
            )
        dest = body.get("dest")
        result = await self.engine(self.service.fork, env_id, dest)
        refresh = getattr(self.serverapp.kernel_spec_manager, "async_refresh", None)
        if refresh is not None:
            await refresh()
        self.send(result, status=201)


class TreeHandler(EnvKernelsHandler):
    """``GET environments/{id}/tree[?why=NAME]``: what pulls in what; why NAME is installed."""

    @web.authenticated
    @authorized
    async def get(self, env_id: str) -> None:
        why = self.get_query_argument("why", None)
        self.send(await self.engine(self.service.tree, env_id, why=why))


class DiffHandler(EnvKernelsHandler):
    """``GET environments/{id}/diff?other=ID`` or ``?lock=PATH``: side-by-side package versions."""

    @web.authenticated
    @authorized
    async def get(self, env_id: str) -> None:
        other = self.get_query_argument("other", None)
        lock = self.get_query_argument("lock", None)
        self.send(await self.engine(self.service.diff, env_id, other=other, lock=lock))


class HistoryHandler(EnvKernelsHandler):
    """``GET history[?env=ID]``: the audit trail (sync, fork, cleanup, locks written), oldest first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        env_id = self.get_query_argument("env", None)
        self.send(await self.engine(self.service.history, env_id))


class NotFoundHandler(EnvKernelsHandler):
    """Anything else under the API prefix: a JSON 404 rather than the server's HTML page."""

    @web.authenticated
    @authorized
    async def get(self, rest: str) -> None:
        raise ApiError(404, f"no envkernels endpoint `{rest}`", _ROUTES_HINT, "not-found")

    post = get


_ROUTES_HINT = "the endpoints are listed in the envkernels REST API documentation (docs/ui.md)"


def routes() -> list[tuple[str, type[EnvKernelsHandler]]]:
    """The URL patterns (relative: the extension app joins them onto base_url) and their handlers."""
    env = f"{API}/environments/{ENV_ID}"
    return [
        (rf"{API}/environments/?", EnvironmentsHandler),
        (rf"{API}/environments/refresh/?", RefreshHandler),
        (rf"{env}/?", EnvironmentHandler),
        (rf"{env}/check/?", CheckHandler),
        (rf"{env}/audit/?", AuditHandler),
        (rf"{env}/lock/?", LockHandler),
        (rf"{env}/sync/?", SyncHandler),
        (rf"{env}/fork/?", ForkHandler),
        (rf"{env}/tree/?", TreeHandler),
        (rf"{env}/diff/?", DiffHandler),
        (rf"{API}/history/?", HistoryHandler),
        (rf"{API}/(?P<rest>.*)", NotFoundHandler),
    ]
