"""Option injection through a lock: a value with a line break must never reach uv as an option.

Each lock format (and a notebook carrying a lock) pins ``six`` at a "version" that holds a newline
and then a pip option: ``--index-url`` of a recording HTTP server on 127.0.0.1, or ``-e`` of a
directory outside the project whose ``setup.py`` leaves a mark when run. Before lock validation
the dry run showed an innocent upgrade of six and ``--yes`` queried that index and built that
directory. Now reading the lock is an error naming the file, the package and the field (exit 2),
and nothing runs: the index sees no request, the directory is never built, the environment is
unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envfactory import freeze, make_venv
from envkernels.errors import BadInputError
from envkernels.lockfiles.model import Lock, LockedPackage
from envkernels.sync.uvcall import check_requirements_text, requirements_text


@pytest.fixture(scope="module")
def recording_index() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every path asked of it and answers 404."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def outside_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose setup.py writes `built.mark` beside itself when anything runs it."""
    d = tmp_path_factory.mktemp("outside")
    (d / "setup.py").write_text(
        "import pathlib\n"
        "pathlib.Path(__file__).with_name('built.mark').write_text('ran')\n"
        "from setuptools import setup\nsetup(name='evil', version='1.0')\n"
    )
    return d


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with six 1.15.0, so a lock pinning six 1.16.0 plans an upgrade."""
    return make_venv(tmp_path_factory.mktemp("victim") / "env", ["six==1.15.0"])


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


def _pylock_missing(version: str) -> str:
    return (
        'lock-version = "1.0"\ncreated-by = "envkernels"\npackages = []\n\n'
        f'[tool.envkernels]\nmissing = [{{ name = "six", version = {_toml(version)} }}]\n'
    )


def write_lock(fmt: str, version: str, directory: Path) -> Path:
    """A minimal lock of ``fmt`` pinning six at ``version``."""
    directory.mkdir(parents=True, exist_ok=True)
    if fmt == "uv":
        path, text = (
            directory / "uv.lock",
            (
                f'version = 1\nrequires-python = ">=3.8"\n\n[[package]]\nname = "six"\n'
                f'version = {_toml(version)}\nsource = {{ registry = "https://pypi.org/simple" }}\n'
            ),
        )
    elif fmt == "poetry":
        path, text = (
            directory / "poetry.lock",
            (
                f'[[package]]\nname = "six"\nversion = {_toml(version)}\ndescription = ""\noptional = false\n'
                'python-versions = "*"\nfiles = []\n\n[metadata]\nlock-version = "2.0"\n'
                'python-versions = "*"\ncontent-hash = "0"\n'
            ),
        )
    elif fmt == "pdm":
        path, text = (
            directory / "pdm.lock",
            (
                '[metadata]\nlock_version = "4.4.1"\ngroups = ["default"]\n\n'
                f'[[package]]\nname = "six"\nversion = {_toml(version)}\n'
            ),
        )
    elif fmt == "pipfile":
        path, text = (
            directory / "Pipfile.lock",
            json.dumps(
                {
                    "_meta": {"pipfile-spec": 6, "requires": {}, "sources": []},
                    "default": {"six": {"version": "==" + version}},
                    "develop": {},
                }
            ),
        )
    elif fmt == "pylock":
        path, text = directory / "pylock.toml", _pylock_missing(version)
    else:  # a notebook carrying the pylock in its metadata
        nb = {
            "cells": [],
            "metadata": {"envkernels": {"lock": _pylock_missing(version)}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        path, text = directory / "shared.ipynb", json.dumps(nb, indent=1) + "\n"
    path.write_text(text)
    return path


FORMATS = ("uv", "poetry", "pdm", "pipfile", "pylock", "notebook")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("payload", ["index", "editable"])
def test_a_version_carrying_an_option_line_is_an_error_and_nothing_runs(
    fmt: str,
    payload: str,
    victim: Path,
    recording_index: tuple[str, list[str]],
    outside_project: Path,
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    index_url, seen = recording_index
    option = f"--index-url {index_url}" if payload == "index" else f"-e {outside_project}"
    lock = write_lock(fmt, f"1.16.0\n{option}", tmp_path / "project")
    before = freeze(victim)
    seen.clear()

    dry = _cli("sync", str(lock), "--target", str(victim))
    applied = _cli("sync", str(lock), "--target", str(victim), "--yes")

    for proc in (dry, applied):
        assert proc.returncode == 2, proc.stdout + proc.stderr
        first, hint = proc.stderr.splitlines()[:2]
        assert first.startswith("error: ") and hint.startswith("hint: ")
        # The error names the file, the package and the field, with the value escaped on one line.
        assert lock.name in first and "'six'" in first and "field `version`" in first
        assert "\\n" in first and "Traceback" not in proc.stderr
        assert proc.stdout == ""  # no plan was shown
    assert seen == []  # the attacker's index was never asked
    assert not (outside_project / "built.mark").exists()  # nor the outside directory built
    assert freeze(victim) == before


def test_the_requirements_uv_reads_are_checked_again_as_a_whole() -> None:
    """Defence in depth: even a package that skipped validation cannot produce an option line."""
    lock = Lock(path="/tmp/x/uv.lock", format="uv", packages=())
    crafted = LockedPackage(name="six", version="1.16.0\n--index-url http://127.0.0.1:9/")
    with pytest.raises(BadInputError, match="option"):
        requirements_text([crafted], lock)
    for line in (
        "--index-url http://x/",
        "-r other.txt",
        "-e /outside/dir",
        "six==1.0 --index-url x",
        "six==1.0\r--pre",
        " six==1.0",
        "six==1.0 ; os_name=='nt'",
    ):
        with pytest.raises(BadInputError):
            check_requirements_text(line + "\n")
    ok = LockedPackage(name="six", version="1.16.0")
    text, hashed = requirements_text([ok], lock)
    assert text == "six==1.16.0\n" and not hashed
