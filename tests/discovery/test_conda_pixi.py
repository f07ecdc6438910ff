"""conda, mamba, micromamba and pixi environments.

Layouts, not the real tools: conda/mamba/micromamba/pixi install from conda channels, which are
out of reach on this machine. The tests build exactly what those tools leave on disk
(``conda-meta/*.json`` package records and ``history``, ``~/.conda/environments.txt``, ``.condarc``
``envs_dirs``, ``<root>/envs/<name>``, pixi's ``.pixi/envs/<name>/conda-meta`` beside ``pixi.toml``)
— see ``discohelpers.fake_conda_env``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from discohelpers import by_prefix, fake_conda_env, under, write

from envkernels.discovery import discover, resolve_target


def test_environments_txt_registry_and_its_deleted_paths(isolated_home: Path, tmp_path: Path) -> None:
    """conda appends every created prefix to ~/.conda/environments.txt and never prunes it itself."""
    ds = fake_conda_env(tmp_path / "somewhere" / "ds", ipykernel=True)
    write(
        isolated_home / ".conda" / "environments.txt",
        f"{ds}\n\n{tmp_path / 'deleted-env'}\n# comment\n{tmp_path / 'also' / 'gone'}\n",
    )
    envs = under(discover(), tmp_path)
    assert len(envs) == 1
    env = envs[0]
    assert (env.kind, env.name, env.python_version, env.has_ipykernel, env.status) == (
        "conda",
        "ds",
        "3.12.4",
        True,
        "ok",
    )
    assert env.python == str(ds.resolve() / "bin" / "python")


def test_condarc_envs_dirs_and_conda_envs_path(isolated_home: Path, tmp_path: Path, monkeypatch) -> None:
    envs_dir = tmp_path / "my-envs"
    fake_conda_env(envs_dir / "analysis")
    write(isolated_home / ".condarc", f"channels:\n  - conda-forge\nenvs_dirs:\n  - {envs_dir}\n")
    other = tmp_path / "other-envs"
    fake_conda_env(other / "viaenv")
    monkeypatch.setenv("CONDA_ENVS_PATH", str(other))
    names = sorted(e.name for e in under(discover(), tmp_path))
    assert names == ["analysis", "viaenv"]


def test_garbage_condarc_does_not_break_the_listing(isolated_home: Path, tmp_path: Path) -> None:
    write(isolated_home / ".condarc", "envs_dirs: [unclosed\n\t- ::: {\n")
    fake_conda_env(isolated_home / ".conda" / "envs" / "kept")
    assert [e.name for e in under(discover(), isolated_home)] == ["kept"]


def test_base_install_with_envs_and_conda_prefix(isolated_home: Path, tmp_path: Path, monkeypatch) -> None:
    base = fake_conda_env(isolated_home / "miniforge3", root=True)
    fake_conda_env(base / "envs" / "torch", python="3.11.9", build="h955ad1f_0_cpython")
    active = fake_conda_env(tmp_path / "active-env", python="3.10.14", build="hd12c33a_0_cpython")
    monkeypatch.setenv("CONDA_PREFIX", str(active))
    envs = discover()
    assert by_prefix(envs, base).name == "base"
    assert by_prefix(envs, base / "envs" / "torch").python_version == "3.11.9"
    assert by_prefix(envs, active).kind == "conda"


def test_micromamba_root_prefix(isolated_home: Path, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "mamba-root"
    fake_conda_env(root / "envs" / "mm")
    monkeypatch.setenv("MAMBA_ROOT_PREFIX", str(root))
    assert [(e.kind, e.name) for e in under(discover(), root)] == [("conda", "mm")]


def test_free_threaded_and_pypy_conda_pythons(isolated_home: Path, tmp_path: Path) -> None:
    ft = fake_conda_env(
        tmp_path / "envs" / "ft", python="3.13.0", build="h9ebbce0_100_cp313t", free_threaded=True
    )
    pypy = fake_conda_env(tmp_path / "envs" / "pp", python="3.9.18", build="1_73_pypy")
    write(isolated_home / ".conda" / "environments.txt", f"{ft}\n{pypy}\n")
    envs = discover()
    assert (by_prefix(envs, ft).free_threaded, by_prefix(envs, ft).python_version) == (True, "3.13.0")
    assert by_prefix(envs, ft).python == str(ft.resolve() / "bin" / "python")
    assert by_prefix(envs, pypy).implementation == "pypy"


def test_conda_env_without_python_is_not_listed(isolated_home: Path, tmp_path: Path) -> None:
    r_env = fake_conda_env(tmp_path / "r-env", python=None)
    write(isolated_home / ".conda" / "environments.txt", f"{r_env}\n")
    assert under(discover(), tmp_path) == []


def test_registry_and_symlinked_route_give_one_record(isolated_home: Path, tmp_path: Path) -> None:
    real = fake_conda_env(tmp_path / "real" / "shared")
    link = tmp_path / "link-to-shared"
    link.symlink_to(real)
    write(isolated_home / ".conda" / "environments.txt", f"{real}\n{link}\n")
    write(isolated_home / ".condarc", f"envs_dirs:\n  - {tmp_path / 'real'}\n")
    envs = under(discover([tmp_path]), tmp_path)
    assert [e.prefix for e in envs] == [str(real.resolve())]


def test_pixi_project_envs_beside_pixi_toml_and_pyproject(isolated_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    proj = root / "pixiproj"
    write(
        proj / "pixi.toml",
        '[workspace]\nname = "pixiproj"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n',
    )
    write(proj / "pixi.lock", "version: 6\n")
    fake_conda_env(proj / ".pixi" / "envs" / "default", ipykernel=True)
    fake_conda_env(proj / ".pixi" / "envs" / "test", python="3.11.9")
    pyproj = root / "pyprojpixi"
    write(pyproj / "pyproject.toml", '[project]\nname = "pyprojpixi"\n[tool.pixi.workspace]\nchannels = []\n')
    fake_conda_env(pyproj / ".pixi" / "envs" / "default")
    envs = under(discover([root], default_roots=False), root)
    got = sorted((e.kind, e.name, e.project, e.python_version) for e in envs)
    assert got == [
        ("pixi", "pixiproj", str(proj.resolve()), "3.12.4"),
        ("pixi", "pixiproj-test", str(proj.resolve()), "3.11.9"),
        ("pixi", "pyprojpixi", str(pyproj.resolve()), "3.12.4"),
    ]
    default = by_prefix(envs, proj / ".pixi" / "envs" / "default")
    assert default.lockfiles == (str(proj.resolve() / "pixi.lock"),)
    assert default.has_ipykernel


def test_pixi_env_of_the_cwd_project_is_the_default_target(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = tmp_path / "pixiproj"
    write(proj / "pixi.toml", '[workspace]\nname = "pixiproj"\n')
    fake_conda_env(proj / ".pixi" / "envs" / "default")
    monkeypatch.chdir(proj)
    env = resolve_target(None)
    assert (env.kind, env.prefix) == ("pixi", str((proj / ".pixi" / "envs" / "default").resolve()))


def test_pixi_global_envs(isolated_home: Path) -> None:
    fake_conda_env(isolated_home / ".pixi" / "envs" / "jupyter")
    assert [(e.kind, e.name) for e in under(discover(), isolated_home)] == [("pixi", "jupyter")]
