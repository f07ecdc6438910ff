"""Shared environment roots through the real CLI and engine: marked `shared`, named `team`, never written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sharedhelpers import cli, listing

from envfactory import freeze, make_venv
from envkernels.discovery.probe import environment_from_prefix

OSV_DB = Path(__file__).resolve().parent.parent / "data" / "osv"


def test_a_shared_environment_is_marked_shared_and_its_kernel_says_team(
    team_env: Path, untouched: None
) -> None:
    out = cli("list", "--json", "--no-default-roots")
    assert out.returncode == 0, out.stderr
    records = {r["prefix"]: r for r in json.loads(out.stdout)}
    rec = records[str(team_env)]
    assert rec["shared"] is True and rec["status"] == "ok" and rec["name"] == "analytics"
    from envkernels.kernels.manager import EnvKernelSpecManager

    ksm = EnvKernelSpecManager(default_roots=False)
    spec = ksm.get_all_specs()[rec["kernel_name"]]["spec"]
    major, minor = rec["python_version"].split(".")[:2]
    assert spec["display_name"] == f"Python {major}.{minor} (team: analytics)"
    assert spec["metadata"]["envkernels"]["shared"] is True


def test_an_environment_outside_the_shared_roots_is_not_shared(team_env: Path, tmp_path: Path) -> None:
    own = make_venv(tmp_path / "mine")
    assert environment_from_prefix(own).shared is False
    assert environment_from_prefix(team_env).shared is True
    # reached through a symlink, it is still the shared one
    link = tmp_path / "link-to-team"
    link.symlink_to(team_env)
    assert environment_from_prefix(link).shared is True


def test_the_trait_alone_makes_a_root_shared(
    isolated_home: Path, team_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVKERNELS_SHARED_ROOTS", raising=False)  # restored after the test
    from envkernels.kernels.manager import EnvKernelSpecManager

    ksm = EnvKernelSpecManager(default_roots=False, shared_roots=[str(team_root)])
    names = [e["spec"]["display_name"] for e in ksm.get_all_specs().values()]
    assert any(n.endswith("(team: analytics)") for n in names), names
    # exported, so the kernels this server starts (and their magics' worker) see the same roots
    assert os.environ["ENVKERNELS_SHARED_ROOTS"] == str(team_root)


def test_check_audit_tree_and_lock_work_and_nothing_is_written_under_the_root(
    team_env: Path, untouched: None, tmp_path: Path
) -> None:
    checked = cli("check", str(team_env), "--json")
    assert checked.returncode in (0, 1), checked.stderr
    assert json.loads(checked.stdout)["environment"]["shared"] is True
    audited = cli("audit", str(team_env), "--db", str(OSV_DB), "--json")
    assert audited.returncode in (0, 1), audited.stderr
    assert json.loads(audited.stdout)["checked"] is True
    lock = tmp_path / "work" / "pylock.toml"
    locked = cli("lock", str(team_env), "-o", str(lock), "--no-hashes")
    assert locked.returncode == 0, locked.stderr
    assert 'name = "six"' in lock.read_text()
    # the notebook carries the team environment's lock too
    import nbformat

    nb = tmp_path / "work" / "study.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(nb))
    into_nb = cli("lock", str(team_env), "--notebook", str(nb), "--no-hashes")
    assert into_nb.returncode == 0, into_nb.stderr
    assert "six" in nbformat.read(str(nb), as_version=4).metadata["envkernels"]["lock"]


def test_sync_refuses_a_shared_environment_with_a_hint_to_fork(
    team_env: Path, untouched: None, tmp_path: Path
) -> None:
    lock = tmp_path / "work" / "requirements.txt"
    lock.write_text("six==1.16.0\n")
    before = freeze(team_env)
    for extra in ((), ("--yes",)):
        out = cli("sync", str(lock), "--target", str(team_env), *extra)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert lines[0].startswith("error: ") and "shared environment" in lines[0]
        assert lines[1].startswith("hint: ") and "envkernels fork" in lines[1]
        assert "Traceback" not in out.stderr
    assert freeze(team_env) == before


def test_no_lock_or_notebook_is_written_under_a_shared_root(team_env: Path, untouched: None) -> None:
    out = cli("lock", str(team_env), "-o", str(team_env / "pylock.toml"), "--no-hashes")
    assert out.returncode == 2
    assert "shared environment root" in out.stderr and "hint: " in out.stderr


def test_the_history_of_a_shared_environment_lives_in_the_users_cache(
    team_env: Path, isolated_home: Path
) -> None:
    from envkernels.sync.history import history_dir

    where = history_dir(environment_from_prefix(team_env))
    assert str(where).startswith(str(isolated_home / ".cache" / "envkernels"))
    assert not (team_env / ".envkernels").exists()


def test_a_shared_environment_never_gets_ipykernel_installed_into_it(team_env: Path, untouched: None) -> None:
    from envkernels.kernels import overlay
    from envkernels.kernels.activation import activation_for
    from envkernels.kernels.spec import LaunchSettings, kernel_env
    from envkernels.shared import SharedEnvironmentError

    env = environment_from_prefix(team_env)
    with pytest.raises(SharedEnvironmentError):
        overlay.install_ipykernel(env)
    settings = LaunchSettings("launch.py", "python", "/tmp/overlay", without_ipykernel="install")
    assert kernel_env(env, activation_for(env), settings)["ENVKERNELS_WITHOUT_IPYKERNEL"] == "overlay"


def test_cleanup_never_lists_or_moves_a_shared_environment(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "team"
    gone = make_venv(root / "old")
    (gone / "bin" / "python").unlink()  # interpreter-gone: cleanup proposes it when it is not shared
    (gone / "bin" / "python").symlink_to("/nonexistent/python3")
    monkeypatch.delenv("ENVKERNELS_SHARED_ROOTS", raising=False)
    listed = cli("cleanup", "--root", str(root), "--json")
    assert str(gone) in listed.stdout, listed.stderr
    monkeypatch.setenv("ENVKERNELS_SHARED_ROOTS", str(root))
    before = listing(root)
    shared = cli("cleanup", "--root", str(root), "--json")
    assert str(gone) not in shared.stdout, shared.stdout
    applied = cli("cleanup", "--root", str(root), "--apply", str(gone))
    assert applied.returncode != 0 or str(gone) not in applied.stdout
    assert listing(root) == before and gone.is_dir()


def test_list_shows_which_environments_are_the_teams(team_env: Path) -> None:
    out = cli("list", "--no-default-roots")
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if "analytics" in ln)
    assert "team" in line


def test_the_magics_refuse_to_sync_a_shared_environment_and_check_it(
    team_env: Path, untouched: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``%envsync`` in a kernel of a shared environment says to fork; ``%envcheck`` works there."""
    from IPython.core.interactiveshell import InteractiveShell

    from envkernels.magics import EnvKernelsMagicError

    monkeypatch.setenv("ENVKERNELS_ENV_PREFIX", str(team_env))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("ENVKERNELS_NOTEBOOK", raising=False)
    (tmp_path / "work" / "requirements.txt").write_text("six==1.16.0\n")
    from traitlets.config import Config

    quiet = Config()
    quiet.HistoryManager.enabled = False  # no sqlite history file under a HOME a later test removes
    shell = InteractiveShell.instance(config=quiet)
    shell._envkernels_magics = None
    shell.extension_manager.loaded.discard("envkernels")
    shell.run_line_magic("load_ext", "envkernels")
    try:
        for args in ("requirements.txt", "requirements.txt --apply"):
            with pytest.raises(EnvKernelsMagicError) as info:
                shell.run_line_magic("envsync", args)
            assert "shared environment" in info.value.message and "envkernels fork" in (info.value.hint or "")
        assert shell.run_line_magic("envcheck", "").environment["shared"] is True
    finally:
        shell.run_line_magic("unload_ext", "envkernels")
