"""``envkernels kernels prepare --dest DIR``: one ipykernel overlay per Python, built once for every user.

An administrator runs it (on a machine that reaches the package index) for each Python version
found in the shared roots, or the ``--python`` interpreters/versions given; ``DIR/<tag>`` (``cp312``,
``cp313t``) then holds ipykernel and its dependencies, readable by everyone (files ``0644``,
directories ``0755``), ``DIR/overlays.json`` says what was built from which interpreter, and
``DIR/discovery.json`` is a snapshot of the shared roots' environments that servers read instead
of walking the roots while it is still true (:mod:`envkernels.discovery.snapshot`).
Every user's server names DIR in ``c.EnvKernelSpecManager.overlay_dirs`` (or
``$ENVKERNELS_OVERLAY_DIRS``): a kernel whose Python has a prepared overlay starts from it and
nothing is downloaded, which is what makes an air-gapped hub work.

An overlay that already exists in DIR is kept (rebuilding one that running kernels import from
would pull files from under them); ``--rebuild`` replaces it atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envkernels._subprocess import run
from envkernels.cachedir import write_atomic
from envkernels.errors import BadInputError, UsageError
from envkernels.kernels.overlay import MIN_OVERLAY_PYTHON, build_overlay, interpreter_tag, is_built
from envkernels.uvbin import uv_binary

MANIFEST = "overlays.json"
# Prints what the overlay of this interpreter is keyed by (as kernel_side/launch.py computes it).
_TAG_PROBE = (
    "import sys, sysconfig, json; "
    "print(json.dumps([sys.implementation.name, '%d.%d.%d' % sys.version_info[:3], "
    "bool(sysconfig.get_config_var('Py_GIL_DISABLED'))]))"
)


@dataclass(frozen=True)
class Prepared:
    """One overlay in DIR: its tag, the interpreter it was built for, and whether this run built it."""

    tag: str
    python: str
    path: str
    built: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (``--json``, the manifest)."""
        return {"tag": self.tag, "python": self.python, "path": self.path, "built": self.built}


def _interpreter_facts(python: str) -> tuple[str, str, bool]:
    """(implementation, version, free-threaded) of an interpreter, asked of the interpreter itself."""
    proc = run([python, "-c", _TAG_PROBE], hint=f"`{python}` must be a working Python interpreter")
    impl, version, threaded = json.loads(proc.stdout)
    return str(impl), str(version), bool(threaded)


def find_python(request: str) -> str:
    """An interpreter for ``--python``: a path as it is, a version (``3.12``) found by ``uv python find``."""
    expanded = os.path.expanduser(request)
    if os.sep in request or os.path.exists(expanded):
        if not os.path.exists(expanded):
            raise BadInputError(f"`{request}` does not exist", hint="pass an interpreter path or a version")
        return os.path.abspath(expanded)
    proc = run(
        [uv_binary(), "python", "find", request],
        env={"VIRTUAL_ENV": "", "UV_PYTHON_DOWNLOADS": "never"},
        hint=f"install Python {request} (e.g. `uv python install {request}`), or pass its path",
    )
    return proc.stdout.strip().splitlines()[-1]


def shared_pythons() -> dict[str, str]:
    """``{tag: interpreter}`` of every usable environment under the shared roots (one per tag)."""
    from envkernels.discovery import discover
    from envkernels.shared import shared_roots

    if not shared_roots():
        return {}
    found: dict[str, str] = {}
    for env in discover(default_roots=False):
        if not (env.shared and env.ok and env.python and env.python_version):
            continue
        if env.implementation == "cpython" and _version(env.python_version) < MIN_OVERLAY_PYTHON:
            continue
        found.setdefault(
            interpreter_tag(env.implementation, env.python_version, env.free_threaded), env.python
        )
    return found


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(".")[:2])
    except ValueError:
        return (0,)


def make_readable(directory: Path) -> None:
    """Files ``0644``, directories ``0755`` (executables keep ``x``): every user's kernel reads them."""
    for dirpath, dirnames, filenames in os.walk(directory):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            os.chmod(path, 0o755 if mode & stat.S_IXUSR else 0o644)
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):  # a link's target is not ours to change
                os.chmod(path, 0o755)


def prepare_overlays(
    dest: str | os.PathLike[str], pythons: list[str], *, rebuild: bool = False
) -> list[Prepared]:
    """Build the overlay of each interpreter (or version) in ``pythons``, or of every Python of the
    shared roots when none is given, into ``dest``; returns what DIR now offers."""
    from envkernels.shared import refuse_write

    root = Path(dest).expanduser().resolve()
    refuse_write(root / MANIFEST, "a prepared overlay")  # never inside a shared environment root
    wanted: dict[str, str] = {}
    for request in pythons:
        python = find_python(request)
        impl, version, threaded = _interpreter_facts(python)
        wanted.setdefault(interpreter_tag(impl, version, threaded), python)
    if not pythons:
        wanted = shared_pythons()
        if not wanted:
            raise UsageError(
                "no Python to prepare an overlay for: no usable environment under the shared roots",
                hint="set `ENVKERNELS_SHARED_ROOTS` to the shared roots, or pass `--python 3.12` "
                "(a version or an interpreter path; repeat for more)",
            )
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    done: list[Prepared] = []
    for tag, python in sorted(wanted.items()):
        target = root / tag
        existed = is_built(target)
        if existed and rebuild:
            old = root / f".{tag}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            try:
                build_overlay(python, target)
            except BaseException:
                os.replace(old, target)  # put the working one back
                raise
            shutil.rmtree(old, ignore_errors=True)
            existed = False
        else:
            build_overlay(python, target)
        make_readable(target)
        done.append(Prepared(tag, python, str(target), built=not existed))
    manifest = root / MANIFEST
    previous: dict[str, Any] = {}
    try:
        previous = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    kept = previous.get("overlays") if isinstance(previous, dict) else None
    overlays: dict[str, Any] = kept if isinstance(kept, dict) else {}
    for p in done:
        overlays[p.tag] = {"python": p.python}
    write_atomic(manifest, (json.dumps({"overlays": overlays}, indent=1) + "\n").encode("utf-8"))
    os.chmod(manifest, 0o644)
    from envkernels.discovery import snapshot
    from envkernels.discovery.context import ScanContext
    from envkernels.discovery.scan import scan_roots
    from envkernels.shared import shared_roots

    if shared_roots():  # servers naming DIR read the shared roots from it while it is still true
        ctx = ScanContext()
        records = scan_roots(shared_roots(), ctx)
        snapshot.write(root, shared_roots(), records, ctx.watched)
    return done
