"""The CLI's cached verdicts (cli/verdicts.py): a repeated `envkernels check` says what a full run says.

Each test runs `envkernels check` as a process, the way a user does. A run answered from the
stored verdict is recognised by what it imports (`-X importtime`: no discovery, no check
engine); its output and exit code must equal the full run's, and any change to what the verdict
depended on must make the next run a full one with the new answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envfactory import make_venv
from envkernels.cli import verdicts
from envkernels.discovery import scan


def _run(
    *args: str, cwd: Path | None = None, no_cache: bool = False
) -> tuple[subprocess.CompletedProcess[str], bool]:
    """``envkernels check ARGS`` as a process; (the result, whether the full engine was imported)."""
    env = dict(os.environ)
    if no_cache:
        env["ENVKERNELS_NO_CACHE"] = "1"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "envkernels", "check", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    full = "envkernels.discovery" in imported or "envkernels.inspect.check" in imported
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    return proc, full


@pytest.mark.parametrize("flags", [("--json",), (), ("--strict",), ("--json", "--strict")])
def test_a_repeated_check_is_answered_from_its_verdict_and_says_the_same(
    broken_env: Path, isolated_home: Path, flags: tuple[str, ...]
) -> None:
    reference, full = _run(str(broken_env), *flags, no_cache=True)
    assert full and reference.returncode == 1
    first, full = _run(str(broken_env), *flags)
    assert full  # nothing stored yet
    second, full = _run(str(broken_env), *flags)
    assert not full  # answered from the stored verdict
    for proc in (first, second):
        assert (proc.returncode, proc.stdout, proc.stderr) == (reference.returncode, reference.stdout, "")
    if "--json" in flags:
        findings = json.loads(second.stdout)["findings"]
        assert {f["code"] for f in findings} >= {"broken-requirement"}


def test_other_options_always_take_the_full_path(
    small_env: Path, isolated_home: Path, tmp_path: Path
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n")
    for _ in range(2):
        proc, full = _run(str(small_env), "--lock", str(lock), "--json")
        assert full and proc.returncode == 0
        assert [f["code"] for f in json.loads(proc.stdout)["findings"]] == ["lock-extra"]


def test_a_project_created_above_the_current_directory_changes_the_answer(
    tmp_path: Path, isolated_home: Path
) -> None:
    work = tmp_path / "outer" / "work"
    work.mkdir(parents=True)
    for _ in range(2):  # outside any project: the running interpreter
        proc, full = _run("--json", cwd=work)
        assert proc.returncode in (0, 1), proc.stderr
        assert json.loads(proc.stdout)["environment"]["prefix"] == os.path.realpath(sys.prefix)
    assert not full
    (tmp_path / "outer" / "pyproject.toml").write_text('[project]\nname = "outer"\nversion = "0"\n')
    proc, full = _run("--json", cwd=work)
    assert full and proc.returncode == 2 and proc.stdout == ""
    assert "has no environment yet" in proc.stderr


def test_a_changed_record_changes_the_answer(tmp_path: Path, isolated_home: Path) -> None:
    """A project file created beside `.venv` makes the same prefix another project's environment."""
    prefix = make_venv(tmp_path / "proj" / ".venv", ["six==1.16.0"])
    for _ in range(2):
        proc, full = _run("--json", str(prefix))
        assert json.loads(proc.stdout)["environment"]["project"] is None
    assert not full
    (tmp_path / "proj" / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0"\ndependencies = ["idna"]\n'
    )
    proc, full = _run("--json", str(prefix))
    assert full and proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["environment"]["project"] == str((tmp_path / "proj").resolve())
    assert ("missing-declared", "idna") in {(f["code"], f["package"]) for f in data["findings"]}


def test_a_damaged_verdict_is_computed_again(small_env: Path, isolated_home: Path) -> None:
    reference, _ = _run("--json", str(small_env))
    _run("--json", str(small_env))
    stored = list((isolated_home / ".cache" / "envkernels" / "check").glob("verdict-*"))
    assert len(stored) == 1
    stored[0].write_bytes(stored[0].read_bytes()[:40])  # a write cut short
    proc, full = _run("--json", str(small_env))
    assert full and (proc.returncode, proc.stdout) == (reference.returncode, reference.stdout)


def test_the_question_holds_every_variable_discovery_reads() -> None:
    for prefix in scan._KEY_VARS_PREFIXES:
        assert prefix.startswith(verdicts.ENV_PREFIXES), prefix


def test_advisories_appearing_on_this_machine_renew_a_verdict_with_a_conflict(
    broken_env: Path, isolated_home: Path
) -> None:
    """A conflict's hint avoids the releases the audit's cached advisories name (audit/local.py)."""
    for _ in range(2):
        proc, full = _run("--json", str(broken_env))
    assert not full and proc.returncode == 1
    cached = isolated_home / ".cache" / "envkernels" / "osv-api" / "0123456789abcdef"
    cached.mkdir(parents=True)
    (cached / "queries.json").write_text("{}")  # what an audit through the OSV API leaves
    proc, full = _run("--json", str(broken_env))
    assert full and proc.returncode == 1
