"""poetry environments: in-project ``.venv``, and poetry's cache ``virtualenvs/<name>-<hash>-py3.X``.

Where the cache's environments are, as poetry decides it:
1. ``$POETRY_VIRTUALENVS_PATH``;
2. ``virtualenvs.path`` in ``config.toml`` of poetry's config dir (``$POETRY_CONFIG_DIR``, else
   ``$XDG_CONFIG_HOME/pypoetry``, else ``~/.config/pypoetry``; ``{cache-dir}`` is expanded);
3. ``<cache dir>/virtualenvs``, the cache dir being ``$POETRY_CACHE_DIR``, ``cache-dir`` in
   ``config.toml``, else ``$XDG_CACHE_HOME/pypoetry`` or ``~/.cache/pypoetry``.
The environment's name is poetry's ``<project>-<8 chars of base64(sha256(project dir))>-py3.X``;
the project is found back by recomputing that hash for projects envkernels knows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from envkernels.discovery._dirs import prefixes_in
from envkernels.discovery.context import Candidate, ScanContext, path_id_of

_ENV_NAME = re.compile(r"^(?P<name>.+)-(?P<hash>[A-Za-z0-9_-]{8})-py(?P<py>\d+\.\d+t?)$")


def _config(environ: Mapping[str, str], home: str, read: object = None) -> tuple[str, dict[str, object]]:
    config_dir = environ.get("POETRY_CONFIG_DIR") or os.path.join(
        environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "pypoetry"
    )
    path = os.path.join(config_dir, "config.toml")
    text = read(path) if callable(read) else _read(path)
    if not text:
        return path, {}
    from envkernels._toml import tomllib

    try:
        return path, tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return path, {}


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(1 << 20).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def virtualenvs_path(environ: Mapping[str, str], home: str, read: object = None) -> str:
    """The directory poetry creates its cached environments in (see the module docstring)."""
    if environ.get("POETRY_VIRTUALENVS_PATH"):
        return os.path.abspath(os.path.expanduser(environ["POETRY_VIRTUALENVS_PATH"]))
    _path, config = _config(environ, home, read)
    cache_dir = environ.get("POETRY_CACHE_DIR")
    if not cache_dir:
        configured = config.get("cache-dir")
        cache_dir = (
            configured
            if isinstance(configured, str)
            else os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "pypoetry")
        )
    venvs = config.get("virtualenvs")
    if isinstance(venvs, dict) and isinstance(venvs.get("path"), str):
        return os.path.abspath(os.path.expanduser(venvs["path"].replace("{cache-dir}", cache_dir)))
    return os.path.join(os.path.expanduser(cache_dir), "virtualenvs")


def env_name_prefix(project_name: str, project_dir: str) -> str:
    """poetry's ``generate_env_name``: ``<sanitized name>-<hash8>`` for a project directory."""
    sanitized = re.sub(r'[ $`!*@"\\\r\n\t]', "_", project_name.lower())[:42]
    return f"{sanitized}-{path_id_of(os.path.normcase(os.path.realpath(project_dir)))}"


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """Every environment in poetry's ``virtualenvs`` directory, named ``<project>-py3.X``."""
    where = virtualenvs_path(ctx.environ, ctx.home, ctx.read_text)
    for cand in prefixes_in(ctx, where, "poetry"):
        m = _ENV_NAME.match(os.path.basename(cand.prefix))
        name = f"{m.group('name')}-py{m.group('py')}" if m else None
        project = ctx.project_by_id(m.group("hash")) if m else None
        yield Candidate(cand.prefix, "poetry", name, project)


def _project_name(project: str) -> str | None:
    text = _read(os.path.join(project, "pyproject.toml"))
    if not text:
        return None
    from envkernels._toml import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return None
    tool = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    name = (data.get("project") or {}).get("name") or (tool or {}).get("name")
    return name if isinstance(name, str) else None


def environment_for_project(project: str, environ: Mapping[str, str]) -> Candidate | None:
    """The cached poetry environment of ``project`` (newest Python first), None when it has none."""
    name = _project_name(project)
    if not name:
        return None
    stem = env_name_prefix(name, project)
    where = virtualenvs_path(environ, environ.get("HOME") or os.path.expanduser("~"))
    try:
        matches = sorted((n for n in os.listdir(where) if n.startswith(stem + "-py")), reverse=True)
    except (OSError, ValueError):
        return None
    for n in matches:
        if os.path.isfile(f"{where}/{n}/pyvenv.cfg"):
            return Candidate(f"{where}/{n}", "poetry", f"{name}-{n.rsplit('-', 1)[-1]}", project)
    return None
