"""What a project declares it needs: read from its files, never by running a tool.

Sources, all combined: ``pyproject.toml`` (``[project]`` dependencies and optional-dependencies,
``[dependency-groups]`` (PEP 735, ``include-group`` resolved), ``requires-python``, uv's and PDM's
legacy dev-dependencies, ``[tool.poetry]`` dependencies and groups with their constraints turned
into PEP 440), ``.python-version``, ``requirements*.txt`` (with ``-r``/``-c`` includes) and
``Pipfile``. Each requirement carries a *level* that says how bad its absence is:

``required``   the project's own dependencies: an environment without them is broken;
``default``    what the tool installs by default besides (uv's ``dev`` group, Poetry's non-optional
               groups, Pipfile ``dev-packages``, ``requirements-*.txt``);
``optional``   extras and other groups: checked only where installed;
``constraint`` a ``-c`` file's pins: checked only where installed.

A file that cannot be read becomes an :class:`InputProblem`; the rest is still read.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envkernels.core import requirements_file
from envkernels.inspect.poetry_constraints import python_marker, to_pep440
from envkernels.inspect.problems import InputError, InputProblem, line_of, load_toml, read_text


@dataclass(frozen=True)
class DeclaredRequirement:
    """One requirement a project declares. ``specifiers`` holds PEP 440 alternatives ("" = any)."""

    name: str
    text: str
    source: str
    group: str
    level: str
    specifiers: tuple[str, ...] = ("",)
    marker: str | None = None
    extras: tuple[str, ...] = ()
    line: int | None = None
    direct: bool = False  # a URL/path/VCS reference: its version is not checked


@dataclass(frozen=True)
class Declarations:
    """Everything declared by the project in ``project``."""

    project: str
    requirements: tuple[DeclaredRequirement, ...] = ()
    requires_python: tuple[str, str] | None = None  # (specifier, file)
    python_pin: tuple[str, str] | None = None  # (.python-version request, file)
    project_name: str | None = None
    manager: str | None = None  # "uv", "poetry", "pdm", "pipenv" or None: who installs it
    problems: tuple[InputProblem, ...] = ()
    inputs: tuple[str, ...] = field(default=())  # every file looked at (the cache stamps them)

    @property
    def empty(self) -> bool:
        """True when the project declares no requirement at all."""
        return not self.requirements


class _Collector:
    def __init__(self, project: str) -> None:
        self.project = project
        self.reqs: list[DeclaredRequirement] = []
        self.problems: list[InputProblem] = []
        self.inputs: list[str] = []
        self.requires_python: tuple[str, str] | None = None

    def pep508(
        self, text: str, source: str, group: str, level: str, doc: str | None = None, line: int | None = None
    ) -> None:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            where = line if line is not None else (line_of(doc, text) if doc else None)
            loc = f"{source}:{where}" if where else source
            self.problems.append(
                InputProblem(
                    source,
                    f"`{loc}`: `{text}` is not a valid requirement ({str(exc).splitlines()[0]})",
                    hint="write it as PEP 508 (`name[extra]>=1.0; python_version >= '3.10'`)",
                    line=where,
                )
            )
            return
        self.reqs.append(
            DeclaredRequirement(
                name=canonicalize_name(req.name),
                text=text,
                source=source,
                group=group,
                level=level,
                specifiers=(str(req.specifier),),
                marker=str(req.marker) if req.marker else None,
                extras=tuple(sorted(req.extras)),
                line=line,
                direct=req.url is not None,
            )
        )


# -- pyproject.toml ----------------------------------------------------------------------------


def _dependency_groups(col: _Collector, groups: Any, source: str, doc: str, default_groups: set[str]) -> None:
    """PEP 735 groups, ``include-group`` entries expanded (a cycle or unknown group is a problem)."""
    if not isinstance(groups, dict):
        return
    normalized: dict[str, Any] = {canonicalize_name(k): v for k, v in groups.items()}

    def expand(name: str, stack: tuple[str, ...]) -> list[str]:
        if name in stack:
            raise ValueError(f"`include-group` cycle: {' -> '.join((*stack, name))}")
        if name not in normalized:
            raise ValueError(f"`include-group` names unknown group `{name}`")
        out: list[str] = []
        for item in normalized[name] or []:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict) and "include-group" in item:
                out.extend(expand(canonicalize_name(str(item["include-group"])), (*stack, name)))
        return out

    for name in normalized:
        try:
            items = expand(name, ())
        except ValueError as exc:
            col.problems.append(
                InputProblem(
                    source,
                    f"`{source}` [dependency-groups]: {exc}",
                    hint="fix the group in pyproject.toml (PEP 735)",
                    line=line_of(doc, "[dependency-groups]"),
                )
            )
            continue
        level = "default" if name in default_groups else "optional"
        for text in items:
            col.pep508(text, source, f"group:{name}", level, doc)


def _poetry_dependency(
    name: str, spec: Any
) -> list[tuple[str, tuple[str, ...], str | None, tuple[str, ...], bool, bool]]:
    """(name, specifier alternatives, marker, extras, optional, direct) for one Poetry entry."""
    entries = spec if isinstance(spec, list) else [spec]
    out: list[tuple[str, tuple[str, ...], str | None, tuple[str, ...], bool, bool]] = []
    for entry in entries:
        if isinstance(entry, str):
            out.append((name, to_pep440(entry), None, (), False, False))
            continue
        if not isinstance(entry, dict):
            continue
        direct = any(k in entry for k in ("git", "path", "url", "file"))
        specs = to_pep440(str(entry.get("version", "*"))) if not direct else ("",)
        markers = [str(entry["markers"])] if entry.get("markers") else []
        if entry.get("python"):
            pm = python_marker(str(entry["python"]))
            if pm:
                markers.append(pm)
        marker = (
            " and ".join(f"({m})" for m in markers) if len(markers) > 1 else (markers[0] if markers else None)
        )
        extras = tuple(sorted(str(e) for e in entry.get("extras", ()) or ()))
        out.append((name, specs, marker, extras, bool(entry.get("optional")), direct))
    return out


def _poetry(col: _Collector, poetry: dict[str, Any], source: str, doc: str) -> str | None:
    """Read ``[tool.poetry]``; returns its ``python`` constraint (as PEP 440) if any."""
    python_spec = None
    sections: list[tuple[str, Any, str]] = [("poetry:main", poetry.get("dependencies"), "required")]
    if isinstance(poetry.get("dev-dependencies"), dict):
        sections.append(("poetry:dev", poetry["dev-dependencies"], "default"))
    for gname, group in (poetry.get("group") or {}).items():
        if isinstance(group, dict):
            level = "optional" if group.get("optional") else "default"
            sections.append((f"poetry:{gname}", group.get("dependencies"), level))
    for group_name, deps, level in sections:
        if not isinstance(deps, dict):
            continue
        for name, spec in deps.items():
            if name.lower() == "python":
                if group_name == "poetry:main":
                    with contextlib.suppress(ValueError):
                        python_spec = " || ".join(to_pep440(str(spec)))
                continue
            try:
                parsed = _poetry_dependency(name, spec)
            except ValueError as exc:
                col.problems.append(
                    InputProblem(
                        source,
                        f"`{source}` [tool.poetry] `{name}`: {exc}",
                        hint="use a Poetry version constraint (`^1.2`, `>=1,<2`)",
                        line=line_of(doc, name),
                    )
                )
                continue
            for dname, specs, marker, extras, optional, direct in parsed:
                text = (
                    dname + (f"[{','.join(extras)}]" if extras else "") + " || ".join(s for s in specs if s)
                )
                col.reqs.append(
                    DeclaredRequirement(
                        name=canonicalize_name(dname),
                        text=text.strip(),
                        source=source,
                        group=group_name,
                        level="optional" if optional else level,
                        specifiers=specs,
                        marker=marker,
                        extras=extras,
                        line=line_of(doc, f"{name} ="),
                        direct=direct,
                    )
                )
    return python_spec


def _pyproject(col: _Collector, path: str) -> tuple[str | None, str | None]:
    """Read pyproject.toml; returns (project name, manager hint)."""
    data = load_toml(path, "pyproject.toml")
    doc = read_text(path)
    project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
    tool: dict[str, Any] = data["tool"] if isinstance(data.get("tool"), dict) else {}
    name = project.get("name")
    for text in project.get("dependencies") or []:
        if isinstance(text, str):
            col.pep508(text, path, "project", "required", doc)
    for extra, items in (project.get("optional-dependencies") or {}).items():
        for text in items or []:
            if isinstance(text, str):
                col.pep508(text, path, f"extra:{extra}", "optional", doc)
    uv: dict[str, Any] = tool["uv"] if isinstance(tool.get("uv"), dict) else {}
    default_groups: set[str] = {"dev"}
    if isinstance(uv.get("default-groups"), list):
        default_groups = {canonicalize_name(str(g)) for g in uv["default-groups"]}
    elif uv.get("default-groups") == "all":
        default_groups = {canonicalize_name(g) for g in (data.get("dependency-groups") or {})}
    _dependency_groups(col, data.get("dependency-groups"), path, doc, default_groups)
    for text in uv.get("dev-dependencies") or []:
        if isinstance(text, str):
            col.pep508(text, path, "group:dev", "default", doc)
    pdm: dict[str, Any] = tool["pdm"] if isinstance(tool.get("pdm"), dict) else {}
    for gname, items in (pdm.get("dev-dependencies") or {}).items():
        for text in items or []:
            if isinstance(text, str) and not text.startswith("-e"):
                col.pep508(text, path, f"group:{gname}", "default", doc)
    if isinstance(project.get("requires-python"), str):
        col.requires_python = (project["requires-python"], path)
    poetry = tool.get("poetry") if isinstance(tool.get("poetry"), dict) else None
    if poetry is not None:
        python_spec = _poetry(col, poetry, path, doc)
        name = name or poetry.get("name")
        if python_spec and col.requires_python is None:
            col.requires_python = (python_spec, path)
    manager = "poetry" if poetry is not None and not project else None
    if "uv" in tool:
        manager = "uv"
    elif pdm:
        manager = "pdm"
    return (str(name) if name else None), manager


# -- requirements files and Pipfile ------------------------------------------------------------


def _requirements_file(col: _Collector, path: str, level: str, group: str, seen: set[str]) -> None:
    """A pip requirements file: ``-r`` includes keep the level, ``-c`` files become constraints."""
    real = os.path.realpath(path)
    if real in seen:
        return
    seen.add(real)
    col.inputs.append(path)
    text = read_text(path)
    base = os.path.dirname(path)
    for line in requirements_file.parse(text):
        no = line.number
        if line.kind in ("include", "constraint"):
            inc = os.path.join(base, line.value)
            inc_level, inc_group = (level, group) if line.kind == "include" else ("constraint", "constraint")
            if not os.path.isfile(inc):
                col.problems.append(
                    InputProblem(
                        path,
                        f"`{path}:{no}` includes `{line.value}`, which does not exist",
                        hint="fix the include path",
                        line=no,
                    )
                )
                continue
            try:
                _requirements_file(col, inc, inc_level, inc_group, seen)
            except InputError as exc:
                col.problems.append(exc.problem)
            continue
        if line.kind == "editable":
            egg = re.search(r"#egg=([A-Za-z0-9._-]+)", line.value)
            if egg:
                col.reqs.append(
                    DeclaredRequirement(
                        canonicalize_name(egg.group(1)), line.text, path, group, level, line=no, direct=True
                    )
                )
            continue
        if line.kind == "invalid":
            col.problems.append(
                InputProblem(
                    path,
                    f"`{path}:{no}`: `{line.text}`: {line.error}",
                    hint="pip's requirements-file options are listed by `pip install --help`",
                    line=no,
                )
            )
            continue
        if line.kind != "requirement" or re.match(r"^(\.|/|[a-z+]+://)", line.value):
            continue  # an option; or a bare path or URL, with no name to check
        col.pep508(line.value, path, group, level, line=no)


def _pipfile(col: _Collector, path: str) -> tuple[str, str] | None:
    data = load_toml(path, "Pipfile")
    doc = read_text(path)
    for section, level in (("packages", "required"), ("dev-packages", "default")):
        for name, spec in (data.get(section) or {}).items():
            extras: tuple[str, ...] = ()
            marker: str | None = None
            direct = False
            if isinstance(spec, str):
                version = spec
            elif isinstance(spec, dict):
                version = str(spec.get("version", "*"))
                extras = tuple(sorted(str(e) for e in spec.get("extras", ()) or ()))
                marker = spec.get("markers")
                direct = any(k in spec for k in ("git", "path", "file", "hg", "svn"))
            else:
                continue
            text = (
                f"{name}{'[' + ','.join(extras) + ']' if extras else ''}{'' if version == '*' else version}"
            )
            if marker:
                text += f"; {marker}"
            col.pep508(text, path, f"pipfile:{section}", level, doc)
            if direct and col.reqs and col.reqs[-1].text == text:
                col.reqs[-1] = replace(col.reqs[-1], direct=True)
    requires = data.get("requires") or {}
    pyver = requires.get("python_full_version") or requires.get("python_version")
    if not pyver:
        return None
    return (f"=={pyver}.*" if str(pyver).count(".") < 2 else f"=={pyver}", path)


def find_project_root(start: str) -> str | None:
    """The nearest directory at or above ``start`` holding a project file (pyproject, lock, requirements)."""
    here = os.path.abspath(start)
    while True:
        try:
            names = set(os.listdir(here))
        except OSError:
            names = set()
        if names & {"pyproject.toml", "Pipfile", "requirements.txt", "uv.lock", "poetry.lock", "pylock.toml"}:
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def requirement_files(project: str) -> list[str]:
    """``requirements*.txt`` of a project directory, ``requirements.txt`` first."""
    try:
        names = sorted(n for n in os.listdir(project) if n.startswith("requirements") and n.endswith(".txt"))
    except OSError:
        return []
    names.sort(key=lambda n: n != "requirements.txt")
    return [os.path.join(project, n) for n in names]


def read_declarations(project: str) -> Declarations:
    """Everything ``project`` declares; bad files become problems, the rest is still read."""
    col = _Collector(project)
    name = manager = None
    pin = None
    col.inputs.append(project)
    pyproject = os.path.join(project, "pyproject.toml")
    for fname in ("pyproject.toml", "Pipfile", ".python-version"):
        col.inputs.append(os.path.join(project, fname))
    if os.path.isfile(pyproject):
        try:
            name, manager = _pyproject(col, pyproject)
        except InputError as exc:
            col.problems.append(exc.problem)
    seen: set[str] = set()
    for path in requirement_files(project):
        base = os.path.basename(path)
        level = "required" if base == "requirements.txt" else "default"
        try:
            _requirements_file(col, path, level, base, seen)
        except InputError as exc:
            col.problems.append(exc.problem)
    pipfile = os.path.join(project, "Pipfile")
    if os.path.isfile(pipfile):
        try:
            pip_python = _pipfile(col, pipfile)
            manager = manager or "pipenv"
            if pip_python and col.requires_python is None:
                col.requires_python = pip_python
        except InputError as exc:
            col.problems.append(exc.problem)
    pv = os.path.join(project, ".python-version")
    if os.path.isfile(pv):
        try:
            first = next(
                (
                    ln.strip()
                    for ln in read_text(pv).splitlines()
                    if ln.strip() and not ln.strip().startswith("#")
                ),
                "",
            )
            if first:
                pin = (first, pv)
        except InputError as exc:
            col.problems.append(exc.problem)
    if manager is None and os.path.isfile(os.path.join(project, "uv.lock")):
        manager = "uv"
    return Declarations(
        project=project,
        requirements=tuple(col.reqs),
        requires_python=col.requires_python,
        python_pin=pin,
        project_name=name,
        manager=manager,
        problems=tuple(col.problems),
        inputs=tuple(dict.fromkeys(col.inputs)),
    )


def declared_names(
    decl: Declarations, levels: Iterable[str] = ("required", "default", "optional")
) -> set[str]:
    """Normalized names declared at any of ``levels``."""
    wanted = set(levels)
    return {r.name for r in decl.requirements if r.level in wanted}
