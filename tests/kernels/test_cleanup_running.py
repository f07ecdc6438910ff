"""An environment something runs in is never moved: a real kernel started by jupyter_client, and a
process with the environment activated (``VIRTUAL_ENV``), found through ``/proc``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cleanuphelpers import by_path, chome, cleanup_json

from envfactory import make_venv
from envkernels.cli import main
from envkernels.kernels import cleanup, running

__all__ = ["chome"]  # a fixture, imported for the tests below

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="running processes are read from /proc"
)


def _project(root: Path, packages: list[str]) -> Path:
    """A uv project (`[tool.uv]`: uv uses `.venv`) with a stray `venv` holding the same packages."""
    proj = root / "proj"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[project]\nname = 'proj'\nversion = '0'\n\n[tool.uv]\n")
    make_venv(proj / ".venv", packages)
    make_venv(proj / "venv", packages)
    return proj


@pytest.fixture
def sleeper_in(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(prefix: Path) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(["sleep", "600"], env={**os.environ, "VIRTUAL_ENV": str(prefix)})
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_a_running_kernel_keeps_its_environment_even_when_named(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import start_new_kernel

    proj = _project(tmp_path / "root", ["ipykernel"])
    venv = proj / "venv"
    assert by_path(cleanup_json(capsys, "--root", str(proj)))[str(venv)]["status"] == "proposed"
    src = tmp_path / "spec"
    src.mkdir()
    argv = [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (src / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "stray", "language": "python"})
    )
    spec_dir = KernelSpecManager().install_kernel_spec(str(src), "stray", user=True)
    km, kc = start_new_kernel(kernel_name="stray", startup_timeout=120)
    try:
        shutil.rmtree(spec_dir)  # only the running kernel is left to say the environment is in use
        item = by_path(cleanup_json(capsys, "--root", str(proj)))[str(venv)]
        assert item["status"] == "in-use"
        connection = os.path.basename(km.connection_file)
        assert any(u.startswith(f"running kernel `{connection}` (pid ") for u in item["used_by"]), item
        assert main(["cleanup", "--root", str(proj), "--apply", str(venv)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith(f"error: `{venv}` is in use")
        assert cleanup_json(capsys, "--root", str(proj), "--apply")["moved"] == []
        assert (venv / "pyvenv.cfg").is_file()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    report = cleanup_json(capsys, "--root", str(proj), "--apply")
    assert report["moved"] == [str(venv)]


def test_an_activated_environment_is_in_use(
    chome: Path, tmp_path: Path, sleeper_in: object, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _project(tmp_path / "root", [])
    gone = make_venv(tmp_path / "root" / "old")
    (gone / "bin" / "python").unlink()
    proc = sleeper_in(gone)  # type: ignore[operator]
    sleeper_in(proj / "venv")  # type: ignore[operator]
    found = by_path(cleanup_json(capsys, "--root", str(tmp_path / "root"), "--apply"))
    assert {p: i["status"] for p, i in found.items()} == {str(proj / "venv"): "in-use", str(gone): "in-use"}
    assert f"running process {proc.pid} (`sleep 600`)" in found[str(gone)]["used_by"]
    assert (gone / "pyvenv.cfg").is_file() and (proj / "venv" / "pyvenv.cfg").is_file()


def test_a_process_started_after_the_listing_stops_the_move(
    chome: Path, tmp_path: Path, sleeper_in: object
) -> None:
    proj = _project(tmp_path / "root", [])
    leftovers = cleanup.find_leftovers([proj])
    chosen = cleanup.select(leftovers, None)
    assert [i.path for i in chosen] == [str(proj / "venv")]
    sleeper_in(proj / "venv")  # type: ignore[operator]
    entry, skipped = cleanup.apply(chosen, [proj])
    assert entry is not None and entry.items == ()
    assert skipped == [(str(proj / "venv"), skipped[0][1])] and skipped[0][1].startswith(
        "in use: running process"
    )
    assert (proj / "venv" / "pyvenv.cfg").is_file()
    assert not list((chome / ".cache" / "envkernels" / "trash").glob("*/items"))


def test_without_proc_the_ps_listing_finds_a_process_by_its_program(tmp_path: Path) -> None:
    # The fallback used where /proc does not exist (macOS), run here against the real `ps`.
    if shutil.which("ps") is None:
        pytest.skip("no `ps` on this machine")
    env = make_venv(tmp_path / "env")
    proc = subprocess.Popen([str(env / "bin" / "python"), "-c", "import time; time.sleep(600)"])
    try:
        listed = running._from_ps(set())
        assert listed is not None
        users = running.users_of(str(env), listed)
        assert [p.pid for p in users] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
