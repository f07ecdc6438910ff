"""What an audit is told: where advisories come from and which licenses are allowed.

Two places configure it:

- a project's ``pyproject.toml``, table ``[tool.envkernels.audit]``::

      db = "../advisory-database/vulns"   # a local OSV database (relative to the project)
      api-url = "https://api.osv.dev"      # else this OSV API (the default)
      cache-ttl = 3600                     # seconds the API's answers are kept
      timeout = 10                         # seconds per API request
      allow = ["MIT", "BSD-3-Clause", "Apache-2.0"]
      deny = ["GPL-3.0-only", "AGPL-3.0-only"]
      fail-on-unknown = true

- the server (or any caller): an :class:`AuditConfig` with the same fields, which the Jupyter
  server extension fills from its traitlets.

Who decides depends on who runs the audit:

- **the server** (``AuditConfig(authoritative=True)``, what the Jupyter extension passes): its
  configuration wins. A project may narrow it (deny more licenses, allow fewer, fail on unknown
  ones, a shorter timeout or cache time), never widen it, choose where advisories come from (its
  ``db`` and ``api-url`` are not used) or lengthen a timeout. Every setting of the project that
  was not honoured is returned as a note, which the audit reports as a ``config-ignored`` finding.
- **the user** (the CLI and the magics, ``authoritative=False``): the project is the user's own,
  so its ``db``/``api-url`` choose the source: an explicit argument wins, else the first of the
  project, the caller's config and ``$ENVKERNELS_AUDIT_DB``/``$ENVKERNELS_OSV_API_URL`` that names
  one, else the public OSV API. The report's ``advisory_source`` names what answered.

The license policy is the stricter of the two either way: deny lists add up, allow lists
intersect, ``fail-on-unknown`` holds if either says so.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from envkernels.errors import BadInputError

DEFAULT_API_URL = "https://api.osv.dev"  # the public OSV API
DEFAULT_TIMEOUT = 10.0  # seconds per API request
DEFAULT_CACHE_TTL = 3600.0  # seconds an API answer is kept
DEFAULT_DEADLINE = 30.0  # seconds the whole audit may take
_KEYS = ("db", "api-url", "cache-ttl", "timeout", "allow", "deny", "fail-on-unknown")
_TABLE = "[tool.envkernels.audit]"


@dataclass(frozen=True)
class LicensePolicy:
    """Allowed and denied SPDX license ids (canonical), and whether an unknown license fails."""

    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    fail_on_unknown: bool = False


@dataclass(frozen=True)
class AuditConfig:
    """Audit settings from one place (a project's pyproject.toml, or the server's traitlets).

    ``None`` means "not said here"; :func:`merge` combines a server's and a project's.
    """

    db: str | None = None
    api_url: str | None = None
    cache_ttl: float | None = None
    timeout: float | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    fail_on_unknown: bool | None = None
    deadline: float | None = None  # seconds the whole audit may take (None: DEFAULT_DEADLINE)
    authoritative: bool = False  # a server's: a project may narrow it, never widen or redirect it
    origin: str | None = None  # the file these settings were read from (named in notes)

    def license_policy(self) -> LicensePolicy:
        """The license policy these settings describe, ids in canonical SPDX form."""
        return LicensePolicy(
            allow=frozenset(canonical_ids(self.allow, "allow")),
            deny=frozenset(canonical_ids(self.deny, "deny")),
            fail_on_unknown=bool(self.fail_on_unknown),
        )


def canonical_ids(entries: tuple[str, ...] | list[str], key: str) -> list[str]:
    """SPDX-canonical forms of policy entries; BadInputError naming an entry that is not SPDX."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    out: list[str] = []
    for entry in entries:
        try:
            out.append(canonicalize_license_expression(entry))
        except InvalidLicenseExpression as exc:
            raise BadInputError(
                f"`{entry}` in `{key}` of {_TABLE} is not an SPDX license identifier",
                hint="use SPDX ids such as `MIT`, `Apache-2.0`, `GPL-3.0-only` (https://spdx.org/licenses/)",
            ) from exc
    return out


def _str_list(value: Any, key: str, where: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInputError(
            f"`{key}` in {_TABLE} of `{where}` must be a list of strings",
            hint=f'for example `{key} = ["MIT", "Apache-2.0"]`',
        )
    return tuple(value)


def _number(value: Any, key: str, where: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadInputError(
            f"`{key}` in {_TABLE} of `{where}` must be a number of seconds (0 or more)",
            hint=f"for example `{key} = 3600`",
        )
    return float(value)


def _toml_check(path: Path) -> str:
    """A command that parses ``path`` with the standard library's TOML reader and shows its error."""
    code = 'import sys, tomllib; tomllib.load(open(sys.argv[1], "rb"))'
    return f"python3 -c {shlex.quote(code)} {shlex.quote(str(path))}"


def read_project_config(project: str | os.PathLike[str] | None) -> AuditConfig:
    """The ``[tool.envkernels.audit]`` settings of ``project`` (a directory or its pyproject.toml)."""
    if project is None:
        return AuditConfig()
    path = Path(project)
    if path.is_dir():
        path = path / "pyproject.toml"
    if not path.is_file():
        return AuditConfig()
    from envkernels._toml import tomllib
    from envkernels.limits import read_limited

    try:
        data = tomllib.loads(read_limited(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(
            f"`{path}` cannot be read as TOML: {exc}",
            hint=f"fix the TOML where the error says (on Python 3.11+ `{_toml_check(path)}` shows it again)",
        ) from exc
    table = data.get("tool", {}).get("envkernels", {}).get("audit", {})
    if not isinstance(table, dict):
        raise BadInputError(f"{_TABLE} in `{path}` is not a table", hint=f"write it as `{_TABLE}` with keys")
    settings: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key not in _KEYS:
            raise BadInputError(
                f"unknown key `{raw_key}` in {_TABLE} of `{path}`", hint=f"the keys are: {', '.join(_KEYS)}"
            )
        if key == "db":
            if not isinstance(value, str):
                raise BadInputError(f"`db` in {_TABLE} of `{path}` must be a path", hint='`db = "osv/vulns"`')
            settings["db"] = str((path.parent / value).resolve()) if not os.path.isabs(value) else value
        elif key == "api-url":
            if not isinstance(value, str):
                raise BadInputError(
                    f"`api-url` in {_TABLE} of `{path}` must be a URL",
                    hint='`api-url = "https://api.osv.dev"`',
                )
            settings["api_url"] = value
        elif key in ("cache-ttl", "timeout"):
            settings[key.replace("-", "_")] = _number(value, key, path)
        elif key in ("allow", "deny"):
            settings[key] = _str_list(value, key, path)
        else:
            if not isinstance(value, bool):
                raise BadInputError(
                    f"`fail-on-unknown` in {_TABLE} of `{path}` must be true or false",
                    hint="`fail-on-unknown = true`",
                )
            settings["fail_on_unknown"] = value
    config = AuditConfig(**settings, origin=str(path))
    config.license_policy()  # validate the ids now, naming the file's entries
    return config


def combine(server: AuditConfig | None, project: AuditConfig | None) -> tuple[AuditConfig, list[str]]:
    """The configuration an audit uses, and a note for each project setting that was not honoured.

    With an authoritative ``server`` the project only narrows (see the module docstring).
    """
    server = server or AuditConfig()
    project = project or AuditConfig()
    notes: list[str] = []
    where = f"`{project.origin}`" if project.origin else "the project"
    allow: tuple[str, ...]
    cache_ttl: float | None
    timeout: float | None
    if server.allow and project.allow:
        server_allow = set(canonical_ids(server.allow, "allow"))
        wanted = canonical_ids(project.allow, "allow")
        allow = tuple(a for a in wanted if a in server_allow)
        widened = [a for a in wanted if a not in server_allow]
        if widened and server.authoritative:
            notes.append(
                f"{_TABLE} of {where} allows {', '.join(f'`{a}`' for a in widened)}, which the server's "
                "license policy does not allow: still not allowed"
            )
        allow = allow or ("LicenseRef-envkernels-nothing-allowed",)  # disjoint lists allow nothing
    else:
        allow = project.allow or server.allow
    if server.authoritative and server.fail_on_unknown and project.fail_on_unknown is False:
        notes.append(
            f"`fail-on-unknown = false` in {where} is not used: the server fails on unknown licenses"
        )
    env_layer = AuditConfig(
        db=os.environ.get("ENVKERNELS_AUDIT_DB") or None,
        api_url=os.environ.get("ENVKERNELS_OSV_API_URL") or None,
    )
    if server.authoritative:
        # Where advisories come from, and how long the server waits, are the administrator's call:
        # a cloned repository must not send the package list elsewhere or point at another database.
        for key, value in (("db", project.db), ("api-url", project.api_url)):
            if value:
                notes.append(
                    f"`{key}` in {_TABLE} of {where} is not used: on this server the administrator "
                    "chooses where advisories come from"
                )
        chooser = next((c for c in (server, env_layer) if c.db or c.api_url), AuditConfig())
        ttl = server.cache_ttl if server.cache_ttl is not None else DEFAULT_CACHE_TTL
        cache_ttl = _narrowed(ttl, project.cache_ttl, "cache-ttl", where, notes)
        wait = server.timeout if server.timeout is not None else DEFAULT_TIMEOUT
        timeout = _narrowed(wait, project.timeout, "timeout", where, notes)
    else:
        chooser = next((c for c in (project, server, env_layer) if c.db or c.api_url), AuditConfig())
        cache_ttl = project.cache_ttl if project.cache_ttl is not None else server.cache_ttl
        timeout = project.timeout if project.timeout is not None else server.timeout
    merged = replace(
        server,
        db=chooser.db,
        api_url=chooser.api_url,
        cache_ttl=cache_ttl,
        timeout=timeout,
        allow=allow,
        deny=tuple(dict.fromkeys((*server.deny, *project.deny))),
        fail_on_unknown=bool(server.fail_on_unknown) or bool(project.fail_on_unknown),
        origin=None,
    )
    return merged, notes


def _narrowed(server: float, project: float | None, key: str, where: str, notes: list[str]) -> float:
    """A number a project may lower but not raise (a server's timeout or cache time)."""
    if project is None or project <= server:
        return server if project is None else project
    notes.append(
        f"`{key} = {project:g}` in {_TABLE} of {where} is above the server's {server:g}: {server:g} is used"
    )
    return server
