"""`envkernels check`: output, JSON shape and SPEC.md's exit codes, on real environments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envkernels.cli import main


def test_json_of_a_healthy_env_exits_0(
    small_env: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(small_env), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"environment", "findings", "input_errors"}
    assert data["environment"]["prefix"] == str(small_env.resolve()) and data["findings"] == []


def test_error_findings_exit_1_with_hints_in_the_table(
    broken_env: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(broken_env)]) == 1
    out = capsys.readouterr().out
    assert "broken-requirement" in out and "hint: `uv pip install --python" in out
    assert "error" in out.splitlines()[-1]  # the summary line


def test_strict_makes_warnings_fail(
    tmp_path: Path, small_env: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n")  # idna is installed but not locked: a warning only
    assert main(["check", str(small_env), "--lock", str(lock), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["package"], f["severity"]) for f in findings] == [("lock-extra", "idna", "warning")]
    assert main(["check", str(small_env), "--lock", str(lock), "--strict"]) == 1


def test_bad_input_exits_2_naming_the_file_and_printing_no_verdict(
    tmp_path: Path, small_env: Path, isolated_home: Path
) -> None:
    nb = tmp_path / "nb.ipynb"
    nb.write_text("not json at all")
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels", "check", str(small_env), "--notebook", str(nb), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: `{nb}` is not a notebook") and "\nhint: " in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""  # no verdict from a check that could not read what it was given


def test_missing_notebook_and_unknown_target_are_usage_errors(
    tmp_path: Path, small_env: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(small_env), "--notebook", str(tmp_path / "missing.ipynb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: notebook") and "hint:" in err
    assert main(["check", str(tmp_path / "no-such-env")]) == 2
    assert capsys.readouterr().err.startswith("error:")
