"""The distributions installed in an environment, read from ``*.dist-info``/``*.egg-info`` on disk.

NOTE: first cut; the inspection work hardens it (egg-link, .pth additions, caching).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

from envkernels.discovery.layout import normalize_name, site_packages_dirs


@dataclass(frozen=True)
class InstalledDistribution:
    """One installed distribution. ``problem`` is set (and the rest best-effort) when its metadata is bad."""

    name: str
    version: str
    path: str
    site_packages: str
    requires: tuple[str, ...] = ()
    summary: str | None = None
    license_expression: str | None = None
    license: str | None = None
    classifiers: tuple[str, ...] = ()
    installer: str | None = None
    direct_url: dict | None = field(default=None, hash=False, compare=False)
    problem: str | None = None

    @property
    def normalized(self) -> str:
        """The PEP 503 normalized name."""
        return normalize_name(self.name)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


def read_distribution(meta_dir: Path, site_packages: Path) -> InstalledDistribution:
    """Read one ``.dist-info``/``.egg-info`` directory; never raises."""
    meta_file = meta_dir / ("METADATA" if meta_dir.suffix == ".dist-info" else "PKG-INFO")
    stem_name, _, stem_version = meta_dir.name.rsplit(".", 1)[0].partition("-")
    text = _read_text(meta_file)
    if not text or not text.strip():
        return InstalledDistribution(
            name=stem_name,
            version=stem_version.split("-")[0] or "?",
            path=str(meta_dir),
            site_packages=str(site_packages),
            problem=f"`{meta_file}` is missing or empty",
        )
    msg = HeaderParser().parsestr(text)
    name = msg.get("Name") or stem_name
    version = msg.get("Version") or stem_version or "?"
    direct_url = None
    raw = _read_text(meta_dir / "direct_url.json")
    if raw:
        try:
            direct_url = json.loads(raw)
        except ValueError:
            direct_url = None
    installer = _read_text(meta_dir / "INSTALLER")
    return InstalledDistribution(
        name=name.strip(),
        version=version.strip(),
        path=str(meta_dir),
        site_packages=str(site_packages),
        requires=tuple(msg.get_all("Requires-Dist") or ()),
        summary=msg.get("Summary"),
        license_expression=msg.get("License-Expression"),
        license=msg.get("License"),
        classifiers=tuple(msg.get_all("Classifier") or ()),
        installer=installer.strip() if installer else None,
        direct_url=direct_url,
    )


def installed_distributions(prefix: str | os.PathLike[str]) -> list[InstalledDistribution]:
    """Every distribution in every site-packages of ``prefix``, in path order (duplicates kept)."""
    found: list[InstalledDistribution] = []
    for sp in site_packages_dirs(prefix):
        try:
            with os.scandir(sp) as it:
                names = sorted(e.name for e in it if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for n in names:
            found.append(read_distribution(sp / n, sp))
    return found
