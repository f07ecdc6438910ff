"""The CLI's cached verdicts: a repeated `envkernels check` answered without discovery or the check engine.

A whole-process ``check`` pays Python's start and its imports; on an unchanged environment (a CI
step, a pre-commit hook, a prompt asking again) the rules' answer is the one the last run gave.
After a run of ``check [TARGET] [--json] [--strict]``, the verdict is stored with the stamps
(``core/stamps.py``: mtime, size, inode) of every path it depended on: what resolving TARGET
read (TARGET itself, or, without one, the project files that could appear in the current
directory or above it and change which environment is meant; the environment's record, as
``discovery.probe.record_dependencies`` lists it) and what the check read (every distribution's
metadata, ``.pth`` files, the project and lock files). The next identical question is answered
from that entry when every path still ``stat``s the same, importing only ``os``, ``marshal``,
``zlib`` and this package's small modules (not even ``json``: the entry is marshalled and holds
the ``--json`` text as printed); any change, or any doubt, takes the full path. The entry lives in
the check's cache directory, which only its user can write (marshal trusts what it reads).

The question: TARGET as given, the current directory (no TARGET, or a relative one), envkernels'
version and interpreter, the check cache's schema, the machine, and the environment variables
discovery and the check read. Not cached: ``--lock``, ``--notebook``, ``ENVKERNELS_NO_CACHE``, a
report with input errors, and a TARGET that only a discovery scan resolves (an id or name from
``list``, a project whose environment lives in a tool's directory: hatch, PDM central venvs).
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

from envkernels._version import __version__
from envkernels.core.stamps import stamps as stamp_paths
from envkernels.core.stamps import still_valid
from envkernels.inspect import cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from envkernels.model import Environment

SCHEMA = 2  # 2: the entry holds the text output (render/text.py), without and with colour
# Variables whose value may change which environment TARGET names or what the check says: a
# superset of the discovery cache's key (tests/inspect/test_check_verdicts.py holds it so).
ENV_PREFIXES: tuple[str, ...] = (
    "HOME",
    "PATH",
    "WORKON_HOME",
    "XDG_",
    "POETRY_",
    "PDM_",
    "HATCH_",
    "PIPENV_",
    "CONDA",
    "MAMBA_",
    "PIXI_",
    "PYENV_",
    "UV_",
    "VIRTUAL_ENV",
    "PYTHON",
    "ENVKERNELS_",
)


def _parse(argv: Sequence[str]) -> tuple[str | None, bool, bool] | None:
    """``(target, --json, --strict)`` of ``check [TARGET] [--json] [--strict]``; None for anything else."""
    if not argv or argv[0] != "check":
        return None
    target = None
    as_json = strict = False
    for arg in argv[1:]:
        if arg == "--json":
            as_json = True
        elif arg == "--strict":
            strict = True
        elif arg.startswith("-") or target is not None or not arg:
            return None  # another option (argparse's abbreviations too): the full path decides
        else:
            target = arg
    return target, as_json, strict


def question(target: str | None) -> list[Any]:
    """What a verdict answers (JSON-shaped, so that a stored one compares equal)."""
    relative = target is None or not os.path.isabs(os.path.expanduser(target))
    environ = sorted([k, v] for k, v in os.environ.items() if k.startswith(ENV_PREFIXES))
    machine = os.uname().machine if hasattr(os, "uname") else ""
    cwd = os.getcwd() if relative else ""
    return [SCHEMA, __version__, cache.SCHEMA, target, cwd, sys.prefix, sys.executable, machine, environ]


def _path(q: list[Any]) -> str:
    # crc32, not sha256: hashlib loads OpenSSL; the stored question is compared whole anyway.
    key = zlib.crc32(repr(q).encode("utf-8", "surrogateescape"))
    return os.path.join(cache.cache_dir(), f"verdict-{key:08x}.m{marshal.version}")


def _well_formed(report: object) -> bool:
    if not isinstance(report, dict) or not isinstance(report.get("environment"), dict):
        return False
    findings = report.get("findings")
    if not isinstance(findings, list) or report.get("input_errors"):
        return False
    return all(
        isinstance(f, dict) and all(isinstance(f.get(k), str) for k in ("severity", "code", "message"))
        for f in findings
    )


def answer(argv: Sequence[str]) -> int | None:
    """Print the stored verdict for ``argv`` and return its exit code; None when it must be computed."""
    parsed = _parse(argv)
    if parsed is None or os.environ.get("ENVKERNELS_NO_CACHE"):
        return None
    target, as_json, strict = parsed
    try:
        q = question(target)
    except OSError:  # the current directory was removed
        return None
    try:
        with open(_path(q), "rb") as fh:
            data = marshal.loads(fh.read())
    except Exception:  # missing, cut short, another Python's format: compute it
        return None
    if not isinstance(data, dict) or data.get("question") != q or not data.get("stamps"):
        return None
    report, text, shown = data.get("report"), data.get("json"), data.get("text")
    if not isinstance(report, dict) or not _well_formed(report) or not isinstance(text, str):
        return None
    if not isinstance(shown, tuple) or len(shown) != 2 or not all(isinstance(s, str) for s in shown):
        return None
    if not still_valid(data["stamps"]):
        return None
    from envkernels.cli.output import check_exit_code, use_colour

    try:
        if as_json:
            sys.stdout.write(text)
        else:
            sys.stdout.write(shown[use_colour(sys.stdout)])
        sys.stdout.flush()
    except BrokenPipeError:
        return 0
    return check_exit_code(report, strict)


def resolve(target: str | None) -> tuple[Environment, list[Any] | None]:
    """The environment TARGET names (:func:`envkernels.api.resolve`) and the stamps of what naming it read.

    The stamps are None when a discovery scan resolved it (what a scan depends on is the discovery
    cache's business), or when the record changed while it was being stamped.
    """
    from envkernels import api
    from envkernels.discovery import scan
    from envkernels.discovery.probe import record_dependencies
    from envkernels.discovery.projects import PROJECT_MARKERS

    before = scan.cache_stats()
    env = api.resolve(target)
    after = scan.cache_stats()
    if (before["scans"], before["hits"]) != (after["scans"], after["hits"]):
        return env, None
    if target is None:  # a project marker created in any directory above makes that project's env meant
        paths, current = [], os.getcwd()
        while True:
            paths += [f"{current.rstrip('/')}/{name}" for name in PROJECT_MARKERS]
            if os.path.dirname(current) == current:
                break
            current = os.path.dirname(current)
    else:
        paths = [os.path.abspath(os.path.expanduser(target))]
    stamps = stamp_paths([*paths, *record_dependencies(env)])
    again = api.resolve(target)  # read after the stamps: a change in between is caught next time
    return again, (stamps if again == env else None)


def advisory_stamps() -> list[Any]:
    """Stamps of what chooses the advisories a conflict's advice reads (``audit.local.choice_paths``)."""
    from envkernels.audit.local import choice_paths

    return [list(s) for s in stamp_paths(choice_paths())]


def store(
    target: str | None, stamps: list[Any], report: dict[str, Any], text: str, shown: tuple[str, str]
) -> None:
    """Keep ``report`` (``text``: its ``--json`` output; ``shown``: its text output without and with
    colour, as ``render/text.py`` wrote them) as the verdict for ``check TARGET``.

    Valid while every stamp holds. Written atomically; a cache that cannot be written is skipped.
    """
    if not _well_formed(report) or not stamps:
        return
    try:
        q = question(target)
        path = _path(q)
        blob = marshal.dumps({"question": q, "stamps": stamps, "report": report, "json": text, "text": shown})
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except (OSError, ValueError):
        return
