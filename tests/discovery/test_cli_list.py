"""`envkernels list` through the real CLI (a subprocess), checked against SPEC.md's record."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from discohelpers import fake_conda_env

from envfactory import make_venv

SPEC_KEYS = {
    "id",
    "kind",
    "name",
    "prefix",
    "python",
    "python_version",
    "implementation",
    "free_threaded",
    "project",
    "lockfiles",
    "has_ipykernel",
    "kernel_name",
    "status",
    "problem",
    "hint",
    "shared",
}
KINDS = {"venv", "uv", "poetry", "pdm", "hatch", "pipenv", "conda", "pixi", "pyenv", "system"}


def envkernels(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=120,
    )


def check_record(rec: dict) -> None:
    """One record has exactly SPEC's keys, with SPEC's types and constraints."""
    assert set(rec) == SPEC_KEYS
    assert rec["kind"] in KINDS
    assert re.fullmatch(r"[a-z0-9._-]+", rec["kernel_name"]) and rec["kernel_name"] == f"envk-{rec['id']}"
    assert rec["id"].startswith(rec["kind"] + "-")
    assert os.path.isabs(rec["prefix"])
    assert rec["python"] is None or os.path.isabs(rec["python"])
    assert isinstance(rec["lockfiles"], list) and all(os.path.isabs(p) for p in rec["lockfiles"])
    assert isinstance(rec["has_ipykernel"], bool) and isinstance(rec["free_threaded"], bool)
    assert isinstance(rec["shared"], bool)
    assert rec["status"] in ("ok", "broken", "unsupported")
    if rec["status"] != "ok":
        assert rec["problem"] and rec["hint"]
    else:
        assert rec["problem"] is None and rec["hint"] is None


def test_list_json_records_validate_against_spec(isolated_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_venv(root / "good")
    bad = make_venv(root / "bad")
    (bad / "pyvenv.cfg").write_text("")
    weird = os.fsencode(root) + b"/\xff-env"
    os.mkdir(weird)
    with open(weird + b"/pyvenv.cfg", "w") as fh:
        fh.write("home = /usr/bin\n")
    fake_conda_env(isolated_home / ".conda" / "envs" / "c")
    proc = envkernels("list", "--json", "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    for rec in records:
        check_record(rec)
    mine = {r["name"]: r for r in records if r["prefix"].startswith(str(tmp_path))}
    assert mine["good"]["status"] == "ok"
    assert mine["bad"]["status"] == "broken"
    assert mine["\\xff-env"]["status"] == "broken"
    assert mine["c"]["kind"] == "conda"
    assert "warning: `" in proc.stderr and "hint: " in proc.stderr  # broken ones are also told on stderr
    assert len({r["prefix"] for r in records}) == len(records)


def test_list_kind_filter_and_no_default_roots(isolated_home: Path, tmp_path: Path) -> None:
    make_venv(tmp_path / "root" / "v")
    fake_conda_env(isolated_home / ".conda" / "envs" / "c")
    proc = envkernels("list", "--json", "--no-default-roots", "--root", str(tmp_path / "root"))
    assert [r["name"] for r in json.loads(proc.stdout)] == ["v"]
    proc = envkernels("list", "--json", "--kind", "conda", "--root", str(tmp_path / "root"))
    assert [(r["kind"], r["name"]) for r in json.loads(proc.stdout)] == [("conda", "c")]


def test_list_table_goes_to_stdout(isolated_home: Path, tmp_path: Path) -> None:
    make_venv(tmp_path / "root" / "tabled")
    proc = envkernels("list", "--no-default-roots", "--root", str(tmp_path / "root"))
    assert proc.returncode == 0
    header, row = proc.stdout.splitlines()
    assert header.split() == ["ID", "KIND", "PYTHON", "IPYKERNEL", "STATUS", "PREFIX"]
    assert row.split()[1:5] == ["uv", ".".join(map(str, sys.version_info[:3])), "no", "ok"]
    assert proc.stderr == ""


def test_unknown_kind_is_a_usage_error(isolated_home: Path) -> None:
    proc = envkernels("list", "--kind", "npm")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "error: unknown kind `npm`"
    assert proc.stderr.splitlines()[1].startswith("hint: kinds are:")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_root_is_a_usage_error_not_an_empty_list(isolated_home: Path, tmp_path: Path) -> None:
    # An empty list would claim "no environments there" about a directory that was never looked at.
    proc = envkernels("list", "--json", "--no-default-roots", "--root", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"error: `{tmp_path / 'nope'}` is not a directory\nhint: ")


def test_list_walks_the_current_directory_by_default(isolated_home: Path, tmp_path: Path) -> None:
    """Run in a folder of projects, `list` finds their environments, as a server finds its root's."""
    folder = tmp_path / "projects"
    env = folder / "analysis" / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    listed = json.loads(envkernels("list", "--json", cwd=folder).stdout)
    assert str(env.resolve()) in {r["prefix"] for r in listed}
    only = json.loads(envkernels("list", "--json", "--no-default-roots", cwd=folder).stdout)
    assert only == []  # --no-default-roots: only the --root directories (none here)
