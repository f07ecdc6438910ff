"""Helpers for discovery tests (a uniquely named module: every test area has its own conftest)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from envkernels.model import Environment


def run_tool(argv: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> str:
    """Run a real tool with the (isolated) environment of the test; fail with its output."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.update(extra_env or {})
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def under(envs: Iterable[Environment], root: Path) -> list[Environment]:
    """The records whose prefix lies under ``root`` (the machine's own interpreters left out)."""
    real = os.path.realpath(root)
    return [e for e in envs if e.prefix == real or e.prefix.startswith(real + os.sep)]


def by_prefix(envs: Iterable[Environment], prefix: Path | str) -> Environment:
    """The one record for ``prefix`` (resolved); fails when there is none or more than one."""
    real = os.path.realpath(prefix)
    found = [e for e in envs if e.prefix == real]
    assert len(found) == 1, f"{real}: {len(found)} records in {[e.prefix for e in envs]}"
    return found[0]


def write(path: Path, text: str = "") -> Path:
    """Create ``path`` (and its parents) with ``text``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def fake_base_python(
    prefix: Path, version: str = "3.12.4", free_threaded: bool = False, own_binary: bool = False
) -> Path:
    """The on-disk layout of an installed CPython (what pyenv, uv and python-build-standalone write).

    ``bin/python3.X`` links to the running interpreter so it is a real executable file (with
    ``own_binary``, it is a hard link or copy of it, so its real path stays in this prefix);
    ``lib/python3.X[t]/site-packages`` and ``include/python3.X[t]/patchlevel.h`` are as CPython installs them.
    """
    major_minor = ".".join(version.split(".")[:2])
    t = "t" if free_threaded else ""
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    exe = prefix / "bin" / f"python{major_minor}{t}"
    if own_binary:
        real = os.path.realpath(sys.executable)
        try:
            os.link(real, exe)
        except OSError:
            shutil.copy2(real, exe)
    else:
        exe.symlink_to(sys.executable)
    (prefix / "bin" / "python3").symlink_to(exe.name)
    (prefix / "lib" / f"python{major_minor}{t}" / "site-packages").mkdir(parents=True)
    write(
        prefix / "include" / f"python{major_minor}{t}" / "patchlevel.h",
        f'#define PY_MAJOR_VERSION 3\n#define PY_VERSION "{version}"\n',
    )
    return prefix


def conda_record(prefix: Path, name: str, version: str, build: str, channel: str = "conda-forge") -> None:
    """One ``conda-meta/<name>-<version>-<build>.json`` package record, with the keys conda writes."""
    record = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "channel": f"https://conda.anaconda.org/{channel}/linux-64",
        "subdir": "linux-64",
        "fn": f"{name}-{version}-{build}.conda",
        "files": [],
        "depends": [],
        "url": f"https://conda.anaconda.org/{channel}/linux-64/{name}-{version}-{build}.conda",
        "requested_spec": name,
    }
    write(prefix / "conda-meta" / f"{name}-{version}-{build}.json", json.dumps(record))


def fake_conda_env(
    prefix: Path,
    python: str | None = "3.12.4",
    build: str = "hab00c5b_0_cpython",
    ipykernel: bool = False,
    root: bool = False,
    free_threaded: bool = False,
) -> Path:
    """The on-disk layout conda/mamba/micromamba leave in a prefix (channels are out of reach here).

    ``conda-meta/history`` with the ``==> date <==`` / ``# cmd:`` / ``+channel::pkg`` lines,
    one JSON record per package, ``bin/python3.X`` (a link to a real interpreter), ``lib/python3.X[t]/
    site-packages`` with dist-info for pip-installed-by-conda packages, ``etc/conda/activate.d``; a
    root (base) prefix also has ``condabin/`` and ``envs/``.
    """
    lines = [
        "==> 2024-05-01 10:00:00 <==",
        f"# cmd: /opt/conda/bin/conda create -p {prefix}",
        "# conda version: 24.5.0",
    ]
    write(prefix / "etc" / "conda" / "activate.d" / "libxml2_activate.sh", "export XML_CATALOG_FILES=\n")
    conda_record(prefix, "ca-certificates", "2024.2.2", "hbcca054_0")
    lines.append("+conda-forge/linux-64::ca-certificates-2024.2.2-hbcca054_0")
    if python is not None:
        major_minor = ".".join(python.split(".")[:2])
        t = "t" if free_threaded else ""
        conda_record(prefix, "python", python, build)
        abi = f"cp{major_minor.replace('.', '')}{t}"
        conda_record(prefix, "python_abi", major_minor, f"5_{abi}")
        if free_threaded:
            conda_record(prefix, "python-freethreading", python, "h92d6c8b_0")
        lines += [
            f"+conda-forge/linux-64::python-{python}-{build}",
            f"+conda-forge/linux-64::python_abi-{major_minor}-5_{abi}",
        ]
        (prefix / "bin").mkdir(parents=True, exist_ok=True)
        (prefix / "bin" / f"python{major_minor}{t}").symlink_to(sys.executable)
        (prefix / "bin" / "python").symlink_to(f"python{major_minor}{t}")
        site = prefix / "lib" / f"python{major_minor}{t}" / "site-packages"
        site.mkdir(parents=True)
        if ipykernel:
            conda_record(prefix, "ipykernel", "6.29.3", "pyhd33586a_0")
            write(
                site / "ipykernel-6.29.3.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: ipykernel\n"
            )
            # the files conda's noarch ipykernel package puts in site-packages
            write(site / "ipykernel" / "__init__.py", "")
            write(site / "ipykernel_launcher.py", "from ipykernel import kernelapp as app\n")
            lines.append("+conda-forge/noarch::ipykernel-6.29.3-pyhd33586a_0")
    if root:
        (prefix / "condabin").mkdir(parents=True, exist_ok=True)
        (prefix / "envs").mkdir(exist_ok=True)
    write(prefix / "conda-meta" / "history", "\n".join(lines) + "\n")
    return prefix
