"""poetry, pdm, hatch and pipenv environments made by the real tools (from PyPI), in an isolated HOME."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from discohelpers import by_prefix, run_tool, under, write

from envkernels.discovery import discover, resolve_target

pytestmark = pytest.mark.slow

PY = sys.executable


def project(path: Path, extra: str = "") -> Path:
    """A minimal PEP 621 project with no dependencies (so the tools need no index)."""
    write(
        path / "pyproject.toml",
        f'[project]\nname = "{path.name}"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = []\n{extra}",
    )
    return path


def test_poetry_cache_env_is_found_and_mapped_back_to_its_project(
    isolated_home: Path, tools: Path, tmp_path: Path
) -> None:
    proj = project(tmp_path / "root" / "poe", "[tool.poetry]\npackage-mode = false\n")
    out = run_tool([str(tools / "poetry"), "env", "use", PY], proj)
    assert "pypoetry/virtualenvs/poe-" in out
    envs = discover([tmp_path / "root"])
    poetry_envs = under(envs, isolated_home / ".cache" / "pypoetry" / "virtualenvs")
    assert len(poetry_envs) == 1
    env = poetry_envs[0]
    assert env.kind == "poetry"
    assert env.name == f"poe-py{sys.version_info[0]}.{sys.version_info[1]}"
    assert env.project == str(proj.resolve())
    assert resolve_target(str(proj)).prefix == env.prefix


def test_poetry_virtualenvs_path_variable_and_config_toml_are_honoured(
    isolated_home: Path, tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(tmp_path / "poe2", "[tool.poetry]\npackage-mode = false\n")
    where = tmp_path / "poetry-envs"
    monkeypatch.setenv("POETRY_VIRTUALENVS_PATH", str(where))
    run_tool([str(tools / "poetry"), "env", "use", PY], proj)
    assert [e.kind for e in under(discover(), where)] == ["poetry"]
    monkeypatch.delenv("POETRY_VIRTUALENVS_PATH")
    # the same setting written by `poetry config` into poetry's config.toml
    configured = tmp_path / "configured-envs"
    run_tool([str(tools / "poetry"), "config", "virtualenvs.path", str(configured)], proj)
    assert (isolated_home / ".config" / "pypoetry" / "config.toml").is_file()
    run_tool([str(tools / "poetry"), "env", "use", PY], proj)
    assert [e.kind for e in under(discover(), configured)] == ["poetry"]


def test_poetry_in_project_venv_is_kind_poetry(isolated_home: Path, tools: Path, tmp_path: Path) -> None:
    proj = project(tmp_path / "root" / "inproj", "[tool.poetry]\npackage-mode = false\n")
    run_tool([str(tools / "poetry"), "lock"], proj, {"POETRY_VIRTUALENVS_IN_PROJECT": "true"})
    run_tool([str(tools / "poetry"), "env", "use", PY], proj, {"POETRY_VIRTUALENVS_IN_PROJECT": "true"})
    env = by_prefix(discover([tmp_path / "root"], default_roots=False), proj / ".venv")
    assert env.kind == "poetry"
    assert env.lockfiles == (str(proj.resolve() / "poetry.lock"),)


def test_pdm_in_project_venv_central_venv_and_pypackages(
    isolated_home: Path, tools: Path, tmp_path: Path
) -> None:
    pdm = str(tools / "pdm")
    proj = project(tmp_path / "root" / "pd", "[tool.pdm]\ndistribution = false\n")
    run_tool([pdm, "venv", "create", PY], proj)
    run_tool([pdm, "venv", "create", "--name", "extra", PY], proj)
    pep582 = project(tmp_path / "root" / "pep582", "[tool.pdm]\ndistribution = false\n")
    run_tool([pdm, "config", "-l", "python.use_venv", "false"], pep582)
    run_tool([pdm, "use", "-f", PY], pep582)
    run_tool([pdm, "install"], pep582)
    envs = discover([tmp_path / "root"])
    in_project = by_prefix(envs, proj / ".venv")
    assert (in_project.kind, in_project.name) == ("pdm", "pd")
    central = under(envs, isolated_home / ".local" / "share" / "pdm" / "venvs")
    assert [(e.kind, e.name, e.project) for e in central] == [("pdm", "pd-extra", str(proj.resolve()))]
    version_dir = f"{sys.version_info[0]}.{sys.version_info[1]}"
    packages = by_prefix(envs, pep582 / "__pypackages__" / version_dir)
    assert packages.kind == "pdm" and packages.status == "ok", packages
    assert packages.python_version == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert packages.lockfiles == (str(pep582.resolve() / "pdm.lock"),)


def test_hatch_env_in_data_dir_and_hatch_data_dir(
    isolated_home: Path, tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(
        tmp_path / "root" / "hat",
        "[tool.hatch.envs.default]\nskip-install = true\n[tool.hatch.envs.lint]\nskip-install = true\n",
    )
    run_tool([str(tools / "hatch"), "env", "create"], proj)
    run_tool([str(tools / "hatch"), "env", "create", "lint"], proj)
    envs = under(discover([tmp_path / "root"]), isolated_home / ".local" / "share" / "hatch")
    assert sorted((e.kind, e.name, e.project) for e in envs) == [
        ("hatch", "hat", str(proj.resolve())),
        ("hatch", "hat-lint", str(proj.resolve())),
    ]
    data = tmp_path / "hatch-data"
    monkeypatch.setenv("HATCH_DATA_DIR", str(data))
    run_tool([str(tools / "hatch"), "env", "create"], proj)
    assert [e.name for e in under(discover(), data)] == ["hat"]


def test_pipenv_env_with_project_file_and_workon_home(
    isolated_home: Path, tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = tmp_path / "pipe"
    write(proj / "Pipfile", '[packages]\n\n[requires]\npython_version = "3"\n')
    run_tool([str(tools / "pipenv"), "--python", PY], proj, {"PIPENV_YES": "1"})
    envs = under(discover(), isolated_home / ".local" / "share" / "virtualenvs")
    assert [(e.kind, e.name, e.project) for e in envs] == [("pipenv", "pipe", str(proj.resolve()))]
    assert resolve_target(str(proj)).prefix == envs[0].prefix
    workon = tmp_path / "workon"
    monkeypatch.setenv("WORKON_HOME", str(workon))
    other = tmp_path / "pipe2"
    write(other / "Pipfile", "[packages]\n")
    run_tool([str(tools / "pipenv"), "--python", PY], other, {"PIPENV_YES": "1"})
    assert [(e.kind, e.name) for e in under(discover(), workon)] == [("pipenv", "pipe2")]
