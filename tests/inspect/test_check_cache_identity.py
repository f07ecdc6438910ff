"""A cached verdict is reused only while every distribution it read is unchanged.

Each test warms both caches (the CLI's on-disk cache, and a live worker's in-process caches, the
path `%envcheck` takes), changes the environment in a way that leaves the site-packages
directory's mtime alone (which the earlier mtime rule could not see), and requires the very next
call of both to give the new verdict. The worker's warm answers are watched by inotify once
reused; the tests that change files in place run with it and without it (`stat` only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envfactory import make_venv, uv, venv_python
from envkernels.worker import Worker

both_ways = pytest.mark.parametrize("watch", ["inotify", "stat"])


def _watching(watch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if watch == "stat":
        monkeypatch.setenv("ENVKERNELS_NO_INOTIFY", "1")


def _cli(prefix: Path) -> set[tuple[str, str]]:
    """(code, package) of `envkernels check --json PREFIX`, run as a process (cache: ENVKERNELS_CACHE_DIR)."""
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels", "check", "--json", str(prefix)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return {(f["code"], f["package"]) for f in json.loads(proc.stdout)["findings"]}


def _worker(worker: Worker, prefix: Path, **facts: str) -> set[tuple[str, str]]:
    reply = worker.handle({"id": 1, "op": "check", "args": {}, "facts": {"prefix": str(prefix), **facts}})
    assert reply["ok"], reply
    return {(f["code"], f["package"]) for f in reply["result"]["data"]["findings"]}


def _warm(prefix: Path, worker: Worker, expected: set[tuple[str, str]], **facts: str) -> None:
    """Both paths give ``expected`` twice (the second time from their caches)."""
    for _ in range(2):
        assert _cli(prefix) == expected
        assert _worker(worker, prefix, **facts) == expected


def replace_file(path: Path, text: str) -> None:
    """New content as a new file: an installed file is a hard link into uv's cache."""
    path.unlink()
    path.write_text(text, encoding="utf-8")


def _site(prefix: Path) -> Path:
    return next(prefix.glob("lib/python3*/site-packages"))


@both_ways
def test_replacing_a_metadata_file_changes_the_next_verdict(
    tmp_path: Path, isolated_home: Path, watch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _watching(watch, monkeypatch)
    prefix = make_venv(tmp_path / "env", ["six==1.16.0", "idna==3.7"])
    worker = Worker()
    _warm(prefix, worker, set())
    assert os.listdir(isolated_home / ".cache" / "envkernels" / "check")  # the CLI did cache
    sp = _site(prefix)
    before = os.stat(sp).st_mtime_ns
    meta = next(sp.glob("six-*.dist-info")) / "METADATA"
    text = meta.read_text(encoding="utf-8")
    replace_file(meta, text.replace("Version: 1.16.0\n", "Version: 1.16.0\nRequires-Dist: envk-absent\n", 1))
    assert os.stat(sp).st_mtime_ns == before  # invisible to a rule keyed by site-packages' mtime
    expected = {("broken-requirement", "six")}
    assert _cli(prefix) == expected
    assert _worker(worker, prefix) == expected


def test_reinstalling_the_same_version_changes_the_next_verdict(tmp_path: Path, isolated_home: Path) -> None:
    """A METADATA that lost its requirements says "fine"; `uv pip install --reinstall` brings them back."""
    prefix = make_venv(tmp_path / "env", ["requests==2.32.3"])
    py = str(venv_python(prefix))
    uv("pip", "uninstall", "--quiet", "--python", py, "certifi")
    meta = next(_site(prefix).glob("requests-*.dist-info")) / "METADATA"
    lines = meta.read_text(encoding="utf-8").splitlines(keepends=True)
    replace_file(meta, "".join(ln for ln in lines if not ln.startswith("Requires-Dist: certifi")))
    worker = Worker()
    _warm(prefix, worker, set())
    uv("pip", "install", "--quiet", "--python", py, "--reinstall", "--no-deps", "requests==2.32.3")
    expected = {("broken-requirement", "requests")}
    assert _cli(prefix) == expected
    assert _worker(worker, prefix) == expected


@both_ways
def test_editing_an_editable_projects_metadata_changes_the_next_verdict(
    tmp_path: Path, isolated_home: Path, watch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A legacy editable project: its `.egg-info` on the path (a `.pth`), rewritten in place by setuptools."""
    _watching(watch, monkeypatch)
    prefix = make_venv(tmp_path / "env", ["six==1.16.0", "setuptools<81"])
    project = tmp_path / "proj"
    project.mkdir()
    setup = (
        'from setuptools import setup\nsetup(name="envk_proj", version="1.0", py_modules=["envk_proj"], {})\n'
    )
    (project / "setup.py").write_text(setup.format('install_requires=["six"]'))
    (project / "envk_proj.py").write_text("")
    py = str(venv_python(prefix))

    def egg_info() -> None:
        subprocess.run([py, "setup.py", "-q", "egg_info"], cwd=project, check=True, capture_output=True)

    egg_info()
    (_site(prefix) / "envk_proj.pth").write_text(str(project) + "\n")
    worker = Worker()
    _warm(prefix, worker, set())
    egg = project / "envk_proj.egg-info"
    inode = os.stat(egg / "requires.txt").st_ino
    (project / "setup.py").write_text(setup.format('install_requires=["six", "envk-absent"]'))
    egg_info()
    assert os.stat(egg / "requires.txt").st_ino == inode  # rewritten in place, not replaced
    expected = {("broken-requirement", "envk-proj")}
    assert _cli(prefix) == expected
    assert _worker(worker, prefix) == expected


def test_changing_a_lockfile_changes_the_next_verdict(tmp_path: Path, isolated_home: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\ndependencies = ["six"]\n')
    lock = root / "pylock.toml"
    body = (
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "six"\nversion = "{0}"\n'
        '\n[[packages.wheels]]\nurl = "https://files.pythonhosted.org/packages/six-{0}-py2.py3-none-any.whl"\n'
        'hashes = {{sha256 = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"}}\n'
    )
    lock.write_text(body.format("1.16.0"))
    prefix = make_venv(root / ".venv", ["six==1.16.0"])
    worker = Worker()
    _warm(prefix, worker, set())
    lock.write_text(body.format("1.15.0"))
    expected = {("lock-version-mismatch", "six")}
    assert _cli(prefix) == expected
    assert _worker(worker, prefix) == expected
    lock.write_text(body.format("1.16.0"))
    os.utime(lock, ns=(1, 1))  # back to the first content, with an old mtime: still a change
    assert _cli(prefix) == set()
    assert _worker(worker, prefix) == set()
