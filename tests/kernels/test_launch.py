"""Real kernels started through jupyter_client with EnvKernelSpecManager: they run in their environment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager
from kernelhelpers import env_at, execute
from tornado.web import HTTPError

from envfactory import freeze, make_venv
from envkernels.errors import EnvKernelsError
from envkernels.kernels.manager import EnvKernelSpecManager
from envkernels.kernels.paths import launcher_script
from envkernels.kernels.provisioner import KernelStartError


@pytest.fixture
def start(khome: Path, kroot: Path) -> Iterator[Any]:
    """start(prefix) -> kernel client of a kernel started for that environment; all shut down after."""
    started: list[tuple[KernelManager, Any]] = []
    ksm = EnvKernelSpecManager(roots=[str(kroot)], default_roots=False)

    def _start(prefix: Path, manager: EnvKernelSpecManager = ksm) -> Any:
        km = KernelManager(kernel_name=env_at(prefix).kernel_name, kernel_spec_manager=manager)
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        started.append((km, kc))
        kc.wait_for_ready(timeout=180)
        return kc

    yield _start
    for km, kc in started:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_kernel_runs_in_its_environment_with_venv_activation(start: Any, kroot: Path) -> None:
    kc = start(kroot / "withipk")
    out, reply = execute(
        kc,
        "import os, sys; print(sys.prefix); print(os.environ['VIRTUAL_ENV']); "
        "print(os.environ['PATH'].split(os.pathsep)[0]); print(os.environ['ENVKERNELS_ENV_ID'])",
    )
    assert reply["status"] == "ok"
    prefix, venv, first_path, env_id = out.split()
    assert prefix == venv == str(kroot / "withipk")
    assert first_path == str(kroot / "withipk" / "bin")
    assert env_id == env_at(kroot / "withipk").id


@pytest.mark.slow
def test_interrupting_a_sleep_gives_keyboard_interrupt(start: Any, kroot: Path) -> None:
    kc = start(kroot / "withipk")
    km = kc.parent  # the KernelManager that started this kernel
    kc.execute("import time; time.sleep(60)")
    # Interrupt once the kernel is busy in the sleep; the reply must come long before the 60 s.
    timer = threading.Timer(2.0, km.interrupt_kernel)
    timer.start()
    deadline = time.monotonic() + 30
    reply = None
    while time.monotonic() < deadline:
        msg = kc.get_shell_msg(timeout=30)
        if msg["msg_type"] == "execute_reply":
            reply = msg["content"]
            break
    timer.cancel()
    assert reply is not None, "no execute_reply within 30 s of the interrupt"
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"


@pytest.mark.slow
def test_env_without_ipykernel_runs_code_and_is_left_byte_for_byte_unchanged(start: Any, kroot: Path) -> None:
    bare = kroot / "bare"
    before = freeze(bare)
    assert "ipykernel" not in before
    kc = start(bare)
    out, reply = execute(
        kc, "import sys, six, ipykernel; print(sys.prefix); print(ipykernel.__file__); print(six.__file__)"
    )
    assert reply["status"] == "ok"
    prefix, ipk_file, six_file = out.split()
    assert prefix == str(bare)
    assert not ipk_file.startswith(str(bare))  # ipykernel came from the overlay, outside the env
    assert six_file.startswith(str(bare))  # the env's own packages come first
    assert freeze(bare) == before


@pytest.mark.slow
def test_conda_layout_env_kernel_has_activate_d_variables(start: Any, kroot: Path) -> None:
    """The env is a uv venv dressed in conda's on-disk layout (see conftest): conda cannot run here."""
    kc = start(kroot / "condaish")
    out, reply = execute(
        kc,
        "import os; print(os.environ['CONDA_PREFIX']); print(os.environ['ENVK_TEST_VAR']); "
        "print(os.environ['FROM_STATE']); print('VIRTUAL_ENV' in os.environ)",
    )
    assert reply["status"] == "ok"
    assert out.split() == [str(kroot / "condaish"), "hello-from-activate.d", "state-value", "False"]


def test_broken_env_refuses_to_start_with_problem_and_hint(khome: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = make_venv(root / "dangling")
    (env / "bin" / "python").unlink()
    (env / "bin" / "python").symlink_to(tmp_path / "no-such-python")
    record = env_at(env)
    assert record.status == "broken"
    ksm = EnvKernelSpecManager(roots=[str(root)], default_roots=False)
    assert record.kernel_name not in list(ksm.get_all_specs())  # not offered: it could not start
    assert (
        EnvKernelSpecManager(roots=[str(root)], default_roots=False, show_broken=True)
        .get_all_specs()[record.kernel_name]["spec"]["display_name"]
        .endswith("[broken]")
    )  # unless the admin asks for broken ones too
    # A notebook that names it still gets the problem and the fix, not "no such kernel".
    km = KernelManager(kernel_name=record.kernel_name, kernel_spec_manager=ksm)
    with pytest.raises(KernelStartError) as info:
        km.start_kernel()
    assert "broken" in info.value.message and info.value.hint
    # A plain kernel client gets envkernels' error (no HTTP status): its text carries the hint too.
    assert isinstance(info.value, EnvKernelsError) and not isinstance(info.value, HTTPError)
    assert str(info.value) == f"{info.value.message}. hint: {info.value.hint}"


def test_launcher_prints_error_and_hint_for_a_broken_env_outside_the_server(khome: Path) -> None:
    env = dict(
        os.environ, ENVKERNELS_PROBLEM="the environment `/x` is broken: gone", ENVKERNELS_HINT="`uv sync`"
    )
    proc = subprocess.run(
        [sys.executable, str(launcher_script()), "-f", "/nonexistent.json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: the environment `/x` is broken: gone", "hint: `uv sync`"]
