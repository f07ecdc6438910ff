"""Rules on what the project declares: ``missing-declared``, ``declared-version-mismatch``,
``python-mismatch``."""

from __future__ import annotations

import os
import re

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envkernels.inspect import hints
from envkernels.inspect.context import CheckContext
from envkernels.inspect.declared import DeclaredRequirement
from envkernels.inspect.markers import evaluate, full_version
from envkernels.model import Finding, Severity

_MISSING_SEVERITY: dict[str, Severity] = {"required": "error", "default": "warning"}
_MISMATCH_SEVERITY: dict[str, Severity] = {"required": "error"}
_LEVEL_RANK = {"required": 0, "default": 1, "optional": 2, "constraint": 3}
_PY_REQUEST = re.compile(r"^(?:(cpython|pypy|graalpy|python)[-@]?)?(\d+(?:\.\d+){0,2})(t?)\b", re.IGNORECASE)


def _applies(req: DeclaredRequirement, markers: dict[str, str]) -> bool:
    if not req.marker:
        return True
    try:
        marker = Marker(req.marker)
    except InvalidMarker:
        return True
    return evaluate(marker, markers, extra="")


def satisfies(version: str, specifiers: tuple[str, ...]) -> bool | None:
    """True when ``version`` satisfies any alternative; None when it cannot be judged."""
    try:
        v = Version(version)
    except InvalidVersion:
        return None
    for alt in specifiers:
        try:
            if SpecifierSet(alt).contains(v, prereleases=True):
                return True
        except InvalidSpecifier:
            return None
    return False


def _spec_text(specifiers: tuple[str, ...]) -> str:
    return " || ".join(s for s in specifiers if s) or "any version"


def declared_requirements(ctx: CheckContext) -> list[Finding]:
    """Each declared requirement that applies here, against what is installed."""
    decl = ctx.declarations
    if decl is None:
        return []
    installed = ctx.inventory.by_name()
    own_env = bool(ctx.env.project) and os.path.realpath(ctx.env.project or "") == os.path.realpath(
        decl.project
    )
    sync = hints.project_sync(decl.manager, decl.project) if own_env else None
    by_name: dict[str, list[DeclaredRequirement]] = {}
    for req in decl.requirements:
        if _applies(req, ctx.markers):
            by_name.setdefault(req.name, []).append(req)
    findings: list[Finding] = []
    for name, reqs in by_name.items():
        if decl.project_name and name == decl.project_name.lower().replace("_", "-"):
            continue
        reqs.sort(key=lambda r: _LEVEL_RANK.get(r.level, 9))
        strongest = reqs[0]
        dist = installed.get(name)
        where = ", ".join(dict.fromkeys(f"`{os.path.basename(r.source)}` ({r.group})" for r in reqs))
        if dist is None:
            severity = _MISSING_SEVERITY.get(strongest.level)
            if severity is None:
                continue
            text = strongest.text.split(";", 1)[0].strip() if not strongest.direct else name
            findings.append(
                Finding(
                    "missing-declared",
                    severity,
                    name,
                    f"{name} is declared in {where} but not installed",
                    sync or hints.uv_install(ctx.env, text),
                )
            )
            continue
        for req in reqs:
            if req.direct:
                continue
            ok = satisfies(dist.pip_version, req.specifiers)
            if ok is False:
                severity = _MISMATCH_SEVERITY.get(req.level, "warning")
                want = _spec_text(req.specifiers)
                fix = req.specifiers[0] if len(req.specifiers) == 1 else req.specifiers[-1]
                findings.append(
                    Finding(
                        "declared-version-mismatch",
                        severity,
                        name,
                        f"{name} {dist.pip_version} is installed, but `{os.path.basename(req.source)}` "
                        f"({req.group}) declares {want}",
                        sync or hints.uv_install(ctx.env, f"{name}{fix}"),
                    )
                )
                break
    return findings


def python_version(ctx: CheckContext) -> list[Finding]:
    """``requires-python`` and ``.python-version`` against the environment's interpreter."""
    decl = ctx.declarations
    if decl is None or not ctx.env.python_version:
        return []
    current = full_version(ctx.env.python_version)
    findings: list[Finding] = []
    if decl.requires_python:
        spec, source = decl.requires_python
        ok = satisfies(current, tuple(s.strip() for s in spec.split("||")))
        if ok is False:
            findings.append(
                Finding(
                    "python-mismatch",
                    "error",
                    None,
                    f"the environment runs Python {current}, but `{source}` requires-python `{spec}`",
                    hints.recreate_with_python(ctx.env, spec.split("||")[0].strip()),
                )
            )
    if decl.python_pin:
        request, source = decl.python_pin
        m = _PY_REQUEST.match(request.strip())
        if m:
            want = m.group(2)
            impl = (m.group(1) or "").lower()
            parts_ok = current.split(".")[: len(want.split("."))] == want.split(".")
            impl_ok = (impl in ("", "python", "cpython") and ctx.env.implementation == "cpython") or (
                impl == (ctx.env.implementation or "").lower()
            )
            ft_ok = bool(m.group(3)) == bool(ctx.env.free_threaded) or not m.group(3)
            if not (parts_ok and impl_ok and ft_ok):
                findings.append(
                    Finding(
                        "python-mismatch",
                        "error",
                        None,
                        f"the environment runs {ctx.env.implementation} {current}"
                        f"{' (free-threaded)' if ctx.env.free_threaded else ''}, "
                        f"but `{source}` pins `{request.strip()}`",
                        hints.recreate_with_python(ctx.env, request.strip()),
                    )
                )
    return findings
