"""`envkernels doctor` and `envkernels cleanup` on real uv environments in tmp dirs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from kernelhelpers import env_at

from envfactory import make_venv
from envkernels.cli import main


def test_doctor_json_names_the_jupyter_kernels_and_each_problem_with_its_fix(
    khome: Path, kroot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = make_venv(tmp_path / "roots" / "dangling")
    (broken / "bin" / "python").unlink()
    (broken / "bin" / "python").symlink_to(tmp_path / "nothing")
    # Two kernelspecs for one environment: a duplicate doctor points out.
    python = kroot / "withipk" / "bin" / "python"
    for name in ("dup-a", "dup-b"):
        subprocess.run(
            [str(python), "-m", "ipykernel", "install", "--user", "--name", name],
            check=True,
            capture_output=True,
        )
    code = main(
        ["doctor", "--json", "--no-default-roots", "--root", str(kroot), "--root", str(tmp_path / "roots")]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # a broken environment is an error-level finding
    assert report["jupyter"]["jupyter_server"] and report["python"]["executable"]
    kernels = {k["name"]: k for k in report["kernels"]}
    assert env_at(kroot / "bare").kernel_name in kernels and "python3" in kernels
    codes = {f["code"]: f for f in report["findings"]}
    assert (
        env_at(broken).prefix in codes["broken-environment"]["message"]
        and codes["broken-environment"]["hint"]
    )
    no_ipykernel = [f["message"] for f in report["findings"] if f["code"] == "no-ipykernel"]
    assert any(str(kroot / "bare") in m for m in no_ipykernel)
    assert not any(str(kroot / "withipk") in m for m in no_ipykernel)
    assert (
        "`dup-a`" in codes["duplicate-kernelspec"]["message"]
        and "`dup-b`" in codes["duplicate-kernelspec"]["message"]
    )


def test_doctor_text_output_ends_each_finding_with_its_hint(
    khome: Path, kroot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--no-default-roots", "--root", str(kroot)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("python: ")
    assert "info: [no-ipykernel]" in out and "  hint: " in out


@pytest.fixture
def cluttered(tmp_path: Path) -> Path:
    """A root with a project (`.venv` + a stray `venv`), an env whose interpreter is gone,
    a remnant `env` (pyvenv.cfg only), and a healthy env that must stay."""
    root = tmp_path / "work"
    proj = root / "proj"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[project]\nname = 'proj'\nversion = '0'\n")
    make_venv(proj / ".venv")
    make_venv(proj / "venv")
    gone = make_venv(root / "old" / "tool-env")
    (gone / "bin" / "python").unlink()
    remnant = root / "scratch" / "env"
    remnant.mkdir(parents=True)
    (remnant / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (remnant / "bin").mkdir()
    (remnant / "bin" / "python").symlink_to(os.path.realpath(proj / ".venv" / "bin" / "python"))
    make_venv(root / "healthy")
    return root


def test_cleanup_lists_leftovers_with_sizes_and_deletes_nothing_without_apply(
    cluttered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cleanup", "--root", str(cluttered), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    found = {item["path"]: item["reason"] for item in report["leftovers"]}
    assert found == {
        str(cluttered / "proj" / "venv"): "duplicate-venv",
        str(cluttered / "old" / "tool-env"): "interpreter-gone",
        str(cluttered / "scratch" / "env"): "remnant",
    }
    assert all(item["size"] > 0 for item in report["leftovers"])
    assert report["deleted"] == [] and all(Path(p).exists() for p in found)


def test_cleanup_apply_deletes_exactly_what_it_listed_and_nothing_outside_the_root(
    cluttered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = make_venv(tmp_path / "outside" / "venv")
    (outside / "bin" / "python").unlink()  # a leftover too, but not under the root
    (cluttered / "linked").symlink_to(tmp_path / "outside")  # a way out of the root, never followed
    assert main(["cleanup", "--root", str(cluttered), "--apply", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["deleted"]) == sorted(item["path"] for item in report["leftovers"])
    assert len(report["deleted"]) == 3
    assert not (cluttered / "proj" / "venv").exists()
    assert (cluttered / "proj" / ".venv" / "pyvenv.cfg").is_file()
    assert (cluttered / "healthy" / "pyvenv.cfg").is_file()
    assert (outside / "pyvenv.cfg").is_file()


def test_cleanup_of_a_missing_root_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cleanup", "--root", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_cleanup_table_shows_sizes_and_says_how_to_delete(
    cluttered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cleanup", "--root", str(cluttered)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["SIZE", "REASON", "PATH", "DETAIL"]
    assert len(lines) == 4 and all(re.match(r"\d+(\.\d)? (B|kB|MB|GB) ", line) for line in lines[1:])
    assert "nothing deleted (dry run)" in captured.err
    assert "hint: `envkernels cleanup --apply`" in captured.err
