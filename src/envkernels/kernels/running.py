"""Processes running in an environment, Jupyter kernels among them: what makes an environment "in use".

A process runs in an environment when, read from ``/proc/<pid>/`` (Linux), any of these lies in
the environment's prefix:

1. the directory of its ``argv[0]`` (relative paths taken from the process's working directory;
   the directory is resolved, not the interpreter: a venv's ``bin/python`` links to the base one);
2. its executable (``/proc/<pid>/exe``, for environments with a real interpreter, as conda's);
3. its ``VIRTUAL_ENV`` or ``CONDA_PREFIX`` (an activated shell, ``uv run``).

A process is a Jupyter kernel when its command line names a connection file: one of the Jupyter
runtime directory (``kernel-*.json``, where jupyter_server keeps them), or any readable JSON file
with ``shell_port`` and ``key`` (jupyter_client alone writes them to a temp dir). Without ``/proc``,
``ps`` gives the command lines (rule 1 only). When neither can be read, :func:`running_processes`
returns None and callers must treat every environment as possibly in use: "nothing runs there" is
only said after looking.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RunningProcess:
    """One process and the places (resolved directories) it runs from."""

    pid: int
    command: str
    places: tuple[str, ...]
    kernel: str | None = None  # the connection file's name when the process is a Jupyter kernel

    def describe(self) -> str:
        """``kernel kernel-1a2b.json (pid 123)`` or ``process 123 (`python script.py`)``."""
        if self.kernel:
            return f"running kernel `{self.kernel}` (pid {self.pid})"
        return f"running process {self.pid} (`{self.command}`)"


def _prefix_of_program(program: str, cwd: str | None) -> str | None:
    """The directory above ``bin``/``Scripts`` holding ``program`` (or its own directory)."""
    if not program or (os.sep not in program and "/" not in program):
        return None  # a bare name found on PATH: rules 2 and 3 still apply
    if not os.path.isabs(program):
        if cwd is None:
            return None
        program = os.path.join(cwd, program)
    bindir = os.path.realpath(os.path.dirname(program))
    if os.path.basename(bindir).lower() in ("bin", "scripts"):
        return os.path.dirname(bindir)
    return bindir


def connection_files() -> set[str]:
    """Names of the connection files in the Jupyter runtime directory (``kernel-*.json``)."""
    from jupyter_core.paths import jupyter_runtime_dir

    try:
        return {
            n for n in os.listdir(jupyter_runtime_dir()) if n.startswith("kernel-") and n.endswith(".json")
        }
    except OSError:
        return set()


def _is_connection_file(path: str) -> bool:
    """True for a Jupyter connection file (a JSON object with ``shell_port`` and ``key``)."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(1 << 16))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "shell_port" in data and "key" in data


def _kernel_of(argv: list[str], connections: set[str], cwd: str | None) -> str | None:
    """The connection file a kernel's command line names (one of the runtime dir, or any readable one)."""
    for arg in argv[1:]:
        value = arg.split("=", 1)[-1]
        if not value.endswith(".json"):
            continue
        name = os.path.basename(value)
        if name in connections:
            return name
        path = value if os.path.isabs(value) or cwd is None else os.path.join(cwd, value)
        if _is_connection_file(path):
            return name
    return None


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _settled_cmdline(pid: int) -> bytes | None:
    """``/proc/<pid>/cmdline``, read again for a moment while a process that has an executable shows
    none: a process that has just called exec reads empty (its environment too) for a few
    milliseconds, and passing over it would call an environment unused while something starts in it.
    Kernel threads, which always read empty, have no executable and are passed over at once."""
    raw = _read(f"/proc/{pid}/cmdline")
    if raw:
        return raw
    try:
        os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None  # a kernel thread, or gone
    for _ in range(50):
        time.sleep(0.002)
        raw = _read(f"/proc/{pid}/cmdline")
        if raw:
            return raw
    return None


def _from_proc(connections: set[str]) -> list[RunningProcess] | None:
    try:
        pids = [int(n) for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return None
    found = []
    for pid in pids:
        raw = _settled_cmdline(pid)
        if not raw:
            continue  # gone meanwhile, or a kernel thread
        argv = [a.decode("utf-8", "surrogateescape") for a in raw.rstrip(b"\0").split(b"\0")]
        try:
            cwd: str | None = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = None
        places = set()
        program = _prefix_of_program(argv[0], cwd)
        if program:
            places.add(program)
        with contextlib.suppress(OSError):
            places.add(os.path.realpath(os.readlink(f"/proc/{pid}/exe")))
        environ = _read(f"/proc/{pid}/environ") or b""
        for entry in environ.split(b"\0"):
            key, _, value = entry.partition(b"=")
            if key in (b"VIRTUAL_ENV", b"CONDA_PREFIX") and value:
                places.add(os.path.realpath(value.decode("utf-8", "surrogateescape")))
        found.append(
            RunningProcess(
                pid, " ".join(argv)[:120], tuple(sorted(places)), _kernel_of(argv, connections, cwd)
            )
        )
    return found


def _from_ps(connections: set[str]) -> list[RunningProcess] | None:
    try:
        out = subprocess.run(
            ["ps", "-axww", "-o", "pid=,command="], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = []
    for line in out.splitlines():
        pid_text, _, command = line.strip().partition(" ")
        if not pid_text.isdigit():
            continue
        argv = command.split()
        program = _prefix_of_program(argv[0], None) if argv else None
        found.append(
            RunningProcess(
                int(pid_text),
                command[:120],
                (program,) if program else (),
                _kernel_of(argv, connections, None),
            )
        )
    return found


def running_processes() -> list[RunningProcess] | None:
    """Every process this user can see, or None when processes cannot be listed at all."""
    connections = connection_files()
    if os.path.isdir("/proc/self"):
        return _from_proc(connections)
    return _from_ps(connections)


def users_of(prefix: str, processes: Iterable[RunningProcess]) -> list[RunningProcess]:
    """The processes running in the environment at ``prefix`` (compared resolved)."""
    real = os.path.realpath(prefix)
    inside = real.rstrip(os.sep) + os.sep
    return [p for p in processes if any(place == real or place.startswith(inside) for place in p.places)]
