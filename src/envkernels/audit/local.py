"""The advisories a check may read without the network, for its advice (``inspect/advice.py``).

The check asks no advisory source, but the audit may have left data on this machine: the local
OSV database its configuration names (``db`` in ``[tool.envkernels.audit]``, the server's
``audit_db``, ``$ENVKERNELS_AUDIT_DB``), else the OSV API answers it cached (``<cache>/osv-api/``,
for the configured or default API URL, within their cache time). :func:`local_advisories` hands
that data to the check as an :class:`~envkernels.inspect.advice.LocalAdvisories`, so a hint never
advises a release it names vulnerable. Nothing here opens a connection: the API source runs
``offline`` (a question its cache cannot answer is "not known vulnerable", the check vets nothing).

Only what choosing the source needs is imported here; the sources and the matcher are imported
when the advice first asks about a release (a check without a conflict never does).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from envkernels.errors import EnvKernelsError

if TYPE_CHECKING:
    from collections.abc import Callable

    from envkernels.audit.policy import AuditConfig
    from envkernels.audit.sources.interface import AdvisorySource
    from envkernels.inspect.advice import LocalAdvisories

_MEMO: dict[tuple[object, ...], LocalAdvisories | None] = {}


def local_advisories(project: str | None, config: AuditConfig | None = None) -> LocalAdvisories | None:
    """The audit's advisories on this machine for ``project``, or None when there are none to read.

    ``config``: the server's audit configuration (it chooses the source, as for the audit).
    Memoized per project file and cache state (the kernel's warm ``%envcheck`` asks every time).
    """
    from envkernels.cachedir import cache_root

    pyproject = os.path.join(project, "pyproject.toml") if project else None
    root = cache_root()  # once: it reads the environment and expands `~` (a warm check asks every time)
    key = (
        project,
        config,
        _stat(pyproject) if pyproject else None,
        os.environ.get("ENVKERNELS_AUDIT_DB"),
        os.environ.get("ENVKERNELS_OSV_API_URL"),
        root,
        _api_caches(os.path.join(root, "osv-api")),
    )
    if key in _MEMO:
        return _MEMO[key]
    found = _choose(project, config)
    if len(_MEMO) > 256:
        _MEMO.clear()
    _MEMO[key] = found
    return found


def choice_paths() -> list[str]:
    """What, besides a project's pyproject.toml and the environment, decides :func:`local_advisories`.

    The OSV API caches (an audit through the API leaves one): a cache of verdicts made without
    advisories is stale once one appears (the CLI's stored verdicts stamp these).
    """
    from envkernels.cachedir import cache_root

    root = os.path.join(cache_root(), "osv-api")
    paths = [root]
    try:
        with os.scandir(root) as it:
            paths += [os.path.join(e.path, "queries.json") for e in it]
    except OSError:
        pass
    return paths


def _api_caches(root: str) -> tuple[tuple[str, tuple[int, int, int] | None], ...]:
    """Each cached API's ``queries.json`` stamp: an audit caching answers changes the choice."""
    try:
        with os.scandir(root) as it:
            return tuple(sorted((e.name, _stat(os.path.join(e.path, "queries.json"))) for e in it))
    except OSError:
        return ()


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _choose(project: str | None, config: AuditConfig | None) -> LocalAdvisories | None:
    from envkernels.audit.policy import DEFAULT_API_URL, DEFAULT_CACHE_TTL, combine, read_project_config
    from envkernels.inspect.advice import LocalAdvisories

    try:
        cfg, _notes = combine(config, read_project_config(project))
    except EnvKernelsError:
        return None  # an unreadable audit table is the audit's error to report, not the check's
    if cfg.db:
        db = os.path.expanduser(cfg.db)
        if not os.path.exists(db):
            return None

        def local() -> AdvisorySource:
            from envkernels.audit.sources.osv_local import OsvLocalSource

            return OsvLocalSource(db)

        paths = (db, os.path.join(db, "vulns"))  # what the audit's local index watches, too
        return LocalAdvisories(_lazy(local), f"osv-db:{os.path.realpath(db)}", paths)
    from pathlib import Path

    from envkernels.audit.sources.api_cache import ApiCache
    from envkernels.cachedir import cache_dir

    url = (cfg.api_url or DEFAULT_API_URL).rstrip("/")
    ttl = cfg.cache_ttl if cfg.cache_ttl is not None else DEFAULT_CACHE_TTL
    cache = ApiCache(cache_dir(), url, ttl)
    queries = Path(cache.dir) / "queries.json"
    if ttl <= 0 or not queries.is_file():
        return None

    def cached() -> AdvisorySource:
        from envkernels.audit.sources.osv_api import OsvApiSource

        return OsvApiSource(url, cache_ttl=ttl, offline=True)

    paths = (str(queries), str(Path(cache.dir) / "vuln"))
    return LocalAdvisories(_lazy(cached), f"osv-api-cache:{url}", paths)


def _lazy(make: Callable[[], AdvisorySource]) -> Callable[[str, str], bool]:
    """``vulnerable(name, version)`` over the source ``make()`` builds on the first question.

    A release the data cannot vet (the source could not answer for it) is not known vulnerable:
    False. The audit's own oracle raises instead; the check vets nothing, it only avoids.
    """
    oracle = None

    def vulnerable(name: str, version: str) -> bool:
        nonlocal oracle
        from envkernels.inspect.advice import Unvetted

        try:
            if oracle is None:
                from envkernels.audit.run import vulnerability_oracle

                oracle = vulnerability_oracle(make())
            return bool(oracle(name, version))
        except (Unvetted, EnvKernelsError, OSError):
            return False

    return vulnerable
