"""pipenv environments: ``$WORKON_HOME`` or ``~/.local/share/virtualenvs/<name>-<hash>``.

pipenv writes a ``.project`` file into each environment naming the project directory, which
holds the ``Pipfile`` (virtualenvwrapper writes ``.project`` too; a ``Pipfile`` there tells them
apart). ``PIPENV_VENV_IN_PROJECT`` environments are the project's ``.venv``, found with the project.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from envkernels.discovery.context import Candidate, ScanContext, is_dir


def homes(environ: Mapping[str, str], home: str) -> list[str]:
    """Where pipenv creates environments (``WORKON_HOME``, else the XDG data dir's ``virtualenvs``)."""
    workon = environ.get("WORKON_HOME")
    if workon:
        return [os.path.abspath(os.path.expanduser(workon))]
    data = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return [os.path.join(data, "virtualenvs")]


def _project_of(ctx: ScanContext | None, prefix: str) -> str | None:
    path = f"{prefix}/.project"
    if ctx is not None:
        text = ctx.read_text(path, 4096)
    else:
        try:
            with open(path, "rb") as fh:
                text = fh.read(4096).decode("utf-8", "replace")
        except (OSError, ValueError):
            text = None
    if not text:
        return None
    project = text.strip()
    return project if os.path.isabs(project) and os.path.isfile(f"{project}/Pipfile") else None


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """pipenv environments: a ``pyvenv.cfg`` and a ``.project`` pointing at a directory with a ``Pipfile``."""
    for home in homes(ctx.environ, ctx.home):
        entries = ctx.listdir(home)
        for name in sorted(entries or ()):
            entry = entries[name]  # type: ignore[index]
            if not is_dir(entry):
                continue
            sub = ctx.listdir(entry.path)
            if not sub or "pyvenv.cfg" not in sub or ".project" not in sub:
                continue
            project = _project_of(ctx, entry.path)
            if project is not None:
                ctx.watch(project)
                yield Candidate(entry.path, "pipenv", os.path.basename(project), project)


def environment_for_project(project: str, environ: Mapping[str, str]) -> Candidate | None:
    """The pipenv environment whose ``.project`` names ``project`` (its directory starts with the name)."""
    stem = os.path.basename(project)[:42]
    for home in homes(environ, environ.get("HOME") or os.path.expanduser("~")):
        try:
            names = sorted(n for n in os.listdir(home) if n.startswith(stem))
        except (OSError, ValueError):
            continue
        for n in names:
            prefix = f"{home}/{n}"
            if _project_of(None, prefix) == project:
                return Candidate(prefix, "pipenv", stem, project)
    return None
