"""The declared side: pyproject (PEP 621, PEP 735, Poetry), requirements files, Pipfile, .python-version."""

from __future__ import annotations

import shutil
from pathlib import Path

from envkernels.inspect.declared import read_declarations
from envkernels.inspect.poetry_constraints import to_pep440


def _by_name(decl):  # type: ignore[no-untyped-def]
    return {r.name: r for r in decl.requirements}


def test_pep621_optional_and_dependency_groups_with_include_group(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nrequires-python = ">=3.10"\n'
        'dependencies = ["Requests[socks]>=2.31; python_version >= \'3.8\'", "six"]\n'
        '[project.optional-dependencies]\nplot = ["matplotlib>=3.8"]\n'
        '[dependency-groups]\ntest = ["pytest>=8"]\n'
        'dev = [{include-group = "test"}, "ruff"]\n'
        'docs = ["sphinx"]\n'
    )
    decl = read_declarations(str(tmp_path))
    reqs = _by_name(decl)
    assert reqs["requests"].level == "required" and reqs["requests"].extras == ("socks",)
    assert reqs["requests"].specifiers == (">=2.31",) and reqs["requests"].marker == 'python_version >= "3.8"'
    assert reqs["matplotlib"].level == "optional" and reqs["matplotlib"].group == "extra:plot"
    assert reqs["sphinx"].level == "optional"  # a non-default group
    dev = {r.name for r in decl.requirements if r.group == "group:dev"}
    assert dev == {"pytest", "ruff"}  # include-group expanded
    assert all(r.level == "default" for r in decl.requirements if r.group == "group:dev")
    assert decl.requires_python == (">=3.10", str(tmp_path / "pyproject.toml"))
    assert decl.project_name == "demo" and not decl.problems


def test_include_group_cycle_and_bad_requirement_are_problems_with_lines(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = [\n  "six",\n  "numpy >= >= 1",\n]\n'
        '[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n'
    )
    decl = read_declarations(str(tmp_path))
    assert [r.name for r in decl.requirements] == ["six"]  # the rest is still read
    bad = [p for p in decl.problems if "numpy" in p.message]
    assert bad and bad[0].line == 5 and "pyproject.toml:5" in bad[0].message and bad[0].hint
    assert any("cycle" in p.message for p in decl.problems)


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["six"\n[tool.x]\n')
    (tmp_path / "requirements.txt").write_text("idna==3.7\n")
    decl = read_declarations(str(tmp_path))
    assert len(decl.problems) == 1
    prob = decl.problems[0]
    assert (
        prob.line == 4
        and f"{tmp_path / 'pyproject.toml'}:4" in prob.message
        and "not valid TOML" in prob.message
    )
    assert [r.name for r in decl.requirements] == ["idna"]  # requirements.txt still read


def test_poetry_caret_and_tilde_become_pep440() -> None:
    assert to_pep440("^1.2.3") == (">=1.2.3,<2",)
    assert to_pep440("^0.2.3") == (">=0.2.3,<0.3",)
    assert to_pep440("^0.0.3") == (">=0.0.3,<0.0.4",)
    assert to_pep440("~1.2.3") == (">=1.2.3,<1.3",)
    assert to_pep440("~1") == (">=1,<2",)
    assert to_pep440("1.2.*") == ("==1.2.*",)
    assert to_pep440("*") == ("",)
    assert to_pep440(">= 1.2, < 2") == (">=1.2,<2",)
    assert to_pep440("^2.0 || ^3.0") == (">=2.0,<3", ">=3.0,<4")


def test_real_poetry_project_groups_and_python(corpus: Path, tmp_path: Path) -> None:
    shutil.copy(corpus / "poetry" / "0442__tui" / "pyproject.toml", tmp_path / "pyproject.toml")
    decl = read_declarations(str(tmp_path))
    reqs = _by_name(decl)
    assert reqs["blessed"].level == "required" and reqs["blessed"].specifiers == (">=1.20.0,<2",)
    assert reqs["pylint"].level == "default" and reqs["pylint"].group == "poetry:dev"
    assert reqs["py-spy"].specifiers == (">=0.3.14,<0.4",)
    assert decl.requires_python is not None and decl.requires_python[0] == ">=3.11,<4"
    assert decl.manager == "poetry"


def test_real_legacy_poetry_dev_dependencies(corpus: Path, tmp_path: Path) -> None:
    shutil.copy(corpus / "poetry" / "000hcl__tictactoe" / "pyproject.toml", tmp_path / "pyproject.toml")
    decl = read_declarations(str(tmp_path))
    assert not decl.problems
    assert any(r.group == "poetry:dev" and r.level == "default" for r in decl.requirements)


def test_real_pep621_project_with_unnormalized_names(corpus: Path, tmp_path: Path) -> None:
    shutil.copy(corpus / "pylock" / "AMDatIMDEA__dry-material-monitoring" / "pyproject.toml", tmp_path)
    reqs = _by_name(read_declarations(str(tmp_path)))
    assert reqs["pillow"].text == "Pillow>=10.0,<13" and reqs["pyyaml"].level == "required"
    assert "!=4.13.0.90" in reqs["opencv-python"].specifiers[0]
    assert reqs["pytest"].level == "optional"


def test_real_crlf_pyproject_with_legacy_uv_dev_dependencies(corpus: Path, tmp_path: Path) -> None:
    shutil.copy(corpus / "uv" / "aekasitt__flpc" / "pyproject.toml", tmp_path)
    decl = read_declarations(str(tmp_path))
    assert not decl.problems
    assert decl.manager == "uv"
    assert any(r.group == "group:dev" for r in decl.requirements)


def test_real_pdm_legacy_dev_dependencies(corpus: Path, tmp_path: Path) -> None:
    shutil.copy(corpus / "pdm" / "540__gilded-rose-python" / "pyproject.toml", tmp_path)
    decl = read_declarations(str(tmp_path))
    assert not decl.problems and decl.manager == "pdm"
    assert decl.requirements and all(r.level == "default" for r in decl.requirements)


def test_requirements_files_with_includes_constraints_and_options(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six>=1.15  # comment\nidna==3.7 \\\n    --hash=sha256:abc\n")
    (tmp_path / "constraints.txt").write_text("urllib3<2\n")
    (tmp_path / "requirements.txt").write_text(
        "--index-url https://pypi.org/simple\n-r base.txt\n-c constraints.txt\n"
        "-e git+https://example.org/repo.git#egg=mytool\n./local/path\n"
        "requests[socks] ; python_version >= '3.8'\n"
        "-r missing.txt\n"
    )
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    decl = read_declarations(str(tmp_path))
    reqs = _by_name(decl)
    assert reqs["six"].level == "required" and reqs["six"].line == 1
    assert reqs["idna"].specifiers == ("==3.7",)
    assert reqs["urllib3"].level == "constraint"
    assert reqs["mytool"].direct
    assert reqs["requests"].extras == ("socks",)
    assert reqs["pytest"].level == "default"
    missing = [p for p in decl.problems if "missing.txt" in p.message]
    assert missing and missing[0].line == 7


def test_pipfile_and_python_version_file(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(
        '[packages]\nrequests = "*"\nflask = {version = ">=3", extras = ["async"]}\n'
        '[dev-packages]\npytest = "==8.3.4"\n[requires]\npython_version = "3.12"\n'
    )
    (tmp_path / ".python-version").write_text("# pinned\n3.12\n")
    decl = read_declarations(str(tmp_path))
    reqs = _by_name(decl)
    assert reqs["requests"].level == "required" and reqs["flask"].extras == ("async",)
    assert reqs["pytest"].level == "default" and reqs["pytest"].specifiers == ("==8.3.4",)
    assert decl.requires_python and decl.requires_python[0] == "==3.12.*"
    assert decl.python_pin == ("3.12", str(tmp_path / ".python-version"))
    assert decl.manager == "pipenv"
