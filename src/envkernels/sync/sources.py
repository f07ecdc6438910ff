"""Where each package of a sync comes from, and what the server's policy allows (pure).

A plain index download is a pinned, named release fetched from the package index. Everything
else is named in the plan, marked, because it can run or fetch more than a pinned release does:

* ``editable`` / ``directory``: a local directory, built (its ``setup.py`` / build backend runs);
* ``vcs``: a repository cloned and built;
* ``url``: an archive from a URL (or a local file) instead of the index;
* ``build``: a release the lock offers only as a source distribution for this environment, which
  must be built;
* ``index``: for a pylock.toml handed to uv as it is, the origin its files are downloaded from
  (uv fetches the lock's URLs, not the configured index).

The CLI applies such a lock only with ``--allow-direct-sources``; the REST API refuses it unless
the administrator set ``c.EnvKernelsApp.allow_direct_sources`` (and ``allow_builds`` for builds),
and refuses files from any origin other than the server's own index.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from envkernels.errors import EnvKernelsError
from envkernels.lockfiles.model import Lock, LockedPackage

DIRECT_KINDS = frozenset({"editable", "directory", "vcs", "url"})
PYPI_FILES = "https://files.pythonhosted.org"


class SourcesNotAllowedError(EnvKernelsError):
    """The lock needs sources the caller's policy does not allow (CLI exit 2, HTTP 403)."""


@dataclass(frozen=True)
class PackageSource:
    """One package that is not a plain index download: ``kind`` and where it comes from."""

    name: str
    kind: str
    where: str

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "kind", "where"}``."""
        return {"name": self.name, "kind": self.kind, "where": self.where}

    def label(self) -> str:
        """What the plan prints after the package."""
        return f"[{self.kind}: {self.where}]"


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, else None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _needs_build(pkg: LockedPackage, tags: set[Any]) -> bool:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    named = [a for a in pkg.artifacts if a.filename]
    if not named:
        return False  # nothing known about the files (a requirements pin): the index decides
    for a in named:
        if a.kind == "wheel" and a.filename:
            try:
                if tags.intersection(parse_wheel_filename(a.filename)[3]):
                    return False
            except InvalidWheelFilename:
                continue
    return any(a.kind == "sdist" for a in named)


def package_sources(
    lock: Lock, packages: Sequence[LockedPackage], tags: Iterable[Any], lock_urls_used: bool
) -> tuple[PackageSource, ...]:
    """The packages among ``packages`` that are not plain index downloads, and their origins.

    ``tags``: the wheel tags the environment accepts; ``lock_urls_used``: uv downloads the lock's
    own URLs (a pylock.toml passed as it is) rather than asking the configured index.
    """
    tagset = set(tags)
    out: list[PackageSource] = []
    for p in packages:
        if p.editable and p.directory is not None:
            out.append(PackageSource(p.name, "editable", str(p.directory.get("path"))))
        elif p.directory is not None:
            out.append(PackageSource(p.name, "directory", str(p.directory.get("path"))))
        elif p.vcs is not None:
            where = str(p.vcs.get("url") or p.vcs.get("path"))
            ref = p.vcs.get("commit-id") or p.vcs.get("requested-revision")
            out.append(PackageSource(p.name, "vcs", f"{where}@{ref}" if ref else where))
        elif p.archive is not None:
            out.append(PackageSource(p.name, "url", str(p.archive.get("url") or p.archive.get("path"))))
        else:
            if _needs_build(p, tagset):
                out.append(PackageSource(p.name, "build", "source distribution"))
            if lock_urls_used:
                origins = sorted({o for a in p.artifacts if a.url and (o := origin(a.url))})
                local = sorted({a.url or a.path or "" for a in p.artifacts if a.url and not origin(a.url)})
                local += [a.path for a in p.artifacts if a.path and not a.url]
                for o in origins:
                    out.append(PackageSource(p.name, "index", o))
                for path in local:
                    out.append(PackageSource(p.name, "url", path))
    return tuple(out)


def server_origins(index_urls: Iterable[str]) -> frozenset[str]:
    """The origins files may come from for a server configured with ``index_urls``.

    PyPI serves its files from files.pythonhosted.org, so that origin comes with pypi.org.
    """
    found = {o for u in index_urls if (o := origin(u))}
    if any(o.endswith("://pypi.org") for o in found):
        found.add(PYPI_FILES)
    return frozenset(found)


def refused(
    sources: Iterable[PackageSource],
    *,
    allow_direct_sources: bool,
    allow_builds: bool,
    allowed_origins: frozenset[str] | None,
) -> list[PackageSource]:
    """The sources a policy refuses (``allowed_origins`` None: any origin is allowed)."""
    out = []
    for s in sources:
        if (
            (s.kind in DIRECT_KINDS and not allow_direct_sources)
            or (s.kind == "build" and not allow_builds)
            or (
                s.kind == "index"
                and allowed_origins is not None
                and s.where not in allowed_origins
                and not allow_direct_sources
            )
        ):
            out.append(s)
    return out


def refusal_error(
    lock_path: str, refused_sources: Sequence[PackageSource], hint: str
) -> SourcesNotAllowedError:
    """The error naming what was refused (at most five, then a count)."""
    shown = ", ".join(f"{s.name} {s.label()}" for s in refused_sources[:5])
    more = f" and {len(refused_sources) - 5} more" if len(refused_sources) > 5 else ""
    return SourcesNotAllowedError(
        f"`{lock_path}` installs from sources other than the package index: {shown}{more}", hint=hint
    )
