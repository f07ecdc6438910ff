"""Permission-aware problems: an interpreter, base interpreter or site-packages the user cannot
reach is `broken` with the path, the permission and the administrator's fix (never a rebuild).

Real permissions: as root, modes are ignored unless the process drops CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH, so the CLI runs under ``setpriv`` (skipped where it cannot drop them).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from test_honest_state import DESTRUCTIVE, cli, setpriv_works

from envfactory import make_venv
from envkernels.discovery.probe import environment_from_prefix


def _record(root: Path, prefix: Path) -> dict[str, object]:
    out = cli("list", "--json", "--root", str(root), "--no-default-roots", privileged=False)
    assert out.returncode == 0, out.stderr
    return next(r for r in json.loads(out.stdout) if r["prefix"] == str(prefix.resolve()))


def _assert_admin_hint(record: dict[str, object], path: str) -> None:
    hint = str(record["hint"])
    assert path in hint and "chmod o+x" in hint and "namei -l" in hint, hint
    assert not any(word in hint for word in DESTRUCTIVE), hint
    assert "venv" not in hint.split("make the environment")[0]  # no `python -m venv` of any kind


def test_an_interpreter_behind_a_private_directory_is_a_permission_problem(
    tmp_path: Path, isolated_home: Path
) -> None:
    if not setpriv_works(tmp_path):
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no setpriv): a private directory cannot be made")
    root = tmp_path / "root"
    env = make_venv(root / "env")
    real_bin = os.path.dirname(os.path.realpath(env / "bin" / "python"))
    private = tmp_path / "private"  # another user's home, as far as this process can tell
    private.mkdir()
    (private / "bin").symlink_to(real_bin)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for name in ("python", "python3", version):
        link = env / "bin" / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(private / "bin" / os.path.basename(os.path.realpath(real_bin + "/python3")))
    cfg = env / "pyvenv.cfg"
    cfg.write_text(
        "\n".join(
            f"home = {private / 'bin'}" if line.startswith("home") else line
            for line in cfg.read_text().splitlines()
        )
        + "\n"
    )
    private.chmod(0)
    try:
        record = _record(root, env)
    finally:
        private.chmod(0o755)
    assert record["status"] == "broken", record
    problem = str(record["problem"])
    assert "cannot be run by user" in problem and f"`{private}`" in problem, problem
    assert "search (x)" in problem and "Permission denied" in problem, problem
    assert "no Python interpreter" not in problem
    _assert_admin_hint(record, str(private))
    # with the permission back, the same environment is fine: nothing in it was wrong
    assert environment_from_prefix(env).status == "ok"


def test_an_interpreter_without_execute_permission_is_a_permission_problem(
    tmp_path: Path, isolated_home: Path
) -> None:
    root = tmp_path / "root"
    env = make_venv(root / "env")
    for name in ("python", "python3"):
        (env / "bin" / name).unlink()
    script = env / "bin" / "python"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)  # no x bit for anyone: even root may not run it
    record = environment_from_prefix(env)
    assert record.status == "broken"
    assert f"`{script}`" in (record.problem or "") and "execute (x)" in (record.problem or "")
    _assert_admin_hint(record.to_dict(), str(script))


def test_a_base_interpreter_the_user_cannot_reach_is_named(tmp_path: Path, isolated_home: Path) -> None:
    if not setpriv_works(tmp_path):
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no setpriv): a private directory cannot be made")
    root = tmp_path / "root"
    env = make_venv(root / "env")
    # a venv of copies: its bin/python runs, but the base Python it needs lives in a private place
    private = tmp_path / "private"
    (private / "py" / "bin").mkdir(parents=True)
    cfg = env / "pyvenv.cfg"
    cfg.write_text(
        "\n".join(
            f"home = {private / 'py' / 'bin'}" if line.startswith("home") else line
            for line in cfg.read_text().splitlines()
        )
        + "\n"
    )
    private.chmod(0)
    try:
        record = _record(root, env)
    finally:
        private.chmod(0o755)
    assert record["status"] == "broken", record
    assert "base interpreter" in str(record["problem"]) and f"`{private}`" in str(record["problem"])
    _assert_admin_hint(record, str(private))


def test_check_reports_the_permission_problem_as_environment_broken(
    tmp_path: Path, isolated_home: Path
) -> None:
    root = tmp_path / "root"
    env = make_venv(root / "env")
    for name in ("python", "python3"):
        (env / "bin" / name).unlink()
    (env / "bin" / "python").write_text("#!/bin/sh\n")
    (env / "bin" / "python").chmod(0o600)
    out = cli("check", str(env), "--json")
    assert out.returncode == 1, out.stderr
    findings = json.loads(out.stdout)["findings"]
    assert findings[0]["code"] == "environment-broken" and "Permission denied" in findings[0]["message"]
