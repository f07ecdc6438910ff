"""A project directory (given, or the current one) resolves to the environment `list` maps to it.

The layouts are those hatch and PDM write (``<data>/env/virtual/<project>/<path id>/<env>``,
``<pdm venvs>/<project>-<hash>-<venv>``), built here with uv venvs; the `slow` test at the end
makes them with the real hatch, pdm and poetry. A project with no environment is an error with a
hint, exit 2, in every command that takes a TARGET: never a check of another Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from discohelpers import run_tool, write

from envfactory import make_venv
from envkernels.discovery import discover, resolve_target
from envkernels.discovery.context import path_id_of
from envkernels.discovery.pdm import hash_path
from envkernels.errors import NotFoundError

PY_MM = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _listed_for(project: Path) -> list[str]:
    """The prefixes `envkernels list` (discovery with the project as a root) maps to ``project``."""
    real = str(project.resolve())
    return [e.prefix for e in discover([project]) if e.project == real]


def _hatch_project(home: Path, where: Path) -> tuple[Path, Path]:
    proj = where / "hat"
    write(proj / "pyproject.toml", '[project]\nname = "hat"\nversion = "0"\n[tool.hatch.envs.lint]\n')
    base = home / ".local" / "share" / "hatch" / "env" / "virtual" / "hat" / path_id_of(str(proj.resolve()))
    default = make_venv(base / "hat")
    make_venv(base / "lint")
    return proj, default


def test_hatch_project_resolves_to_its_default_environment_as_listed(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj, default = _hatch_project(isolated_home, tmp_path)
    real = str(default.resolve())
    assert real in _listed_for(proj) and len(_listed_for(proj)) == 2
    env = resolve_target(str(proj))
    assert (env.prefix, env.kind, env.project) == (real, "hatch", str(proj.resolve()))
    monkeypatch.chdir(proj / ".")
    assert resolve_target(None).prefix == real
    # The CLI: `check <project>` from elsewhere and `check` inside the project.
    for args, cwd in (((str(proj),), tmp_path), ((), proj)):
        out = _cli("check", *args, "--json", cwd=cwd)
        assert out.returncode in (0, 1), out.stderr
        assert json.loads(out.stdout)["environment"]["prefix"] == real


def test_pdm_central_venv_is_found_and_pdm_python_picks_among_several(
    isolated_home: Path, tmp_path: Path
) -> None:
    proj = tmp_path / "pd"
    write(
        proj / "pyproject.toml", '[project]\nname = "pd"\nversion = "0"\n[tool.pdm]\ndistribution = false\n'
    )
    venvs = isolated_home / ".local" / "share" / "pdm" / "venvs"
    first = make_venv(venvs / f"pd-{hash_path(str(proj.resolve()))}-{PY_MM}")
    assert resolve_target(str(proj)).prefix == str(first.resolve())
    second = make_venv(venvs / f"pd-{hash_path(str(proj.resolve()))}-extra")
    assert sorted(_listed_for(proj)) == sorted([str(first.resolve()), str(second.resolve())])
    with pytest.raises(NotFoundError) as info:
        resolve_target(str(proj))
    assert "2 environments" in info.value.message and "no default" in info.value.message
    assert "envkernels list" in (info.value.hint or "")
    (proj / ".pdm-python").write_text(str(second / "bin" / "python") + "\n")
    env = resolve_target(str(proj))
    assert (env.prefix, env.kind) == (str(second.resolve()), "pdm")


def test_poetry_cache_venv_of_the_cwd_project(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = tmp_path / "poe"
    write(proj / "pyproject.toml", '[tool.poetry]\nname = "poe"\nversion = "0"\npackage-mode = false\n')
    name = f"poe-{path_id_of(str(proj.resolve()))}-py{PY_MM}"
    venv = make_venv(isolated_home / ".cache" / "pypoetry" / "virtualenvs" / name)
    monkeypatch.chdir(proj)
    env = resolve_target(None)
    assert (env.prefix, env.kind) == (str(venv.resolve()), "poetry")
    assert _listed_for(proj) == [env.prefix]


@pytest.mark.parametrize("kind", ["plain", "hatch", "pdm"])
def test_a_project_with_no_environment_is_an_error_in_every_command(
    isolated_home: Path, tmp_path: Path, kind: str
) -> None:
    proj = tmp_path / "bare"
    table = {"plain": "", "hatch": "[tool.hatch.envs.default]\n", "pdm": "[tool.pdm]\n"}[kind]
    write(proj / "pyproject.toml", f'[project]\nname = "bare"\nversion = "0"\n{table}')
    write(proj / "src" / "bare" / "__init__.py", "")
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n")
    runs = [
        _cli("check", cwd=proj),
        _cli("check", cwd=proj / "src" / "bare"),
        _cli("check", str(proj), cwd=tmp_path),
        _cli("lock", "-o", str(tmp_path / "out.toml"), cwd=proj),
        _cli("audit", cwd=proj),
        _cli("sync", str(lock), cwd=proj),
        _cli("sync", str(lock), "--target", str(proj), "--yes", cwd=tmp_path),
    ]
    for out in runs:
        assert out.returncode == 2, (out.args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert lines[0] == f"error: the project `{proj.resolve()}` has no environment yet", out.stderr
        assert lines[1].startswith("hint: create it with") and "Traceback" not in out.stderr
        assert out.stdout == ""
    expected = {"plain": "python -m venv", "hatch": "hatch env create", "pdm": "pdm install"}[kind]
    assert expected in runs[0].stderr
    assert not (tmp_path / "out.toml").exists()


def test_outside_any_project_the_cli_checks_the_running_interpreter(
    isolated_home: Path, tmp_path: Path
) -> None:
    out = _cli("check", "--json", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert json.loads(out.stdout)["environment"]["prefix"] == os.path.realpath(sys.prefix)


@pytest.mark.slow
def test_real_hatch_pdm_and_poetry_projects_resolve_as_list_maps_them(
    isolated_home: Path, tools: Path, tmp_path: Path
) -> None:
    """The tools write their environments outside the project; `check <project>` finds each."""
    hat = tmp_path / "hat"
    write(
        hat / "pyproject.toml",
        '[project]\nname = "hat"\nversion = "0"\n'
        "[tool.hatch.envs.default]\nskip-install = true\n[tool.hatch.envs.lint]\nskip-install = true\n",
    )
    run_tool([str(tools / "hatch"), "env", "create"], hat)
    run_tool([str(tools / "hatch"), "env", "create", "lint"], hat)
    pd = tmp_path / "pd"
    write(
        pd / "pyproject.toml",
        '[project]\nname = "pd"\nversion = "0"\nrequires-python = ">=3.10"\n'
        "dependencies = []\n[tool.pdm]\ndistribution = false\n",
    )
    run_tool([str(tools / "pdm"), "config", "-l", "venv.in_project", "false"], pd)
    run_tool([str(tools / "pdm"), "venv", "create", sys.executable], pd)  # central: pd-<hash>-X.Y
    run_tool([str(tools / "pdm"), "venv", "create", "--name", "extra", sys.executable], pd)
    run_tool([str(tools / "pdm"), "install"], pd)  # selects the first one in .pdm-python
    poe = tmp_path / "poe"
    write(
        poe / "pyproject.toml",
        '[project]\nname = "poe"\nversion = "0"\nrequires-python = ">=3.10"\n'
        "dependencies = []\n[tool.poetry]\npackage-mode = false\n",
    )
    run_tool([str(tools / "poetry"), "env", "use", sys.executable], poe)
    expected = {
        hat: ("hatch", isolated_home / ".local" / "share" / "hatch"),
        pd: ("pdm", isolated_home / ".local" / "share" / "pdm" / "venvs"),
        poe: ("poetry", isolated_home / ".cache" / "pypoetry" / "virtualenvs"),
    }
    for proj, (kind, where) in expected.items():
        listed = _listed_for(proj)
        assert listed, f"{kind}: list maps nothing to {proj}"
        out = _cli("check", str(proj), "--json", cwd=tmp_path)
        assert out.returncode in (0, 1), out.stderr
        env = json.loads(out.stdout)["environment"]
        assert env["kind"] == kind and env["prefix"] in listed
        assert env["prefix"].startswith(str(where.resolve()))
        inside = _cli("check", "--json", cwd=proj)
        assert json.loads(inside.stdout)["environment"]["prefix"] == env["prefix"]
