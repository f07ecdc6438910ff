"""`envkernels doctor` and `envkernels cleanup` on real environments in tmp dirs.

The cleanup scenarios are made with the real tools: `python -m venv`, `uv venv`, `uv sync`, `uv run`,
`envkernels lock --notebook`, jupyter_client's kernelspec installer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cleanuphelpers import by_path, chome, cleanup_json, python_m_venv, uv_project
from kernelhelpers import env_at

from envfactory import make_venv, uv
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


__all__ = ["chome"]  # a fixture, imported for the tests below


@pytest.fixture
def cluttered(tmp_path: Path) -> Path:
    """A root with a uv project (`.venv` + a stray empty `venv`), an env whose interpreter is gone,
    a remnant `env` (pyvenv.cfg only), and a healthy env that must stay."""
    root = tmp_path / "work"
    proj = root / "proj"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[project]\nname = 'proj'\nversion = '0'\n\n[tool.uv]\n")
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


def test_cleanup_lists_leftovers_with_what_they_hold_and_moves_nothing_without_apply(
    chome: Path, cluttered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = cleanup_json(capsys, "--root", str(cluttered))
    found = {path: (item["reason"], item["status"]) for path, item in by_path(report).items()}
    assert found == {
        str(cluttered / "proj" / "venv"): ("duplicate-venv", "proposed"),
        str(cluttered / "old" / "tool-env"): ("interpreter-gone", "proposed"),
        str(cluttered / "scratch" / "env"): ("remnant", "proposed"),
    }
    dup = by_path(report)[str(cluttered / "proj" / "venv")]
    assert dup["tools"] == ["uv uses `.venv` ([tool.uv]: uv's project environment)"]
    assert dup["distributions"] == 0 and dup["only_here"] == [] and dup["used_by"] == []
    assert dup["last_modified"] and dup["project"] == str(cluttered / "proj")
    assert all(item["size"] > 0 for item in report["leftovers"])
    assert report["moved"] == [] and all(Path(p).exists() for p in found)


def test_cleanup_apply_moves_exactly_what_it_proposed_and_nothing_outside_the_root(
    chome: Path, cluttered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = make_venv(tmp_path / "outside" / "venv")
    (outside / "bin" / "python").unlink()  # a leftover too, but not under the root
    (cluttered / "linked").symlink_to(tmp_path / "outside")  # a way out of the root, never followed
    report = cleanup_json(capsys, "--root", str(cluttered), "--apply")
    assert sorted(report["moved"]) == sorted(item["path"] for item in report["leftovers"])
    assert len(report["moved"]) == 3 and report["trash_id"]
    assert not (cluttered / "proj" / "venv").exists()
    assert (cluttered / "proj" / ".venv" / "pyvenv.cfg").is_file()
    assert (cluttered / "healthy" / "pyvenv.cfg").is_file()
    assert (outside / "pyvenv.cfg").is_file()
    trashed = chome / ".cache" / "envkernels" / "trash" / report["trash_id"] / "items"
    assert sorted(p.name for p in trashed.iterdir()) == ["0", "1", "2"]
    assert all((p / "pyvenv.cfg").is_file() for p in trashed.iterdir())


def test_cleanup_of_a_missing_root_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cleanup", "--root", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_cleanup_table_shows_what_would_be_lost_and_says_how_to_move_and_undo(
    chome: Path, cluttered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cleanup", "--root", str(cluttered)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["SIZE", "DISTS", "ONLY", "HERE", "MODIFIED", "STATUS", "REASON", "PATH"]
    assert all(
        re.match(r"\d+(\.\d)? (B|kB|MB|GB) +\d+ +\d+ +\d{4}-\d\d-\d\d \d\d:\d\d +proposed ", line)
        for line in lines[1:4]
    )
    assert f"{cluttered / 'proj' / 'venv'}: proposed" in captured.out
    assert "3 proposed" in captured.err and "nothing moved (dry run)" in captured.err
    assert "hint: `envkernels cleanup --apply`" in captured.err and "--undo" in captured.err


def test_python_m_venv_with_the_packages_beside_an_empty_dotvenv_from_uv_run_is_never_proposed(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The scenario: `python -m venv venv` holds the packages; `uv run` later made an empty `.venv`.
    proj = tmp_path / "proj"
    proj.mkdir()
    python_m_venv(proj / "venv", ["six==1.16.0"])
    uv_project(proj, via="run")
    assert (proj / ".venv" / "pyvenv.cfg").is_file() and (proj / "uv.lock").is_file()
    report = cleanup_json(capsys, "--root", str(tmp_path))
    found = by_path(report)
    assert list(found) == [str(proj / "venv")]  # `.venv` is what uv uses: never listed
    venv = found[str(proj / "venv")]
    assert venv["status"] == "needs-decision"
    assert "six==1.16.0" in venv["detail"] and "`.venv` lacks" in venv["detail"]
    assert "six==1.16.0" in venv["only_here"] and any(d.startswith("pip==") for d in venv["only_here"])
    assert venv["tools"] == ["uv uses `.venv` (uv.lock: uv's project environment)"]
    report = cleanup_json(capsys, "--root", str(tmp_path), "--apply")
    assert report["moved"] == [] and (proj / "venv" / "bin" / "python").exists()
    # Named explicitly, it is moved (and can be put back).
    report = cleanup_json(capsys, "--root", str(tmp_path), "--apply", str(proj / "venv"))
    assert report["moved"] == [str(proj / "venv")] and not (proj / "venv").exists()
    assert main(["cleanup", "--undo", report["trash_id"]]) == 0
    assert (proj / "venv" / "lib").is_dir()


@pytest.fixture(scope="session")
def stale_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A uv project whose `.venv` (uv sync) holds six, beside a `python -m venv` copy holding the same six."""
    proj = uv_project(tmp_path_factory.mktemp("stale") / "proj", ["six==1.16.0"])
    python_m_venv(proj / "venv", ["six==1.16.0"])
    return proj


@pytest.fixture
def stale_beside_uv(stale_template: Path, tmp_path: Path) -> Path:
    """This test's copy of ``stale_template`` (copied with its symlinks, as `cp -a` would; built once)."""
    return Path(shutil.copytree(stale_template, tmp_path / "proj", symlinks=True))


def test_a_stale_copy_holding_nothing_the_tools_env_lacks_is_proposed_and_moved(
    chome: Path, stale_beside_uv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = stale_beside_uv
    report = cleanup_json(capsys, "--root", str(proj))
    venv = by_path(report)[str(proj / "venv")]
    assert list(by_path(report)) == [str(proj / "venv")]
    assert venv["status"] == "proposed", venv["detail"]
    assert "six==1.16.0" not in venv["only_here"]  # `.venv` has it too
    assert venv["distributions"] >= 2  # six and the pip `python -m venv` seeds
    report = cleanup_json(capsys, "--root", str(proj), "--apply")
    assert report["moved"] == [str(proj / "venv")]
    assert not (proj / "venv").exists() and (proj / ".venv" / "pyvenv.cfg").is_file()


def test_uv_project_environment_decides_which_copy_is_the_duplicate(
    chome: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    uv("venv", "--python", sys.executable, "--quiet", str(proj / ".venv"))  # an empty `.venv`
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", "venv")
    uv_project(proj, ["six==1.16.0"], via="sync")  # uv builds `venv/`, as the setting says
    assert (proj / "venv" / "pyvenv.cfg").is_file()
    found = by_path(cleanup_json(capsys, "--root", str(tmp_path)))
    assert list(found) == [str(proj / ".venv")]
    assert found[str(proj / ".venv")]["status"] == "proposed"
    assert found[str(proj / ".venv")]["tools"] == ["uv uses `venv` (UV_PROJECT_ENVIRONMENT)"]


def _notebook(path: Path, metadata: dict[str, object]) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata.update(metadata)
    nb.cells.append(nbformat.v4.new_code_cell("import six"))
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("how", ["envkernels-lock", "kernel-name", "kernel-name-from-another-machine"])
def test_a_notebook_recording_the_stale_copy_makes_it_a_decision(
    how: str, chome: Path, stale_beside_uv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = stale_beside_uv
    (proj / "notes").mkdir()
    venv = env_at(proj / "venv")
    if how == "envkernels-lock":
        nb = _notebook(proj / "notes" / "analysis.ipynb", {})
        assert main(["lock", str(proj / "venv"), "--notebook", str(nb), "--no-hashes"]) == 0
    elif how == "kernel-name":
        spec = {"name": venv.kernel_name, "display_name": "x"}
        _notebook(proj / "notes" / "analysis.ipynb", {"kernelspec": spec})
    else:  # same kind and name, another machine's path hash: resolves to this project's environments
        other = venv.kernel_name.rsplit("-", 1)[0] + "-0badc0de"
        _notebook(proj / "notes" / "analysis.ipynb", {"kernelspec": {"name": other, "display_name": "x"}})
    capsys.readouterr()
    item = by_path(cleanup_json(capsys, "--root", str(proj)))[str(proj / "venv")]
    assert item["status"] == "needs-decision"
    assert item["used_by"] == ["notebook `notes/analysis.ipynb`"]
    assert cleanup_json(capsys, "--root", str(proj), "--apply")["moved"] == []


def test_a_notebook_that_cannot_be_read_keeps_every_copy_from_being_proposed(
    chome: Path, stale_beside_uv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (stale_beside_uv / "broken.ipynb").write_text("{ not json")
    item = by_path(cleanup_json(capsys, "--root", str(stale_beside_uv)))[str(stale_beside_uv / "venv")]
    assert item["status"] == "needs-decision" and "could not be read" in item["detail"]


def test_an_installed_kernelspec_of_the_stale_copy_makes_it_a_decision(
    chome: Path, stale_beside_uv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    src = tmp_path / "spec"
    src.mkdir()
    python = str(stale_beside_uv / "venv" / "bin" / "python")
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "old venv", "language": "python"}
    (src / "kernel.json").write_text(json.dumps(spec))
    KernelSpecManager().install_kernel_spec(str(src), "old-venv", user=True)
    item = by_path(cleanup_json(capsys, "--root", str(stale_beside_uv)))[str(stale_beside_uv / "venv")]
    assert item["status"] == "needs-decision"
    assert len(item["used_by"]) == 1 and item["used_by"][0].startswith("kernelspec `old-venv` (")


def test_a_project_whose_tools_name_no_environment_gets_no_proposal(
    chome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "requirements.txt").write_text("six\n")
    make_venv(proj / ".venv")
    make_venv(proj / "venv")
    found = by_path(cleanup_json(capsys, "--root", str(tmp_path)))
    assert {p: i["status"] for p, i in found.items()} == {
        str(proj / ".venv"): "needs-decision",
        str(proj / "venv"): "needs-decision",
    }
    assert all("no tool setting names" in i["detail"] for i in found.values())


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root"
)
def test_environments_owned_by_another_user_are_never_listed(
    chome: Path, cluttered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (cluttered / "proj" / "venv", cluttered / "old" / "tool-env"):
        for dirpath, dirnames, filenames in os.walk(path):
            for name in [*dirnames, *filenames, "."]:
                os.lchown(os.path.join(dirpath, name), 12345, 12345)
    found = by_path(cleanup_json(capsys, "--root", str(cluttered), "--apply"))
    assert list(found) == [str(cluttered / "scratch" / "env")]
    assert (cluttered / "proj" / "venv" / "pyvenv.cfg").is_file()
    assert (cluttered / "old" / "tool-env" / "pyvenv.cfg").is_file()


def test_apply_of_a_path_cleanup_does_not_list_moves_nothing(
    chome: Path, cluttered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cleanup", "--root", str(cluttered), "--apply", str(cluttered / "healthy")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: `{cluttered / 'healthy'}` is not an environment")
    assert (cluttered / "proj" / "venv").is_dir() and (cluttered / "healthy").is_dir()


@pytest.mark.parametrize(
    ("files", "kept", "stray", "tools"),
    [
        # pdm records the interpreter it uses in `.pdm-python` (`pdm use` writes the path).
        (
            {".pdm-python": "{proj}/venv/bin/python\n", "pdm.lock": ""},
            "venv",
            ".venv",
            ["pdm uses `venv` (.pdm-python)"],
        ),
        # hatch: the default environment's `path` in pyproject.toml.
        (
            {"pyproject.toml": "[project]\nname = 'p'\n\n[tool.hatch.envs.default]\npath = 'env'\n"},
            "env",
            ".venv",
            ["hatch uses `env` ([tool.hatch.envs.default] path)"],
        ),
        # poetry without in-project set uses an existing `.venv`.
        (
            {"poetry.lock": "", "pyproject.toml": "[tool.poetry]\nname = 'p'\n"},
            ".venv",
            "venv",
            ["poetry uses `.venv` (poetry uses an existing `.venv`)"],
        ),
    ],
    ids=["pdm", "hatch", "poetry-existing-venv"],
)
def test_each_tools_setting_names_the_environment_it_uses(
    files: dict[str, str],
    kept: str,
    stray: str,
    tools: list[str],
    chome: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    for name, text in files.items():
        (proj / name).write_text(text.replace("{proj}", str(proj)))
    make_venv(proj / kept)
    make_venv(proj / stray)
    found = by_path(cleanup_json(capsys, "--root", str(tmp_path)))
    assert list(found) == [str(proj / stray)]
    assert found[str(proj / stray)]["status"] == "proposed"
    assert found[str(proj / stray)]["tools"] == tools
