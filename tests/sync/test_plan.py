"""plan_sync: what a sync would change, computed from files on disk; locks for elsewhere refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from envfactory import freeze, make_venv, uv
from envkernels.discovery.probe import environment_from_prefix
from envkernels.errors import BadInputError
from envkernels.model import Environment
from envkernels.sync import plan_sync


@pytest.fixture(scope="module")
def drift_env(tmp_path_factory: pytest.TempPathFactory) -> Environment:
    """A read-only venv: six 1.15.0, idna 3.7, attrs 23.2.0."""
    prefix = make_venv(
        tmp_path_factory.mktemp("drift") / "env", ["six==1.15.0", "idna==3.7", "attrs==23.2.0"], no_deps=True
    )
    return environment_from_prefix(prefix)


def test_plan_lists_install_upgrade_downgrade_remove_with_versions(
    drift_env: Environment, tmp_path: Path
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\nidna==3.6\ncertifi==2024.2.2\n")
    plan = plan_sync(lock, drift_env)
    d = plan.to_dict()
    assert d["install"] == [{"name": "certifi", "from": None, "to": "2024.2.2"}]
    assert d["upgrade"] == [{"name": "six", "from": "1.15.0", "to": "1.16.0"}]
    assert d["downgrade"] == [{"name": "idna", "from": "3.7", "to": "3.6"}]
    assert d["remove"] == [{"name": "attrs", "from": "23.2.0", "to": None}]
    assert not plan.is_empty and d["unchanged"] == 0
    text = plan.text()
    assert "^ six 1.15.0 -> 1.16.0" in text and "v idna 3.7 -> 3.6" in text and "- attrs 23.2.0" in text


def test_plan_is_empty_when_the_environment_matches(drift_env: Environment, tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.15.0\nidna==3.7\nattrs==23.2.0\n")
    plan = plan_sync(lock, drift_env)
    assert plan.is_empty and plan.unchanged == 3 and "already matches" in plan.text()


def test_marker_false_for_this_python_is_not_installed(drift_env: Environment, tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.15.0\nidna==3.7\nattrs==23.2.0\ntomli==2.0.1 ; python_version < '3.0'\n")
    assert plan_sync(lock, drift_env).is_empty


def _pylock(tmp_path: Path, head: str, wheel: str = "six-1.16.0-py2.py3-none-any.whl") -> Path:
    f = tmp_path / "pylock.toml"
    f.write_text(
        f'lock-version = "1.0"\ncreated-by = "test"\n{head}\n'
        f'[[packages]]\nname = "six"\nversion = "1.16.0"\n'
        f'[[packages.wheels]]\nurl = "https://example.org/{wheel}"\n'
        f'[packages.wheels.hashes]\nsha256 = "{"0" * 64}"\n'
    )
    return f


def test_lock_for_another_platform_is_refused(drift_env: Environment, tmp_path: Path) -> None:
    lock = _pylock(tmp_path, "environments = [\"sys_platform == 'win32'\"]")
    with pytest.raises(BadInputError) as info:
        plan_sync(lock, drift_env)
    assert (
        'sys_platform == "win32"' in info.value.message and "not for this environment" in info.value.message
    )


def test_lock_for_another_python_is_refused(drift_env: Environment, tmp_path: Path) -> None:
    lock = _pylock(tmp_path, 'requires-python = "==3.8.*"')
    with pytest.raises(BadInputError, match=r"requires Python ==3\.8\.\*"):
        plan_sync(lock, drift_env)


def test_lock_with_only_windows_wheels_is_refused(drift_env: Environment, tmp_path: Path) -> None:
    lock = _pylock(tmp_path, "", wheel="six-1.16.0-cp311-cp311-win_amd64.whl")
    with pytest.raises(BadInputError, match=r"no wheel of six 1\.16\.0 for this environment"):
        plan_sync(lock, drift_env)


def test_unpinned_requirements_cannot_be_synced(drift_env: Environment, tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("six>=1.0\n")
    with pytest.raises(BadInputError, match="does not pin a version for six"):
        plan_sync(lock, drift_env)


@pytest.mark.parametrize("seed", [True, False])
def test_plan_for_a_uv_venv_predicts_what_uv_pip_sync_removes(tmp_path: Path, seed: bool) -> None:
    """uv keeps seed packages in a venv it seeded, and removes them from one it made without --seed."""
    prefix = make_venv(tmp_path / "env", ["six==1.16.0", *([] if seed else ["pip", "setuptools"])], seed=seed)
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n")
    before = set(freeze(prefix).split())
    plan = plan_sync(lock, environment_from_prefix(prefix))
    removed_seeds = {"pip", "setuptools", "wheel"} & {c.name for c in plan.remove}
    assert removed_seeds == (set() if seed else {"pip", "setuptools"})
    uv("pip", "sync", "--python", str(prefix / "bin" / "python"), str(lock), "--quiet")
    removed = {f"{c.name}=={c.old}" for c in plan.remove}
    assert set(freeze(prefix).split()) == before - removed
