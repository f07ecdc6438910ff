"""What ``pip check`` reports, computed from an environment's files: nothing more, nothing less.

This follows pip's own ``operations/check.py`` and ``metadata/importlib`` rules:

- the package set holds the *first* distribution of each name on the path (a later copy is
  shadowed), keyed by the name in its ``*.dist-info``/``*.egg-info`` folder;
- a distribution's version is the one in its ``*.dist-info`` folder name, else its metadata's;
- its requirements are the ``Requires-Dist`` entries (``requires.txt`` for an ``*.egg-info``)
  whose marker holds with ``extra == ""``: requirements of extras are not checked;
- a distribution whose metadata cannot be decoded, whose version is not PEP 440, or that carries
  one unparsable requirement, is left out of the set (pip warns "Error parsing dependencies" and
  exits 1), so what depends on it is reported as missing;
- a requirement is *missing* when its name is not in the set (and its marker holds), and
  *conflicting* when the installed version is outside its specifier, pre-releases included;
- an installed wheel whose ``WHEEL`` tags are all unsupported by the interpreter is reported as
  "not supported on this platform".
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envkernels.core.distributions import InstalledDistribution, folder_name
from envkernels.inspect.markers import evaluate

_PIP_SKIP = frozenset(
    {"python", "wsgiref", "argparse"}
)  # pip's `stdlib_pkgs`, skipped by `check_unsupported`


@dataclass(frozen=True)
class BrokenRequirement:
    """One line of ``pip check``: ``kind`` is ``missing``, ``conflicting`` or ``unsupported``."""

    kind: str
    package: str  # the canonical name of the distribution that has the requirement
    version: str
    requirement: str | None = None  # the requirement as written (missing/conflicting)
    dependency: str | None = None  # canonical name of what is required
    installed: str | None = None  # the installed version of `dependency` (conflicting)


@dataclass(frozen=True)
class ParseProblem:
    """A distribution pip could not read (it leaves it out of the check and exits 1)."""

    package: str
    version: str
    reason: str
    path: str


@dataclass(frozen=True)
class PipCheck:
    """The whole of ``pip check``'s verdict on one environment."""

    broken: tuple[BrokenRequirement, ...]
    problems: tuple[ParseProblem, ...]

    @property
    def ok(self) -> bool:
        """True when ``pip check`` would exit 0."""
        return not self.broken and not self.problems


def visible_distributions(dists: Iterable[InstalledDistribution]) -> list[InstalledDistribution]:
    """The first distribution of each (folder) name on the path: the ones an import or pip sees."""
    seen: set[str] = set()
    out: list[InstalledDistribution] = []
    for d in dists:
        key = folder_name(os.path.basename(d.path)) or d.normalized
        if key in seen:
            continue
        seen.add(key)
        out.append(d)
    return out


class RequirementMemo:
    """Requirement strings parsed, and markers evaluated, for one marker environment.

    Parsing ~3000 ``Requires-Dist`` strings is most of a cold check; the same strings recur across
    checks and environments, so the results are kept (in process, and on disk by the caller).
    ``parsed`` maps a string to ``[name, specifier, marker or None, display]`` or to the error
    message pip would print; ``verdicts`` maps a marker to its value here (with ``extra == ""``).
    """

    def __init__(
        self,
        environment: dict[str, str],
        parsed: dict[str, Any] | None = None,
        verdicts: dict[str, bool] | None = None,
    ) -> None:
        self.environment = environment
        self.parsed: dict[str, Any] = dict(parsed or {})
        self.verdicts: dict[str, bool] = dict(verdicts or {})
        self.changed = False
        self._specifiers: dict[str, SpecifierSet] = {}

    def parse(self, text: str) -> tuple[str, str, str | None, str]:
        """(canonical name, specifier, marker, display) of a requirement; ValueError when invalid."""
        hit = self.parsed.get(text)
        if hit is None:
            try:
                req = Requirement(text)
            except InvalidRequirement as exc:
                hit = str(exc).splitlines()[0] if str(exc) else "invalid requirement"
            else:
                hit = [
                    canonicalize_name(req.name),
                    str(req.specifier),
                    str(req.marker) if req.marker else None,
                    str(req),
                ]
            self.parsed[text] = hit
            self.changed = True
        if isinstance(hit, str):
            raise ValueError(hit)
        return hit[0], hit[1], hit[2], hit[3]

    def holds(self, marker: str | None) -> bool:
        """The marker's value in this environment with ``extra == ""`` (True for no marker)."""
        if marker is None:
            return True
        verdict = self.verdicts.get(marker)
        if verdict is None:
            verdict = evaluate(Marker(marker), self.environment, extra="")
            self.verdicts[marker] = verdict
            self.changed = True
        return verdict

    def contains(self, specifier: str, version: Version) -> bool:
        """``version in specifier``, pre-releases allowed (as pip checks)."""
        spec = self._specifiers.get(specifier)
        if spec is None:
            spec = self._specifiers[specifier] = SpecifierSet(specifier)
        return spec.contains(version, prereleases=True)


def pip_check(
    dists: Sequence[InstalledDistribution],
    environment: dict[str, str],
    supported_tags: object = None,
    memo: RequirementMemo | None = None,
) -> PipCheck:
    """``pip check`` on ``dists`` (path order) for an environment with these marker values.

    ``supported_tags`` is a callable returning the interpreter's supported tag strings; it is
    called only when some installed wheel is platform-specific. ``memo`` carries parsed
    requirements between calls (a fresh one is used when not given).
    """
    memo = memo or RequirementMemo(environment)
    package_set: dict[str, tuple[Version, list[tuple[str, str, str | None, str]]]] = {}
    problems: list[ParseProblem] = []
    visible = visible_distributions(dists)
    for d in visible:
        name: str = folder_name(os.path.basename(d.path))
        try:
            if not d.readable:
                raise ValueError(d.problem or "metadata cannot be decoded")
            version = Version(d.pip_version)
            # pip's iter_dependencies(): every string must parse; only those whose marker holds count.
            reqs = [memo.parse(text.strip()) for text in d.requires]
            package_set[name] = (version, [r for r in reqs if memo.holds(r[2])])
        except (InvalidVersion, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(ParseProblem(name, d.pip_version, reason, d.path))
    broken: list[BrokenRequirement] = []
    for name, (version, reqs) in package_set.items():
        missing: set[tuple[str, str]] = set()
        conflicting: set[tuple[str, str, str]] = set()
        for dep, specifier, marker, display in reqs:
            if dep not in package_set:
                if memo.holds(marker):
                    missing.add((dep, display))
                continue
            dep_version = package_set[dep][0]
            if not memo.contains(specifier, dep_version):
                conflicting.add((dep, str(dep_version), display))
        for dep, text in sorted(missing, key=lambda t: t[1]):
            broken.append(BrokenRequirement("missing", name, str(version), text, dep))
        for dep, installed, text in sorted(conflicting, key=lambda t: t[2]):
            broken.append(BrokenRequirement("conflicting", name, str(version), text, dep, installed))
    if supported_tags is not None:
        broken.extend(_unsupported(visible, supported_tags))
    return PipCheck(tuple(broken), tuple(problems))


def _unsupported(visible: Sequence[InstalledDistribution], supported_tags: object) -> list[BrokenRequirement]:
    """Installed wheels none of whose tags this interpreter supports (pip's ``check_unsupported``)."""
    candidates = [
        d
        for d in visible
        if d.wheel_tags
        and not any(t.endswith("-any") for t in d.wheel_tags)
        and folder_name(os.path.basename(d.path)) not in _PIP_SKIP
    ]
    if not candidates:
        return []
    supported = set(supported_tags())  # type: ignore[operator]
    out = []
    for d in candidates:
        expanded = {tag for t in d.wheel_tags for tag in _expand(t)}
        if expanded.isdisjoint(supported):
            out.append(BrokenRequirement("unsupported", d.normalized, d.pip_version))
    return out


def _expand(tag: str) -> list[str]:
    """A compressed tag set (``cp39.cp310-abi3-manylinux_x86_64.manylinux2014_x86_64``) as single tags."""
    try:
        interp, abi, plat = tag.split("-")
    except ValueError:
        return []
    return [f"{i}-{a}-{p}" for i in interp.split(".") for a in abi.split(".") for p in plat.split(".")]


def interpreter_tags(
    python_version: str | None, implementation: str = "cpython", free_threaded: bool = False
) -> list[str]:
    """The wheel tags an interpreter of this version supports on this machine (most specific first).

    Built with ``packaging.tags`` for the *environment's* Python, not the one running envkernels.
    """
    from packaging import tags

    parts = (python_version or "").split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return [str(t) for t in tags.sys_tags()]
    py = (int(parts[0]), int(parts[1]))
    platforms = list(tags.platform_tags())
    if implementation == "cpython":
        abi = f"cp{py[0]}{py[1]}{'t' if free_threaded else ''}"
        found = list(tags.cpython_tags(py, [abi], platforms))
        found += list(tags.compatible_tags(py, f"cp{py[0]}{py[1]}", platforms))
    else:
        interp = f"{tags.INTERPRETER_SHORT_NAMES.get(implementation, implementation)}{py[0]}{py[1]}"
        found = list(tags.generic_tags(interp, None, platforms)) + list(
            tags.compatible_tags(py, interp, platforms)
        )
    return [str(t) for t in found]
