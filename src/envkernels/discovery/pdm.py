"""PDM environments: the project's ``.venv`` or ``__pypackages__/X.Y`` (PEP 582), and PDM's venvs dir.

In-project ones are reached with their project (roots, the current directory); here PDM's
central ``venv.location``: ``$XDG_DATA_HOME/pdm/venvs`` (default ``~/.local/share/pdm/venvs``),
where each environment is ``<project dir name>-<hash>-<venv name>``, the hash being PDM's
``urlsafe_b64encode(md5(project path))[:8]`` (matched against the projects met on the way).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable

from envkernels.discovery._dirs import prefixes_in
from envkernels.discovery.context import Candidate, ScanContext

_ENV_NAME = re.compile(r"^(?P<name>.+)-(?P<hash>[A-Za-z0-9_-]{8})-(?P<venv>[^-]+)$")


def venvs_dir(ctx: ScanContext) -> str:
    """PDM's default central ``venv.location``."""
    return os.path.join(ctx.xdg("XDG_DATA_HOME", ".local/share"), "pdm", "venvs")


def hash_path(path: str) -> str:
    """PDM's ``hash_path``: how it names a project's central environments."""
    digest = hashlib.md5(path.encode("utf-8", "surrogateescape"), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:8]


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """The environments in PDM's central venvs dir, named ``<project>-<venv name>``."""
    by_hash: dict[str, str] | None = None
    for cand in prefixes_in(ctx, venvs_dir(ctx), "pdm"):
        m = _ENV_NAME.match(os.path.basename(cand.prefix))
        if m is None:
            yield Candidate(cand.prefix, "pdm")
            continue
        if by_hash is None:
            by_hash = {hash_path(p): p for p in ctx.projects}
        project = by_hash.get(m.group("hash"))
        yield Candidate(cand.prefix, "pdm", f"{m.group('name')}-{m.group('venv')}", project)
