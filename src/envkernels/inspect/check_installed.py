"""Rules on what is installed: ``broken-requirement`` (= ``pip check``), ``duplicate-distribution``,
``invalid-metadata``."""

from __future__ import annotations

import os
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from envkernels.core.distributions import InstalledDistribution, base_site_packages, folder_name
from envkernels.inspect import cache, hints
from envkernels.inspect.broken import BrokenRequirement, RequirementMemo, interpreter_tags, pip_check
from envkernels.inspect.context import CheckContext
from envkernels.model import Finding

_MEMOS: dict[str, RequirementMemo] = {}
_MEMO_LIMIT = 50_000  # entries; past this the on-disk memo starts afresh


def load_memo(markers: dict[str, str]) -> RequirementMemo:
    """The requirement memo for this marker environment: in-process, else from disk, else new."""
    key = cache.key_hash("requirements", sorted(markers.items()))
    memo = _MEMOS.get(key)
    if memo is None:
        data = cache.load("requirements", key) or {}
        parsed, verdicts = data.get("parsed"), data.get("verdicts")
        memo = RequirementMemo(
            markers,
            parsed if isinstance(parsed, dict) else None,
            verdicts if isinstance(verdicts, dict) else None,
        )
        _MEMOS[key] = memo
    return memo


def save_memo(memo: RequirementMemo) -> None:
    """Write the memo back when it learnt something (atomically; skipped when the cache is off)."""
    if not memo.changed:
        return
    memo.changed = False
    if len(memo.parsed) > _MEMO_LIMIT:
        memo.parsed.clear()
        memo.verdicts.clear()
    key = cache.key_hash("requirements", sorted(memo.environment.items()))
    cache.store("requirements", key, [], {"parsed": memo.parsed, "verdicts": memo.verdicts})


def _without_marker(text: str) -> str:
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return text.split(";", 1)[0].strip()
    req.marker = None
    return str(req)


def broken_requirements(ctx: CheckContext) -> list[Finding]:
    """``pip check``'s lines as findings, plus ``invalid-metadata`` for what pip cannot read."""
    env = ctx.env
    dists = ctx.inventory.distributions
    memo = load_memo(ctx.markers) if ctx.use_cache else RequirementMemo(ctx.markers)
    result = pip_check(
        dists,
        ctx.markers,
        lambda: interpreter_tags(env.python_version, env.implementation, env.free_threaded),
        memo,
    )
    if ctx.use_cache:
        save_memo(memo)
    unreadable = {p.package: p for p in result.problems}
    findings: list[Finding] = []
    advised: dict[str, str] = {}  # one resolution per package that must move
    for b in result.broken:
        if b.kind == "missing":
            note = " (it is there, but its metadata cannot be read)" if b.dependency in unreadable else ""
            findings.append(
                Finding(
                    "broken-requirement",
                    "error",
                    b.package,
                    f"{b.package} {b.version} requires `{b.requirement}`, which is not installed{note}",
                    hints.uv_install(env, _without_marker(b.requirement or ""), reinstall=bool(note)),
                )
            )
        elif b.kind == "conflicting":
            findings.append(
                Finding(
                    "broken-requirement",
                    "error",
                    b.package,
                    f"{b.package} {b.version} requires `{b.requirement}`, "
                    f"but {b.dependency} {b.installed} is installed",
                    _conflict_hint(ctx, b, advised),
                )
            )
        else:
            findings.append(
                Finding(
                    "broken-requirement",
                    "error",
                    b.package,
                    f"{b.package} {b.version} is not supported on this platform "
                    "(a wheel built for another one)",
                    hints.uv_install(env, f"{b.package}=={b.version}", reinstall=True),
                )
            )
    seen_paths: set[str] = set()
    for p in result.problems:
        seen_paths.add(p.path)
        findings.append(
            Finding(
                "invalid-metadata",
                "error",
                p.package,
                f"{p.package} {p.version}: metadata in `{p.path}` cannot be read ({p.reason}); "
                "`pip check` fails on it",
                hints.uv_install(
                    env, f"{p.package}=={p.version}" if p.version else p.package, reinstall=True, no_deps=True
                ),
            )
        )
    for d in dists:
        if d.problem and d.path not in seen_paths:
            findings.append(_invalid(ctx, d))
    return findings


def _conflict_hint(ctx: CheckContext, b: BrokenRequirement, advised: dict[str, str]) -> str:
    """How to fix a conflicting requirement, resolved with uv (``inspect/advice.py``).

    The dependency moves forward where what requires it allows; otherwise those dependents move
    forward too (and the hint says so); only when neither resolves may it go back, and never onto
    a release the advisories on this machine (``ctx.advisories``) know to be vulnerable: then the
    hint says what requires it must move. This runs only for a check that found a conflict, and
    uv's answer is cached.
    """
    target = b.dependency or ""
    if target in advised:
        return advised[target]
    from envkernels.inspect import advice

    fallback = hints.uv_install(ctx.env, _without_marker(b.requirement or ""))
    if not ctx.env.python or not target:
        return fallback
    dependents = advice.dependents_of(target, ctx.inventory.distributions, ctx.markers)
    local = ctx.advisories
    found = advice.resolve_fix(
        ctx.env.python,
        target,
        b.installed,
        dependents,
        vulnerable=local.vulnerable if local is not None else None,
        allow_downgrade=True,
        use_cache=ctx.use_cache,
    )
    if local is not None:
        ctx.inputs.extend(local.paths)  # new advisory data may change this hint
    if found.pins:
        hint = hints.resolved_install(ctx.env, found)
    elif found.excluded and local is not None:
        hint = hints.blocked_by_advisories(ctx.env, found, local.label)
    else:
        # uv found no solution at all: the requirement itself is the only fix to name.
        hint = hints.unresolved(ctx.env, found, [target, *(d.name for d in dependents)]) or fallback
    advised[target] = hint
    return hint


def _invalid(ctx: CheckContext, d: InstalledDistribution) -> Finding:
    name = folder_name(os.path.basename(d.path)) or d.normalized
    pin = f"{name}=={d.pip_version}" if d.pip_version else name
    return Finding(
        "invalid-metadata",
        "warning",
        name,
        f"{name} {d.pip_version or '?'}: {d.problem} (in `{d.path}`)",
        hints.uv_install(ctx.env, pin, reinstall=True, no_deps=True),
    )


def duplicates(ctx: CheckContext) -> list[Finding]:
    """Two copies of one distribution on the path: the first shadows the others."""
    groups: dict[str, list[InstalledDistribution]] = {}
    for d in ctx.inventory.distributions:
        groups.setdefault(folder_name(os.path.basename(d.path)), []).append(d)
    findings = []
    for name, copies in groups.items():
        if len(copies) < 2:
            continue
        first = copies[0]
        shadowed = [c for c in copies[1:] if not _build_leftover(first, c)]
        if not shadowed:
            continue
        where = ", ".join(f"{c.pip_version} in `{c.path}`" for c in shadowed)
        same_dir = all(c.site_packages == first.site_packages for c in shadowed)
        hint = (
            hints.uv_install(ctx.env, f"{name}=={first.pip_version}", reinstall=True)
            if same_dir
            else f"remove the shadowed copy (`{shadowed[0].path}`) or uninstall it from where it came from"
        )
        # A venv made with --system-site-packages overriding its base interpreter's copy does what
        # it was made for: said, but only as info.
        base = {os.path.realpath(p) for p in base_site_packages(Path(ctx.env.prefix))}
        overrides_base = _inside(first.path, ctx.env.prefix) and all(
            os.path.realpath(c.site_packages) in base for c in shadowed
        )
        if overrides_base:
            hint = (
                f"nothing to do if the override is intended; {hints.uv_uninstall(ctx.env, name)} "
                "falls back to the base interpreter's copy"
            )
        findings.append(
            Finding(
                "duplicate-distribution",
                "info" if overrides_base else "warning",
                name,
                f"{name} is installed {len(copies)} times: {first.pip_version} in `{first.path}` is used, "
                f"shadowing {where}",
                hint,
            )
        )
    return findings


def _inside(path: str, prefix: str) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(prefix) + os.sep)


def _build_leftover(first: InstalledDistribution, other: InstalledDistribution) -> bool:
    """An ``*.egg-info`` that setuptools left in the source tree of an editable install of the same name."""
    if not first.editable or other.kind != "egg-info":
        return False
    loc = first.editable_location
    return bool(loc) and os.path.realpath(other.path).startswith(os.path.realpath(loc or "") + os.sep)
