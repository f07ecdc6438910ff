"""Which package index to ask: ``--index-url``, uv's and pip's environment variables, pip.conf.

Order (first that is set wins for the primary index):
1. the ``index_url`` argument (``--index-url``);
2. ``UV_DEFAULT_INDEX``, then ``UV_INDEX_URL`` (uv's variables);
3. ``PIP_INDEX_URL``;
4. ``index-url`` in pip's configuration files (``PIP_CONFIG_FILE``, ``/etc/pip.conf``,
   ``/etc/xdg/pip/pip.conf``, ``~/.pip/pip.conf``, ``~/.config/pip/pip.conf``; later files win);
5. https://pypi.org/simple.

Extra indexes (``UV_INDEX``, ``UV_EXTRA_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, pip.conf
``extra-index-url``) are asked for what the primary index lacks. Only http(s) indexes are used:
a ``file://`` index (this machine's pip.conf lists some) gives URLs no other machine can fetch.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

PYPI = "https://pypi.org/simple"


@dataclass(frozen=True)
class IndexConfig:
    """The primary index and the extra ones, plus what was skipped and why."""

    primary: str
    extras: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        """Primary first, then the extras."""
        return (self.primary, *self.extras)


def _pip_config_files() -> list[Path]:
    home = Path.home()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    files = [
        Path("/etc/pip.conf"),
        Path("/etc/xdg/pip/pip.conf"),
        home / ".pip" / "pip.conf",
        Path(xdg) / "pip" / "pip.conf",
    ]
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    return files


def pip_config() -> dict[str, str]:
    """``index-url`` and ``extra-index-url`` from pip's configuration files ([global], then [install])."""
    values: dict[str, str] = {}
    if os.environ.get("PIP_CONFIG_FILE") == os.devnull:
        return values
    for path in _pip_config_files():
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key in ("index-url", "extra-index-url"):
                    if parser.has_option(section, key):
                        values[key] = parser.get(section, key)
    return values


def _uv_index_urls(raw: str) -> list[str]:
    # UV_INDEX holds `name=url` or bare URLs, space-separated.
    urls = []
    for item in raw.split():
        _, sep, url = item.partition("=")
        urls.append(url if sep and "://" in url else item)
    return urls


def resolve_index_config(index_url: str | None = None) -> IndexConfig:
    """The indexes to ask, per the order in this module's docstring."""
    pipconf = pip_config()
    primary = (
        index_url
        or os.environ.get("UV_DEFAULT_INDEX")
        or os.environ.get("UV_INDEX_URL")
        or os.environ.get("PIP_INDEX_URL")
        or pipconf.get("index-url")
        or PYPI
    )
    extras: list[str] = []
    if not index_url:
        extras += _uv_index_urls(os.environ.get("UV_INDEX", ""))
        extras += os.environ.get("UV_EXTRA_INDEX_URL", "").split()
        extras += os.environ.get("PIP_EXTRA_INDEX_URL", "").split()
        extras += pipconf.get("extra-index-url", "").split()
    skipped: list[str] = []
    kept: list[str] = []
    for url in extras:
        if not url.startswith(("http://", "https://")):
            skipped.append(url)
        elif url.rstrip("/") != primary.rstrip("/") and url not in kept:
            kept.append(url)
    if not primary.startswith(("http://", "https://")):
        skipped.insert(0, primary)
        primary = kept.pop(0) if kept else PYPI
    return IndexConfig(
        primary=primary.rstrip("/"), extras=tuple(u.rstrip("/") for u in kept), skipped=tuple(skipped)
    )
