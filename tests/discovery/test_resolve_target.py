"""TARGET resolution (SPEC.md): a prefix, a project directory, an id/name/kernel name, or nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from discohelpers import write

from envfactory import make_venv
from envkernels.discovery import discover, resolve_target
from envkernels.errors import NotFoundError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    make_venv(root / "alpha")
    write(root / "proj" / "pyproject.toml", '[project]\nname = "proj"\n')
    make_venv(root / "proj" / ".venv")
    return root


def test_prefix_project_dir_and_interpreter_path(isolated_home: Path, root: Path) -> None:
    venv = str((root / "proj" / ".venv").resolve())
    assert resolve_target(str(root / "proj" / ".venv")).prefix == venv
    assert resolve_target(str(root / "proj")).prefix == venv
    assert resolve_target(str(root / "proj" / ".venv" / "bin" / "python")).prefix == venv
    assert resolve_target(str(root / "proj")).project == str((root / "proj").resolve())


def test_id_kernel_name_and_name(isolated_home: Path, root: Path) -> None:
    envs = discover([root], default_roots=False)
    alpha = next(e for e in envs if e.name == "alpha")
    assert resolve_target(alpha.id, envs) == alpha
    assert resolve_target(alpha.kernel_name, envs) == alpha
    assert resolve_target("alpha", envs) == alpha


def test_ambiguous_name_asks_for_an_id(isolated_home: Path, root: Path, tmp_path: Path) -> None:
    make_venv(tmp_path / "again" / "alpha")
    envs = discover([root, tmp_path / "again"], default_roots=False)
    with pytest.raises(NotFoundError) as info:
        resolve_target("alpha", envs)
    assert "2 environments" in info.value.message and info.value.hint


def test_unknown_target_and_missing_path_raise_not_found_with_hint(isolated_home: Path, root: Path) -> None:
    envs = discover([root], default_roots=False)
    with pytest.raises(NotFoundError) as info:
        resolve_target("no-such-env", envs)
    assert "envkernels list" in (info.value.hint or "")
    with pytest.raises(NotFoundError) as info:
        resolve_target(str(root / "missing" / "dir"), envs)
    assert info.value.hint


def test_a_project_without_an_environment_says_how_to_make_one(isolated_home: Path, tmp_path: Path) -> None:
    write(tmp_path / "bare" / "pyproject.toml", '[project]\nname = "bare"\n')
    with pytest.raises(NotFoundError) as info:
        resolve_target(str(tmp_path / "bare"))
    assert "no environment" in info.value.message and "uv sync" in (info.value.hint or "")


def test_a_directory_that_is_neither(isolated_home: Path, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotFoundError):
        resolve_target(str(tmp_path / "plain"))


def test_no_target_is_the_cwd_projects_env_found_walking_up(
    isolated_home: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = root / "proj" / "src" / "pkg"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert resolve_target(None).prefix == str((root / "proj" / ".venv").resolve())


def test_no_target_outside_any_project_is_the_running_interpreter(
    isolated_home: Path, tmp_path: Path
) -> None:
    # the autouse fixture put the cwd in an empty tmp dir (no project above it)
    assert resolve_target(None).prefix == os.path.realpath(sys.prefix)


def test_a_prefix_target_gets_the_same_id_as_its_listing(isolated_home: Path, tmp_path: Path) -> None:
    """Kind and name come from the tool directory the prefix sits in, whichever route reached it."""
    from discohelpers import fake_base_python, fake_conda_env

    poetry_env = make_venv(isolated_home / ".cache" / "pypoetry" / "virtualenvs" / "demo-AbCdEfGh-py3.11")
    pyenv_version = fake_base_python(isolated_home / ".pyenv" / "versions" / "3.12.4", "3.12.4")
    conda_base = fake_conda_env(isolated_home / "miniforge3", root=True)
    listed = {e.prefix: e for e in discover()}
    for prefix in (poetry_env, pyenv_version, conda_base):
        direct = resolve_target(str(prefix))
        assert direct.id == listed[str(prefix.resolve())].id
    assert listed[str(poetry_env.resolve())].name == "demo-py3.11"
    assert listed[str(conda_base.resolve())].name == "base"
