"""Fixes that fix: the versions a package (and, when it must, what requires it) should move to.

One resolution for the check and the audit. A package ``target`` has to change (a requirement of
another distribution is not met, or its installed release is vulnerable); what may it become?
``uv pip compile`` answers for the environment's interpreter, in stages, the first that resolves
winning:

1. ``target`` moves forward, every installed distribution that requires it stays where it is;
2. ``target`` and those dependents all move forward (``>=`` what is installed): a dependent whose
   range holds no acceptable ``target`` must move too, and the advice says so;
3. only for a broken requirement: ``target`` may go back, the dependents staying.

When the audit's advisories are at hand (``vulnerable``), every version a stage resolves to for
``target`` or a dependent is checked against them; a vulnerable one is excluded (``!=``) and the
stage resolved again, so the advice never names a release the audit knows to be vulnerable. The
check has them too when they can be read without the network (:class:`LocalAdvisories`: the
audit's configured local OSV database, or the OSV API answers the audit cached; built by
``audit.run.local_advisories`` and passed in by the front ends): a downgrade onto a vulnerable
release is then not advised, and the advice says that what requires the package must move.

uv runs online first and, when the index cannot be reached, ``--offline`` from its cache. When
neither answers, the advice carries no versions (``pins`` empty, ``reason`` says why) and the
caller gives a hint without versions rather than a guess. Answers are kept in memory and on disk
(``<cache>/advice``) for a day (an offline answer for ten minutes, so the index is asked again
soon); nothing here runs unless a caller has something to advise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envkernels.cachedir import cache_dir, write_atomic
from envkernels.core.distributions import InstalledDistribution
from envkernels.errors import EnvKernelsError
from envkernels.inspect.broken import RequirementMemo, visible_distributions

Vulnerable = Callable[[str, str], bool]
"""``vulnerable(name, version)``: True when the advisories in use name that release."""

ONLINE_TTL = 86400.0
OFFLINE_TTL = 600.0
UV_TIMEOUT = 120.0
_ROUNDS = 8  # vulnerable versions excluded one resolution at a time, at most this many times
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")
_MEMO: dict[str, tuple[float, dict[str, object]]] = {}


@dataclass(frozen=True)
class LocalAdvisories:
    """Advisories the check may consult: read from disk only, never the network.

    ``vulnerable`` answers False for a release the data cannot vet (the check does not claim to
    have vetted anything; it only avoids what it knows to be vulnerable). ``label`` names the
    source (part of the check's cache key); ``paths`` are the files and directories it reads (the
    check's cache stamps them, so new advisory data gives a new verdict).
    """

    vulnerable: Vulnerable
    label: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dependent:
    """An installed distribution that requires ``target``: its version and the requirement as written."""

    name: str
    version: str
    requirement: str


@dataclass(frozen=True)
class Advice:
    """What to install: ``pins`` (``(name, version)``, target first) and which dependents had to move.

    ``pins`` is empty when no versions could be resolved; ``reason`` then says why
    (``unreachable``: the index and uv's cache could not answer; ``unvetted``: the advisory
    source could not say whether a resolved release is vulnerable; ``unsatisfiable``: no release
    that the advisories allow fits what depends on it).
    """

    target: str
    pins: tuple[tuple[str, str], ...] = ()
    moved: tuple[Dependent, ...] = ()
    dependents: tuple[Dependent, ...] = ()
    offline: bool = False
    reason: str | None = None
    downgrade: bool = False  # the target goes back (no newer release fits what requires it)
    detail: str | None = None  # uv's own words when it failed for another reason than the network
    # Releases a resolution named and the advisories showed vulnerable, so they were excluded.
    excluded: tuple[tuple[str, str], ...] = ()


def dependents_of(
    target: str, dists: Sequence[InstalledDistribution], markers: dict[str, str]
) -> tuple[Dependent, ...]:
    """The visible distributions whose requirements (markers holding, no extras) name ``target``."""
    memo = RequirementMemo(markers)
    found: list[Dependent] = []
    for d in visible_distributions(dists):
        if d.normalized == target or not d.readable:
            continue
        for text in d.requires:
            try:
                name, _spec, marker, display = memo.parse(text.strip())
            except ValueError:
                continue
            if name == target and memo.holds(marker):
                found.append(Dependent(d.normalized, d.pip_version, display))
                break
    return tuple(sorted(found, key=lambda x: x.name))


def resolve_fix(
    python: str,
    target: str,
    installed: str | None,
    dependents: Sequence[Dependent],
    *,
    vulnerable: Vulnerable | None = None,
    allow_downgrade: bool = False,
    use_cache: bool = True,
    end: float | None = None,
) -> Advice:
    """The advice for moving ``target`` (installed at ``installed``) in the environment of ``python``.

    ``end``: a ``time.monotonic()`` moment by which uv must have answered (the audit's deadline);
    past it the advice carries no versions (``reason="deadline"``).
    """
    floor = f">={installed}" if _pep440(installed) else ""
    # A dependent whose version is not PEP 440 (a local build) cannot be pinned in a requirement.
    dependents = [d for d in dependents if _pep440(d.version)]
    stages: list[list[tuple[str, str]]] = [
        [(target, floor), *((d.name, f"=={d.version}") for d in dependents)],
    ]
    if dependents:
        stages.append([(target, floor), *((d.name, f">={d.version}") for d in dependents)])
    if allow_downgrade and installed:
        stages.append([(target, ""), *((d.name, f"=={d.version}") for d in dependents)])
    offline = False
    excluded: dict[tuple[str, str], None] = {}
    try:
        for stage in stages:
            pins, stage_offline = _resolve_stage(python, stage, vulnerable, use_cache, end, excluded)
            offline = offline or stage_offline
            if pins is None:
                continue
            moved = tuple(d for d in dependents if not _same(pins.get(d.name, d.version), d.version))
            chosen = [(target, pins[target])] + [(d.name, pins[d.name]) for d in moved]
            back = _pep440(installed) and _pep440(pins[target]) and _older(pins[target], str(installed))
            return Advice(target, tuple(chosen), moved, tuple(dependents), offline, downgrade=back)
    except _OutOfTime:
        return Advice(target, dependents=tuple(dependents), reason="deadline")
    except _UvFailed as exc:
        return Advice(target, dependents=tuple(dependents), reason="uv-failed", detail=str(exc))
    except _Unreachable:
        return Advice(target, dependents=tuple(dependents), reason="unreachable")
    except Unvetted:
        return Advice(target, dependents=tuple(dependents), reason="unvetted")
    return Advice(
        target,
        dependents=tuple(dependents),
        offline=offline,
        reason="unsatisfiable",
        excluded=tuple(excluded),
    )


def _same(a: str, b: str) -> bool:
    """Equal as PEP 440 versions (``1.0`` and ``1.0.0`` are one release)."""
    from packaging.version import Version

    return a == b or (_pep440(a) and _pep440(b) and Version(a) == Version(b))


def _older(a: str, b: str) -> bool:
    from packaging.version import Version

    return Version(a) < Version(b)


def _pep440(version: str | None) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(version or "")
    except InvalidVersion:
        return False
    return True


class _Unreachable(Exception):
    """Neither the index nor uv's cache could answer."""


class _UvFailed(Exception):
    """uv failed for a reason of its own (no such interpreter, ...): its error line is the message."""


class _OutOfTime(Exception):
    """The caller's time ran out before uv answered."""


class Unvetted(Exception):
    """Raised by a ``vulnerable`` callback that cannot say (its advisory source did not answer)."""


def _resolve_stage(
    python: str,
    stage: list[tuple[str, str]],
    vulnerable: Vulnerable | None,
    use_cache: bool,
    end: float | None,
    dropped: dict[tuple[str, str], None] | None = None,
) -> tuple[dict[str, str] | None, bool]:
    """Resolve one stage; exclude vulnerable results and resolve again. (pins or None, offline).

    ``dropped`` receives every ``(name, version)`` excluded as vulnerable.
    """
    excluded: dict[str, list[str]] = {}
    offline = False
    for _round in range(_ROUNDS):
        lines = [
            name + ",".join(filter(None, [spec, *(f"!={v}" for v in excluded.get(name, ()))]))
            for name, spec in stage
        ]
        answer = _compile(python, lines, use_cache, end)
        offline = offline or bool(answer.get("offline"))
        pins = answer.get("pins")
        if not isinstance(pins, dict):
            return None, offline
        bad = [
            (n, str(pins[n]))
            for n, _spec in stage
            if n in pins and vulnerable and vulnerable(n, str(pins[n]))
        ]
        if not bad:
            return {str(k): str(v) for k, v in pins.items()}, offline
        for name, version in bad:
            excluded.setdefault(name, []).append(version)
            if dropped is not None:
                dropped[(name, version)] = None
    return None, offline


def _compile(python: str, lines: list[str], use_cache: bool, end: float | None = None) -> dict[str, object]:
    """``uv pip compile`` of ``lines`` for ``python``: ``{"pins": {name: version} | None, "offline"}``.

    ``pins`` is None when uv found no solution. Raises _Unreachable when uv could not ask the index
    and its cache did not hold the answer either.
    """
    key = hashlib.sha256(
        json.dumps(
            [python, _interpreter_stamp(python), sorted(lines), _index_settings()], sort_keys=True
        ).encode()
    ).hexdigest()[:32]
    now = time.time()
    if use_cache:
        hit = _MEMO.get(key) or _load(key)
        if hit is not None:
            stored, answer = hit
            ttl = OFFLINE_TTL if answer.get("offline") else ONLINE_TTL
            if now - stored < ttl:
                _MEMO[key] = hit
                return answer
    answer = _run_uv(python, lines, end)
    if use_cache:
        _MEMO[key] = (now, answer)
        _store(key, now, answer)
    return answer


def _run_uv(python: str, lines: list[str], end: float | None = None) -> dict[str, object]:
    from envkernels._subprocess import run
    from envkernels.errors import CommandError
    from envkernels.uvbin import uv_binary

    try:
        uv = uv_binary()
    except EnvKernelsError as exc:
        raise _UvFailed(exc.message) from exc
    base = [uv, "pip", "compile", "-", "--python", python, "--no-header", "--no-annotate", "--quiet"]
    # Advice is not worth a long wait: one retry, then uv's cache.
    env = {
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_HTTP_TIMEOUT": os.environ.get("UV_HTTP_TIMEOUT", "15"),
        "UV_HTTP_RETRIES": os.environ.get("UV_HTTP_RETRIES", "1"),
    }
    text = "\n".join(lines) + "\n"
    failure = ""
    for offline in (False, True):
        argv = base + (["--offline"] if offline else [])
        limit = UV_TIMEOUT if end is None else min(UV_TIMEOUT, end - time.monotonic())
        if limit <= 0:
            raise _OutOfTime
        try:
            proc = run(argv, env=env, input=text, timeout=limit)
        except CommandError as exc:
            if exc.returncode == -1 and end is not None and time.monotonic() >= end:
                raise _OutOfTime from exc
            # 1: uv resolved and found no solution (online, that is the answer); else it could not ask.
            if exc.returncode == 1 and "No solution found" in exc.stderr and not offline:
                return {"pins": None, "offline": False}
            failure = exc.stderr
            continue
        pins = {}
        for line in proc.stdout.splitlines():
            m = _PIN.match(line.strip())
            if m:
                pins[_canonical(m.group(1))] = m.group(2)
        return {"pins": pins, "offline": offline}
    # Offline, uv names the cache or the disabled network when only the index was missing.
    if failure and not re.search(r"cache|network", failure, re.IGNORECASE):
        errors = [ln.strip() for ln in failure.splitlines() if ln.strip().startswith("error:")]
        raise _UvFailed((errors or [failure.strip().splitlines()[-1]])[0].removeprefix("error: "))
    raise _Unreachable


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _interpreter_stamp(python: str) -> list[object]:
    """The interpreter's identity: a new Python at the same path resolves differently."""
    try:
        st = os.stat(python)
    except OSError:
        return []
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _index_settings() -> list[str | None]:
    """The settings that choose the index uv asks (a different index, a different answer)."""
    names = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL", "PIP_INDEX_URL")
    return [os.environ.get(n) for n in names]


def _path(key: str) -> str:
    return os.path.join(cache_dir(), "advice", f"{key}.json")


def _load(key: str) -> tuple[float, dict[str, object]] | None:
    try:
        with open(_path(key), encoding="utf-8") as fh:
            data = json.load(fh)
        return float(data["stored"]), dict(data["answer"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(key: str, stored: float, answer: dict[str, object]) -> None:
    from pathlib import Path

    # A read-only cache only costs a resolution next time.
    with contextlib.suppress(OSError):
        write_atomic(Path(_path(key)), json.dumps({"stored": stored, "answer": answer}).encode())


def forget() -> None:
    """Drop the in-process answers (the on-disk ones keep their time limits)."""
    _MEMO.clear()
