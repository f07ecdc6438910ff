"""Build a PEP 751 pylock document from installed distributions and what the index lists (pure).

Nothing here touches the network or the disk: :mod:`envkernels.lockfiles.writer` gathers the
inputs and writes the result. Entries the format cannot carry (no hash known: offline, ``--no-hashes``,
a version the index does not have) go to ``[tool.envkernels] missing`` with their versions, so the
file still validates and ``envkernels sync`` can still pin them (without hash checking).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from envkernels.core.distributions import InstalledDistribution

if TYPE_CHECKING:
    from envkernels.lockfiles.index_client import IndexFile

CREATED_BY = "envkernels"


@dataclass(frozen=True)
class Entry:
    """What the lock says about one installed distribution."""

    name: str
    version: str
    package: dict[str, Any] | None  # the [[packages]] table, or None when it goes to `missing`
    missing: str | None = None  # why it has no hashed source
    not_reproducible: str | None = None  # why the lock cannot give it back exactly


def _same_version(a: str, b: Version) -> bool:
    try:
        return Version(a) == b
    except InvalidVersion:
        return a == str(b)


def select_files(files: Sequence[IndexFile], name: str, version: str, tags: Sequence[Tag]) -> list[IndexFile]:
    """The wheels of ``name==version`` compatible with ``tags`` (best first), then its sdist."""
    want = canonicalize_name(name)
    rank = {t: i for i, t in enumerate(tags)}
    wheels: list[tuple[int, IndexFile]] = []
    sdists: list[IndexFile] = []
    # Parsing every file name of a big project (numpy: ~10,000 files) is slow; the version
    # string nearly always appears verbatim, so look at those first.
    quick = [f for f in files if f"-{version}" in f.filename]
    for f in quick or files:
        if not f.hashes.get("sha256"):
            continue
        try:
            if f.filename.endswith(".whl"):
                wname, wver, _build, wtags = parse_wheel_filename(f.filename)
                if wname == want and _same_version(version, wver):
                    best = min((rank[t] for t in wtags if t in rank), default=None)
                    if best is not None:
                        wheels.append((best, f))
            else:
                sname, sver = parse_sdist_filename(f.filename)
                if sname == want and _same_version(version, sver):
                    sdists.append(f)
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
    wheels.sort(key=lambda t: t[0])
    return [f for _r, f in wheels] + sdists[:1]


def _file_table(f: IndexFile) -> dict[str, Any]:
    table: dict[str, Any] = {"name": f.filename, "url": f.url}
    if f.size is not None:
        table["size"] = f.size
    table["hashes"] = {"sha256": f.hashes["sha256"]}
    return table


def _relative_path(path: str, base_dir: str | None) -> str:
    if base_dir:
        try:
            rel = os.path.relpath(path, base_dir)
        except ValueError:
            return path
        if not rel.startswith(".."):
            return rel
    return path


def entry_from_direct_url(dist: InstalledDistribution, base_dir: str | None) -> Entry:
    """An entry for a distribution installed from a URL, a VCS or a local directory (direct_url.json)."""
    du = dist.direct_url or {}
    url = str(du.get("url", ""))
    pkg: dict[str, Any] = {"name": canonicalize_name(dist.name), "version": dist.version}
    local = url.startswith("file:")
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path) if local else None
    if "vcs_info" in du:
        info = du["vcs_info"]
        vcs: dict[str, Any] = {"type": info.get("vcs", "git"), "commit-id": info.get("commit_id", "")}
        vcs["path" if local else "url"] = _relative_path(path, base_dir) if local and path else url
        if info.get("requested_revision"):
            vcs["requested-revision"] = info["requested_revision"]
        if du.get("subdirectory"):
            vcs["subdirectory"] = du["subdirectory"]
        pkg["vcs"] = vcs
        reason = "a VCS checkout: installs again only while the repository and commit are reachable"
        return Entry(dist.name, dist.version, pkg, not_reproducible=reason)
    if "dir_info" in du:
        editable = bool(du["dir_info"].get("editable"))
        directory: dict[str, Any] = {"path": _relative_path(path or url, base_dir)}
        if editable:
            directory["editable"] = True
        if du.get("subdirectory"):
            directory["subdirectory"] = du["subdirectory"]
        pkg["directory"] = directory
        what = "an editable install" if editable else "installed from a local directory"
        return Entry(dist.name, dist.version, pkg, not_reproducible=f"{what} (`{path or url}`)")
    info = du.get("archive_info") or {}
    hashes = dict(info.get("hashes") or {})
    if not hashes and info.get("hash"):
        algo, _, digest = str(info["hash"]).partition("=")
        hashes[algo] = digest
    if not hashes:
        return Entry(
            dist.name,
            dist.version,
            None,
            missing=f"installed from `{url}` whose hash is not recorded",
            not_reproducible="installed from a URL without a recorded hash",
        )
    archive: dict[str, Any] = {"hashes": hashes}
    if local:
        archive["path"] = _relative_path(path or url, base_dir)
    else:
        archive["url"] = url
    pkg["archive"] = archive
    return Entry(
        dist.name,
        dist.version,
        pkg,
        not_reproducible=f"installed from the local file `{path}`" if local else None,
    )


def entry_from_index(
    dist: InstalledDistribution,
    files: Sequence[IndexFile] | None,
    tags: Sequence[Tag],
    index: str,
    error: str | None,
) -> Entry:
    """An entry for a distribution installed from an index: its compatible wheels and sdist with hashes."""
    if error is not None:
        return Entry(dist.name, dist.version, None, missing=error)
    if files is None:
        return Entry(dist.name, dist.version, None, missing=f"not on the index {index}")
    chosen = select_files(files, dist.name, dist.version, tags)
    if not chosen:
        return Entry(
            dist.name,
            dist.version,
            None,
            missing=f"{dist.version} has no file with a sha256 for this platform on {index}",
        )
    pkg: dict[str, Any] = {"name": canonicalize_name(dist.name), "version": dist.version, "index": index}
    wheels = [_file_table(f) for f in chosen if f.filename.endswith(".whl")]
    sdist = [_file_table(f) for f in chosen if not f.filename.endswith(".whl")]
    if sdist:
        pkg["sdist"] = sdist[0]
    if wheels:
        pkg["wheels"] = wheels
    return Entry(dist.name, dist.version, pkg)


def build_document(
    entries: Sequence[Entry], *, environment_marker: str, requires_python: str, tool: Mapping[str, Any]
) -> dict[str, Any]:
    """The pylock dict: ``packages`` sorted by name, unlocked entries under ``[tool.envkernels]``."""
    packages = sorted((e.package for e in entries if e.package is not None), key=lambda p: p["name"])
    missing = sorted(
        (
            {"name": canonicalize_name(e.name), "version": e.version, "reason": e.missing or ""}
            for e in entries
            if e.package is None
        ),
        key=lambda m: m["name"],
    )
    tool_table = dict(tool)
    if missing:
        tool_table["missing"] = missing
    return {
        "lock-version": "1.0",
        "environments": [environment_marker],
        "requires-python": requires_python,
        "created-by": CREATED_BY,
        "packages": packages,
        "tool": {"envkernels": tool_table},
    }
