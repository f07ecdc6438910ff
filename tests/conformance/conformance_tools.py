"""The conformance suite's environments and the reference tools' outputs, parsed (see conftest.py).

Every environment is built once per test run with uv from PyPI (uv's cache is kept), in a session
tmp dir, and only read by the tests. What is broken on purpose is broken by uv itself
(``--no-deps``, uninstall, a wheel for another platform) or by *replacing* files (never writing
into an installed file: uv hard-links them from its cache). Every test here is marked
``conformance`` and ``slow`` (the fast loop ``-m "not slow"`` leaves them out).
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envfactory import uv, venv_python

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
# Tools the suite compares with, each in its own venv (pinned: their output formats are parsed).
PIPDEPTREE = "pipdeptree==2.28.0"
PIP_LICENSES = "pip-licenses==5.0.0"


def python311() -> str:
    """A CPython 3.11 (the stack's pins are resolved for it): this one, else pyenv's, else uv's."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11")))
    if found:
        return found[-1]
    proc = uv("python", "find", "3.11", check=False)
    if proc.returncode == 0 and proc.stdout.strip():
        return proc.stdout.strip()
    pytest.skip("no CPython 3.11 on this machine (the conformance stack is pinned for 3.11)")


def site_packages(prefix: Path) -> Path:
    return next(prefix.glob("lib/python3*/site-packages"))


def replace_file(path: Path, data: bytes | str) -> None:
    """New content as a *new* file (an installed file is a hard link into uv's cache)."""
    path.unlink()
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def seeded_venv(prefix: Path) -> Path:
    """A venv with pip in it (so `pip check` runs inside, as a user runs it)."""
    uv("venv", str(prefix), "--seed", "--quiet", "--python", python311())
    return prefix


# Unpinned dependencies resolve as of this date, so every run builds the same environments.
EXCLUDE_NEWER = "2025-06-01T00:00:00Z"


def install(prefix: Path, *args: str) -> None:
    python = str(venv_python(prefix))
    uv("pip", "install", "--quiet", "--exclude-newer", EXCLUDE_NEWER, "--python", python, *args)


# -- the environments --------------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    """An environment broken on purpose: how it is built, and what its breakage is about."""

    name: str
    about: str
    build: Callable[[Path], None]


def _issue_example(prefix: Path) -> None:
    install(prefix, "--no-deps", "pandas==2.2.2")


def _missing(prefix: Path) -> None:
    install(prefix, "requests==2.32.3", "flask==3.1.0")
    uv("pip", "uninstall", "--quiet", "--python", str(venv_python(prefix)), "certifi", "itsdangerous")


def _wrong_version(prefix: Path) -> None:
    install(prefix, "requests==2.32.3")
    install(prefix, "--no-deps", "idna==2.0", "urllib3==1.20", "jinja2==3.1.4", "markupsafe==1.1.1")


def _extras(prefix: Path) -> None:
    # pytest-cov needs `coverage[toml]`: only `coverage` is checked; requests[socks] without PySocks
    # is fine (an extra's requirements are not checked); black's `jupyter` extra is not installed.
    install(prefix, "requests[socks]==2.32.3", "black==24.10.0")
    install(prefix, "--no-deps", "pytest-cov==5.0.0", "pytest==8.3.4", "pluggy==1.5.0", "iniconfig==2.0.0")
    uv("pip", "uninstall", "--quiet", "--python", str(venv_python(prefix)), "pysocks")


def _markers(prefix: Path) -> None:
    # Markers that must not fire here (win32, darwin, python < 3.11, other implementations),
    # next to ones that do and are missing.
    install(
        prefix,
        "--no-deps",
        "pytest==8.3.4",
        "ipython==8.30.0",
        "click==8.1.7",
        "tqdm==4.67.1",
        "anyio==4.7.0",
        "exceptiongroup==1.2.2",
    )


def _names(prefix: Path) -> None:
    # Requirements spelled `typing_extensions`, `jupyter_core`, `Jinja2`... against folders spelled
    # otherwise; one folder renamed to a spelling no installer writes (`Typing.Extensions`).
    install(
        prefix,
        "--no-deps",
        "jupyter-client==8.6.3",
        "jupyter_core==5.7.2",
        "Jinja2==3.1.4",
        "typing_extensions==4.12.2",
        "pydantic==2.10.4",
        "zope.interface==7.2",
    )
    sp = site_packages(prefix)
    old = sp / "typing_extensions-4.12.2.dist-info"
    old.rename(sp / "Typing.Extensions-4.12.2.dist-info")


def _prereleases(prefix: Path) -> None:
    install(
        prefix,
        "--no-deps",
        "pydantic==2.11.5",
        "pydantic-core==2.33.2",
        "annotated-types==0.7.0",
        "typing-inspection==0.4.1",
        "typing_extensions==4.12.0rc1",
        "requests==2.32.3",
        "urllib3==2.0.0a1",
        "idna==3.10",
        "certifi==2025.4.26",
        "charset-normalizer==3.4.2",
        "pytest==8.3.4",
        "iniconfig==2.1.0",
        "pluggy==1.0.0.dev0",
    )


def _folded_license(prefix: Path) -> None:
    # Real wheels whose METADATA folds a whole license text (with whitespace-only lines) into
    # `License:` before their `Requires-Dist`: the reader that stopped there lost them all.
    install(prefix, "--no-deps", "scipy==1.13.1", "jupyter-server==2.14.2", "traitlets==5.14.3")


def _garbage_metadata(prefix: Path) -> None:
    install(prefix, "requests==2.32.3", "click==8.1.7", "six==1.16.0", "attrs==24.2.0")
    sp = site_packages(prefix)
    # Not UTF-8: pip cannot read idna; requests' `idna` is then "not installed".
    idna = next(sp.glob("idna-*.dist-info")) / "METADATA"
    replace_file(idna, b"Metadata-Version: 2.1\nName: idna\n\xff\xfe\x00garbage\n")
    # No header at all (a truncated copy): name and version from the folder.
    replace_file(next(sp.glob("six-*.dist-info")) / "METADATA", "%PDF-1.4 this is not metadata\n\x00\x01\n")
    # An unparsable requirement line.
    meta = next(sp.glob("click-*.dist-info")) / "METADATA"
    text = meta.read_text(encoding="utf-8")
    bad = "Requires-Dist: colorama ;; nonsense ==\nRequires-Python"
    replace_file(meta, text.replace("Requires-Python", bad, 1))
    # Empty METADATA.
    replace_file(next(sp.glob("attrs-*.dist-info")) / "METADATA", b"")


_SETUP_PY = """
from setuptools import setup
setup(
    name="Legacy_Egg",
    version="1.0",
    py_modules=["legacy_egg"],
    install_requires=["six>=1.99", "charset_normalizer", 'absent-on-win; sys_platform == "win32"'],
    extras_require={"extra": ["never-checked"], ":python_version>'3'": ["idna<3"]},
)
"""


def _egg_info(prefix: Path) -> None:
    # An `.egg-info` directory as setuptools writes it (PKG-INFO + requires.txt, no Requires-Dist),
    # placed into site-packages as `setup.py install` did; and a distutils single-file egg-info.
    install(prefix, "six==1.16.0", "idna==3.10", "setuptools<81")
    project = prefix.parent / f"{prefix.name}-legacy-src"
    project.mkdir()
    (project / "setup.py").write_text(_SETUP_PY)
    (project / "legacy_egg.py").write_text("VALUE = 1\n")
    subprocess.run(
        [str(venv_python(prefix)), "setup.py", "-q", "egg_info"], cwd=project, check=True, capture_output=True
    )
    sp = site_packages(prefix)
    egg = next(project.glob("*.egg-info"))
    egg.rename(sp / egg.name)
    (project / "legacy_egg.py").rename(sp / "legacy_egg.py")
    (sp / "Old_Single-0.5-py3.11.egg-info").write_text(
        "Metadata-Version: 1.0\nName: Old_Single\nVersion: 0.5\nRequires: nothing\n"
    )


def _editable(prefix: Path) -> None:
    project = prefix.parent / f"{prefix.name}-project"
    (project / "src" / "envk_editable").mkdir(parents=True)
    (project / "src" / "envk_editable" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "Envk_Editable"\nversion = "0.1.0"\n'
        'dependencies = ["six>=1.16", "attrs<20", "envk-absent-dependency>=1"]\n'
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    install(prefix, "six==1.16.0", "attrs==24.2.0")
    install(prefix, "--no-deps", "-e", str(project))


def _platform(prefix: Path) -> None:
    install(prefix, "--no-deps", "--python-platform", "aarch64-apple-darwin", "markupsafe==3.0.2")
    install(prefix, "--no-deps", "jinja2==3.1.4")


BROKEN: tuple[Broken, ...] = (
    Broken("issue-example", "`--no-deps pandas==2.2.2`: four requirements missing", _issue_example),
    Broken("missing", "certifi and itsdangerous uninstalled under requests and flask", _missing),
    Broken("wrong-version", "idna, urllib3, markupsafe below their dependents' ranges", _wrong_version),
    Broken("extras", "requirements with extras, and extras that are not installed", _extras),
    Broken("markers", "win32/darwin/old-Python markers that must not fire", _markers),
    Broken("names", "Foo_Bar vs foo-bar spellings and a renamed folder", _names),
    Broken("prereleases", "pre-releases that satisfy and that do not", _prereleases),
    Broken("folded-license", "License headers folded with whitespace-only lines", _folded_license),
    Broken(
        "garbage-metadata", "non-UTF-8, header-less, empty METADATA; a bad Requires-Dist", _garbage_metadata
    ),
    Broken("egg-info", "setuptools egg-info directory and a distutils egg-info file", _egg_info),
    Broken("editable", "an editable install whose dependencies are missing or too new", _editable),
    Broken("platform", "a macOS wheel installed on Linux", _platform),
)


# -- the reference tools and their outputs -----------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


Broke = tuple[str, str, str, str]  # (kind, package, dependency, specifier of a conflict, else "")


def _spec(requirement: str) -> str:
    return ",".join(sorted(str(s) for s in Requirement(requirement).specifier))


_PIP_MISSING = re.compile(r"^(\S+) (\S+) requires (\S+), which is not installed\.$")
_PIP_CONFLICT = re.compile(r"^(\S+) (\S+) has requirement (.+), but you have (\S+) (\S+)\.$")
_PIP_UNSUPPORTED = re.compile(r"^(\S+) (\S+) is not supported on this platform$")


@dataclass(frozen=True)
class Verdict:
    """One tool's answer: the broken requirements, the exit code, and lines it printed besides."""

    broken: frozenset[Broke]
    returncode: int
    other: tuple[str, ...] = ()
    unreadable: frozenset[str] = frozenset()  # distributions the tool says it cannot read


def pip_check(prefix: Path, cwd: Path) -> Verdict:
    """``python -m pip check`` inside the environment (from an empty cwd: pip puts cwd on sys.path)."""
    proc = subprocess.run(
        [str(venv_python(prefix)), "-m", "pip", "check", "--disable-pip-version-check"],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    out: set[Broke] = set()
    other = []
    for line in proc.stdout.splitlines():
        if m := _PIP_MISSING.match(line):
            out.add(("missing", canonicalize_name(m[1]), canonicalize_name(m[3]), ""))
        elif m := _PIP_CONFLICT.match(line):
            out.add(("conflicting", canonicalize_name(m[1]), canonicalize_name(m[4]), _spec(m[3])))
        elif m := _PIP_UNSUPPORTED.match(line):
            out.add(("unsupported", canonicalize_name(m[1]), "", ""))
        elif line.strip() and line != "No broken requirements found.":
            other.append(line)
    other += [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return Verdict(frozenset(out), proc.returncode, tuple(other))


_UV_MISSING = re.compile(r"^The package `(\S+)` requires `(.+)`, but it's not installed$")
_UV_CONFLICT = re.compile(r"^The package `(\S+)` requires `(.+)`, but `(\S+)` is installed$")
_UV_PLATFORM = re.compile(r"^The package `(\S+)` was built for a different platform$")
_UV_UNREADABLE = re.compile(r"^The package `(\S+)` is broken or incomplete")


def uv_pip_check(prefix: Path) -> Verdict:
    proc = uv("pip", "check", "--python", str(venv_python(prefix)), check=False)
    out: set[Broke] = set()
    other = []
    unreadable = set()
    for line in (proc.stdout + proc.stderr).splitlines():
        if m := _UV_MISSING.match(line):
            out.add(("missing", canonicalize_name(m[1]), canonicalize_name(Requirement(m[2]).name), ""))
        elif m := _UV_CONFLICT.match(line):
            req = Requirement(m[2])
            out.add(("conflicting", canonicalize_name(m[1]), canonicalize_name(req.name), _spec(m[2])))
        elif m := _UV_PLATFORM.match(line):
            out.add(("unsupported", canonicalize_name(m[1]), "", ""))
        elif m := _UV_UNREADABLE.match(line):
            unreadable.add(canonicalize_name(m[1]))
        elif line.strip() and not line.startswith(("Using Python", "Checked ", "Found ", "All installed")):
            other.append(line)
    return Verdict(frozenset(out), proc.returncode, tuple(other), frozenset(unreadable))


_OUR_MISSING = re.compile(r"^(\S+) (\S+) requires `(.+)`, which is not installed")
_OUR_CONFLICT = re.compile(r"^(\S+) (\S+) requires `(.+)`, but (\S+) (\S+) is installed$")
_OUR_UNSUPPORTED = re.compile(r"^(\S+) (\S+) is not supported on this platform")


def envkernels_check(prefix: Path, cache_dir: Path) -> tuple[Verdict, dict]:
    """``envkernels check --json PREFIX`` as a user runs it (its own process, its own cache dir)."""
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels", "check", "--json", str(prefix)],
        env=_clean_env(ENVKERNELS_CACHE_DIR=str(cache_dir)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    out: set[Broke] = set()
    unreadable = {canonicalize_name(f["package"]) for f in doc["findings"] if f["code"] == "invalid-metadata"}
    for f in doc["findings"]:
        if f["code"] != "broken-requirement":
            continue
        message = f["message"]
        if m := _OUR_MISSING.match(message):
            out.add(("missing", canonicalize_name(m[1]), canonicalize_name(Requirement(m[3]).name), ""))
        elif m := _OUR_CONFLICT.match(message):
            out.add(("conflicting", canonicalize_name(m[1]), canonicalize_name(m[4]), _spec(m[3])))
        elif m := _OUR_UNSUPPORTED.match(message):
            out.add(("unsupported", canonicalize_name(m[1]), "", ""))
        else:
            raise AssertionError(f"unexpected broken-requirement message: {message!r}")
    return Verdict(frozenset(out), proc.returncode, (), frozenset(unreadable)), doc
