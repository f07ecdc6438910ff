"""venv, virtualenv and uv venvs made by the real tools, under roots and in virtualenvwrapper's home."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from discohelpers import by_prefix, under

from envfactory import make_venv
from envkernels.core.layout import prefix_hash
from envkernels.discovery import discover, environment_from_prefix


def test_python_m_venv_uv_venv_and_virtualenv_are_found_under_a_root_with_their_versions(
    isolated_home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "stdvenv")], check=True)
    make_venv(root / "uvvenv")
    subprocess.run(
        [sys.executable, "-m", "virtualenv", "--quiet", "--no-seed", str(root / "venvvirtualenv")], check=True
    )
    envs = under(discover([root], default_roots=False), root)
    assert sorted(e.name for e in envs) == ["stdvenv", "uvvenv", "venvvirtualenv"]
    version = ".".join(map(str, sys.version_info[:3]))
    for env in envs:
        assert env.status == "ok", env
        assert env.python_version == version
        assert env.implementation == "cpython"
        assert env.free_threaded is False
        assert env.python == str(Path(env.prefix) / "bin" / "python")
    assert by_prefix(envs, root / "uvvenv").kind == "uv"  # uv writes `uv = ...` into pyvenv.cfg
    assert by_prefix(envs, root / "stdvenv").kind == "venv"
    assert by_prefix(envs, root / "venvvirtualenv").kind == "venv"


def test_has_ipykernel_comes_from_site_packages(small_env: Path, kernel_env: Path) -> None:
    assert environment_from_prefix(kernel_env).has_ipykernel is True
    assert environment_from_prefix(small_env).has_ipykernel is False


def test_workon_home_and_dot_virtualenvs_are_default_places(
    isolated_home: Path, tmp_path: Path, monkeypatch
) -> None:
    make_venv(isolated_home / ".virtualenvs" / "wrapped")
    workon = tmp_path / "workon"
    make_venv(workon / "other")
    monkeypatch.setenv("WORKON_HOME", str(workon))
    envs = discover()
    assert by_prefix(envs, isolated_home / ".virtualenvs" / "wrapped").name == "wrapped"
    assert by_prefix(envs, workon / "other").name == "other"


def test_id_and_kernel_name_follow_spec_and_stay_stable_for_a_prefix(
    isolated_home: Path, tmp_path: Path
) -> None:
    prefix = make_venv(tmp_path / "root" / "My Project!")
    first = by_prefix(discover([tmp_path / "root"], default_roots=False), prefix)
    again = environment_from_prefix(str(prefix) + "/")
    assert first.id == again.id
    assert re.fullmatch(r"[a-z0-9._-]+", first.kernel_name)
    assert first.id == f"uv-my-project-{prefix_hash(first.prefix)}"
    assert first.kernel_name == f"envk-{first.id}"


def test_prefix_and_python_are_absolute_and_resolved_when_reached_through_a_symlink(
    isolated_home: Path, tmp_path: Path
) -> None:
    real = make_venv(tmp_path / "real" / "env")
    link = tmp_path / "link"
    link.symlink_to(real.parent)
    env = environment_from_prefix(link / "env")
    assert env.prefix == str(real.resolve())
    assert env.python == str(real.resolve() / "bin" / "python")


def test_one_prefix_through_a_registry_and_a_symlink_is_one_record_of_the_most_specific_kind(
    isolated_home: Path, tmp_path: Path
) -> None:
    """A uv project's `.venv`, reached by a root walk, by a symlink under another root, and by a
    symlink in virtualenvwrapper's ~/.virtualenvs (kind venv), is listed once, as `uv`."""
    project = tmp_path / "src" / "proj"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\n')
    (project / "uv.lock").write_text("version = 1\n")
    venv = make_venv(project / ".venv")
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "alias").symlink_to(venv)
    (isolated_home / ".virtualenvs").mkdir()
    (isolated_home / ".virtualenvs" / "proj").symlink_to(venv)
    envs = [e for e in discover([tmp_path / "src", tmp_path / "links"]) if e.prefix == str(venv.resolve())]
    assert len(envs) == 1
    assert (envs[0].kind, envs[0].name, envs[0].project) == ("uv", "proj", str(project.resolve()))
