"""The engine API (envkernels/api.py) on real uv-made environments: each operation, its errors, and
that the front ends' answers are its answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envfactory import make_venv, uv, venv_python
from envkernels import api
from envkernels.errors import NotFoundError, UsageError
from envkernels.model import Environment, Report

OSV_DB = Path(__file__).resolve().parent / "data" / "osv"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def _notebook(path: Path, kernel_name: str | None = None, source: str = "import six") -> Path:
    metadata = {"kernelspec": {"name": kernel_name, "display_name": "x", "language": "python"}}
    doc = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": 1}
        ],
        "metadata": metadata if kernel_name else {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")  # as Jupyter writes it
    return path


@pytest.fixture
def broken_env(tmp_path: Path) -> Path:
    """A venv where `requests` is installed without its requirements (three are missing)."""
    prefix = make_venv(tmp_path / "broken", ["six==1.16.0"])
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "--no-deps", "requests==2.32.3")
    return prefix


# ---- list and resolve ----------------------------------------------------------------------------


def test_list_environments_finds_the_root_filters_kinds_and_refuses_bad_input(
    small_env: Path, isolated_home: Path
) -> None:
    envs = api.list_environments(roots=[str(small_env.parent)], default_roots=False)
    mine = [e for e in envs if e.prefix == str(small_env.resolve())]
    assert len(mine) == 1 and mine[0].kind == "uv" and mine[0].ok
    assert api.list_environments(roots=[str(small_env.parent)], default_roots=False, kinds=["conda"]) == []
    with pytest.raises(UsageError, match="unknown kind `snake`"):
        api.list_environments(kinds=["snake"])
    with pytest.raises(UsageError, match="is not a directory"):
        api.list_environments(roots=[str(small_env / "nope")], default_roots=False)


def test_list_matches_the_cli(small_env: Path, isolated_home: Path) -> None:
    proc = _cli("list", "--json", "--no-default-roots", "--root", str(small_env.parent))
    assert proc.returncode == 0, proc.stderr
    ours = api.list_environments(roots=[str(small_env.parent)], default_roots=False)
    assert json.loads(proc.stdout) == [e.to_dict() for e in ours]


def test_resolve_a_prefix_an_id_and_a_project(small_env: Path, tmp_path: Path, isolated_home: Path) -> None:
    by_prefix = api.resolve(str(small_env))
    assert by_prefix.prefix == str(small_env.resolve())
    listing = api.list_environments(roots=[str(small_env.parent)], default_roots=False)
    assert api.resolve(by_prefix.id, environments=listing) == by_prefix
    assert api.resolve(str(small_env / "bin" / "python")).prefix == by_prefix.prefix
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    make_venv(project / ".venv")
    assert api.resolve(str(project)).prefix == str((project / ".venv").resolve())
    with pytest.raises(NotFoundError, match="no environment matches"):
        api.resolve("no-such-environment-name", environments=listing)


def test_resolve_a_notebook_by_its_kernel_then_by_its_project(
    small_env: Path, tmp_path: Path, isolated_home: Path
) -> None:
    env = api.resolve(str(small_env))
    listing = api.list_environments(roots=[str(small_env.parent)], default_roots=False)
    by_kernel = _notebook(tmp_path / "k.ipynb", env.kernel_name)
    assert api.resolve(str(by_kernel), environments=listing) == env
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    make_venv(project / ".venv")
    in_project = _notebook(project / "analysis.ipynb", "python3")
    assert api.resolve(str(in_project)).prefix == str((project / ".venv").resolve())
    alone = tmp_path / "alone"
    alone.mkdir()
    with pytest.raises(NotFoundError, match="names no envkernels kernel"):
        api.resolve(str(_notebook(alone / "x.ipynb")))


def test_kernel_environment_is_read_again_when_site_packages_change(tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    first = api.kernel_environment(str(prefix))
    assert api.kernel_environment(str(prefix)) is first
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "--no-deps", "ipykernel")
    again = api.kernel_environment(str(prefix))
    assert again is not first and again.has_ipykernel and not first.has_ipykernel
    with pytest.raises(NotFoundError, match="does not exist"):
        api.kernel_environment(str(tmp_path / "gone"))


def test_kernel_search_path_keeps_only_the_users_own_directories(small_env: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    site = next((small_env / "lib").glob("python*/site-packages"))
    plumbing = Path(api.__file__).parent / "kernel_side"
    entries = [str(site), str(mine), str(plumbing), "relative", str(tmp_path / "absent"), str(mine)]
    found = api.kernel_search_path(entries, prefix=str(small_env), base_prefix=sys.base_prefix)
    assert found == (str(mine.resolve()),)


def test_installed_lists_the_distributions_by_name(small_env: Path) -> None:
    names = [d.name for d in api.installed(api.resolve(str(small_env)))]
    assert names == sorted(names, key=str.lower) and {"six", "idna"} <= set(names)


# ---- check ---------------------------------------------------------------------------------------


def test_check_reports_missing_requirements_as_the_cli_does(broken_env: Path, isolated_home: Path) -> None:
    report = api.check(api.resolve(str(broken_env)))
    assert isinstance(report, Report)
    missing = {
        name
        for f in report.findings
        if f.code == "broken-requirement"
        for name in ("certifi", "charset-normalizer", "idna", "urllib3")
        if f"`{name}" in f.message
    }
    assert {f.package for f in report.findings if f.code == "broken-requirement"} == {"requests"}
    assert missing == {"certifi", "charset-normalizer", "idna", "urllib3"}
    assert report.input_errors == ()
    proc = _cli("check", str(broken_env), "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["findings"] == [f.to_dict() for f in report.findings]


def test_check_with_a_kernels_imports_and_an_unreadable_lock(
    broken_env: Path, tmp_path: Path, isolated_home: Path
) -> None:
    env = api.resolve(str(broken_env))
    report = api.check(env, imports=["six", "not_installed_anywhere"])
    undeclared = [f for f in report.findings if f.code == "undeclared-import"]
    assert [f.package for f in undeclared if "not_installed_anywhere" in f.message] != []
    bad_lock = tmp_path / "pylock.toml"
    bad_lock.write_text("this is [not toml")
    errors = api.check(env, lock=str(bad_lock)).input_errors
    assert errors and str(bad_lock) in json.dumps([e.to_dict() for e in errors])
    with pytest.raises(NotFoundError):
        api.check(env, notebook=str(tmp_path / "missing.ipynb"))


# ---- lock, plan, sync ------------------------------------------------------------------------------


def test_lock_writes_a_pylock_or_hands_it_to_an_open_notebook(small_env: Path, tmp_path: Path) -> None:
    env = api.resolve(str(small_env))
    out = tmp_path / "pylock.toml"
    result = api.lock(env, output=str(out), hashes=False)
    assert result.packages == 2 and result.path == str(out)
    assert 'name = "six"' in out.read_text() and 'version = "1.16.0"' in out.read_text()
    nb = _notebook(tmp_path / "open.ipynb")
    before = nb.read_text()
    handed = api.lock(env, open_notebook=str(nb), hashes=False)
    assert handed.notebook == str(nb) and handed.path is None and nb.read_text() == before
    assert handed.text == result.text
    record = api.notebook_environment(env, handed)
    assert record["id"] == env.id and record["packages"] == 2


def test_plan_and_sync_make_an_environment_match_a_lock(
    small_env: Path, tmp_path: Path, isolated_home: Path
) -> None:
    lock = tmp_path / "pylock.toml"
    api.lock(api.resolve(str(small_env)), output=str(lock), hashes=False)
    target = api.resolve(str(make_venv(tmp_path / "target", ["six==1.15.0"])))
    plan = api.plan(target, str(lock))
    assert [(c.name, c.old, c.new) for c in plan.upgrade] == [("six", "1.15.0", "1.16.0")]
    assert [c.name for c in plan.install] == ["idna"]
    assert api.refused(plan, api.source_policy()) == []
    result = api.sync(target, str(lock), planned=plan)
    assert result.applied and {c.name for c in result.changes} == {"six", "idna"}
    assert "six" in result.changed_modules  # a kernel that imported six must restart
    assert api.plan(target, str(lock)).is_empty
    # the CLI's plan is the API's plan
    proc = _cli("sync", str(lock), "--target", target.prefix, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == api.plan(target, str(lock)).to_dict()


def test_choose_lock_follows_the_rules_of_check(small_env: Path, tmp_path: Path) -> None:
    env = api.resolve(str(small_env))
    with pytest.raises(UsageError, match="no lock to sync to"):
        api.choose_lock(env, directory=str(tmp_path))
    with pytest.raises(NotFoundError, match="does not exist"):
        api.choose_lock(env, lock=str(tmp_path / "nope.toml"))
    mine = tmp_path / "pylock.toml"
    api.lock(env, output=str(mine), hashes=False)
    assert api.choose_lock(env, directory=str(tmp_path)) == str(mine)
    other = api.resolve(str(make_venv(tmp_path / "other")))
    with pytest.raises(UsageError, match="no lock to sync to"):
        api.choose_lock(other, directory=str(tmp_path))  # the pylock names another environment
    nb = _notebook(tmp_path / "nb.ipynb")
    api.lock(env, notebook=str(nb), output="-", hashes=False)
    assert api.choose_lock(other, notebook=str(nb), directory=str(tmp_path)) == str(nb)


# ---- audit ---------------------------------------------------------------------------------------


def test_audit_an_environment_and_its_lockfile_agree(tmp_path: Path, isolated_home: Path) -> None:
    prefix = make_venv(tmp_path / "vulnerable", ["urllib3==1.24.1"], no_deps=True)
    env = api.resolve(str(prefix))
    report = api.audit(env, db=str(OSV_DB))
    vulns = report.to_dict()["vulnerabilities"]
    assert vulns and {v["package"] for v in vulns} == {"urllib3"}
    assert any(f.code == "vulnerability" and f.severity == "error" for f in report.findings)
    by_target = api.audit(str(prefix), db=str(OSV_DB))
    assert by_target.to_dict()["vulnerabilities"] == vulns
    lock = tmp_path / "pylock.toml"
    api.lock(env, output=str(lock), hashes=False)
    from_lock = api.audit(str(lock), db=str(OSV_DB))
    assert from_lock.environment.kind == "lockfile"
    assert [v["id"] for v in from_lock.to_dict()["vulnerabilities"]] == [v["id"] for v in vulns]


# ---- tree and diff -------------------------------------------------------------------------------


def test_tree_and_why(broken_env: Path) -> None:
    env = api.resolve(str(broken_env))
    doc = api.tree(env)
    assert doc.environment.id == env.id and doc.why is None and "why" not in doc.to_dict()
    assert {p.name for p in doc.packages} >= {"requests", "six"}
    assert api.tree(env, why="six").to_dict()["why"] == {"package": "six", "paths": [["six"]]}
    with pytest.raises(NotFoundError, match="is not installed"):
        api.tree(env, why="numpy")


def test_diff_with_another_environment_and_with_a_lock(
    small_env: Path, broken_env: Path, tmp_path: Path
) -> None:
    left, right = api.resolve(str(small_env)), api.resolve(str(broken_env))
    doc = api.diff(left, other=right)
    status = {r.name: r.status for r in doc.rows}
    assert status["six"] == "same" and status["idna"] == "only-left" and status["requests"] == "only-right"
    lock = tmp_path / "pylock.toml"
    api.lock(left, output=str(lock), hashes=False)
    same = api.diff(left, lock=str(lock))
    assert {r.status for r in same.rows} == {"same"} and same.right.type == "lock"
    with pytest.raises(UsageError, match="exactly one"):
        api.diff(left)


# ---- doctor and cleanup --------------------------------------------------------------------------


def test_doctor_names_this_python(tmp_path: Path, isolated_home: Path) -> None:
    diagnosis = api.doctor(roots=[str(tmp_path)], default_roots=False)
    assert diagnosis.python["executable"] == sys.executable
    with pytest.raises(UsageError, match="is not a directory"):
        api.doctor(roots=[str(tmp_path / "nope")])


def test_cleanup_dry_run_apply_and_undo(tmp_path: Path, isolated_home: Path) -> None:
    root = tmp_path / "work"
    remnant = root / "proj" / ".venv"
    remnant.mkdir(parents=True)
    (root / "proj" / "requirements.txt").write_text("six\n")
    (remnant / "pyvenv.cfg").write_text("home = /nowhere\n")
    dry = api.cleanup([str(root)])
    assert [i.path for i in dry.leftovers] == [str(remnant)] and dry.proposed == dry.leftovers
    assert not dry.applied and dry.moved == () and remnant.exists()
    done = api.cleanup([str(root)], apply=[])
    assert done.applied and done.moved == (str(remnant),) and not remnant.exists()
    assert done.trash_id is not None and [e.id for e in api.trash_entries()] == [done.trash_id]
    api.cleanup_undo(done.trash_id)
    assert (remnant / "pyvenv.cfg").is_file()
    with pytest.raises(UsageError, match="0 or more"):
        api.empty_trash(-1)
    assert api.empty_trash() == []  # the undo emptied its entry


def test_the_api_module_is_light_to_import() -> None:
    """The CLI imports it for every command: no engine package is loaded with it."""
    code = (
        "import sys, envkernels.api\n"
        "heavy = [m for m in sys.modules if m.startswith(('envkernels.inspect', 'envkernels.sync', "
        "'envkernels.audit', 'envkernels.lockfiles', 'envkernels.kernels', 'envkernels.server'))]\n"
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_results_are_the_engines_types(small_env: Path) -> None:
    env = api.resolve(str(small_env))
    assert isinstance(env, Environment) and isinstance(api.check(env), Report)


# ---- kernelspecs and hidden kernels --------------------------------------------------------------


def test_install_hide_and_unhide_kernels(kernel_env: Path, tmp_path: Path, isolated_home: Path) -> None:
    env = api.resolve(str(kernel_env))
    done = api.install_kernels(str(kernel_env), prefix=str(tmp_path / "pfx"))
    assert [w["name"] for w in done.written] == [env.kernel_name] and done.skipped == ()
    spec = json.loads((Path(done.written[0]["resource_dir"]) / "kernel.json").read_text())
    assert spec["metadata"]["envkernels"]["id"] == env.id
    with pytest.raises(UsageError, match="not both"):
        api.install_kernels(str(kernel_env), every=True)
    hidden = api.hide_kernel(str(kernel_env))
    assert hidden["name"] == env.kernel_name and hidden["prefix"] == env.prefix
    assert [r["name"] for r in api.hidden_kernels()] == [env.kernel_name]
    assert api.unhide_kernel(env.kernel_name)["name"] == env.kernel_name
    assert api.hidden_kernels() == []
    with pytest.raises(NotFoundError, match="no hidden kernel"):
        api.unhide_kernel(env.kernel_name)
    ours, others = api.prune_kernels(prefix=str(tmp_path / "pfx"), dry_run=True)
    assert ours == [] and all(not s.ours for s in others)
