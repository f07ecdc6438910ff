"""The inventory: distributions read from a real environment's files, as its interpreter would find them."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import env_of, parse_pip_check, run_pip_check
from envfactory import make_venv, uv, venv_python
from envkernels.core.distributions import _egg_info_requires, installed_distributions, search_path
from envkernels.inspect.check import check_environment
from envkernels.inspect.inventory import inventory


def _site_packages(prefix: Path) -> Path:
    return next(prefix.glob("lib/python3*/site-packages"))


def test_reads_names_versions_modules_and_installer(small_env: Path) -> None:
    dists = {d.normalized: d for d in installed_distributions(small_env)}
    assert dists["six"].version == "1.16.0" and dists["idna"].version == "3.7"
    assert dists["six"].installer == "uv"
    assert dists["six"].top_level == ("six",)  # from top_level.txt
    assert dists["idna"].top_level == ("idna",)  # flit writes no top_level.txt: inferred from RECORD
    assert dists["idna"].requires_python == ">=3.5"
    assert all(d.problem is None and d.has_record and d.readable for d in dists.values())


def test_module_map_matches_importlib_packages_distributions(small_env: Path) -> None:
    inv = inventory(str(small_env), use_cache=False)
    code = "import json, importlib.metadata as m; print(json.dumps(m.packages_distributions()))"
    out = subprocess.run(
        [str(venv_python(small_env)), "-c", code], capture_output=True, text=True, check=True
    )
    theirs = {
        k: sorted(v.lower() for v in vs) for k, vs in json.loads(out.stdout).items() if not k.startswith("_")
    }
    ours = {k: sorted(v) for k, v in inv.module_map().items() if not k.startswith("_")}
    if sys.version_info >= (3, 11):
        assert ours == theirs
    else:
        # Python 3.10's packages_distributions reads top_level.txt only (the RECORD inference came in
        # 3.11), so it misses flit's idna; what it does name must still agree with ours.
        assert theirs.items() <= ours.items() and ours["idna"] == ["idna"]


def test_editable_project_maps_its_modules_and_its_build_leftover_is_no_duplicate(
    tmp_path: Path, isolated_home: Path
) -> None:
    project = tmp_path / "proj"
    (project / "src" / "mylocalpkg").mkdir(parents=True)
    (project / "src" / "mylocalpkg" / "__init__.py").write_text("VALUE = 1\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "mylocalpkg"\nversion = "0.3.0"\n'
        'dependencies = ["six", "idna>=3; sys_platform != \'win32\'"]\n'
        '[project.optional-dependencies]\nplot = ["Pillow>=10; python_version >= \'3.9\'", "tomli"]\n'
        '\n[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "-e", str(project))
    dist = next(d for d in installed_distributions(prefix) if d.normalized == "mylocalpkg")
    assert dist.editable and dist.editable_location == str(project)
    assert "mylocalpkg" in dist.top_level
    # setuptools left `src/mylocalpkg.egg-info` on the path (through the editable .pth): it is read too,
    # and its requires.txt, converted as pip converts it, says what its PKG-INFO says.
    leftover = next(d for d in installed_distributions(prefix) if d.kind == "egg-info")
    assert leftover.normalized == "mylocalpkg" and leftover.site_packages == str(project / "src")
    requires_txt = (project / "src" / "mylocalpkg.egg-info" / "requires.txt").read_text()
    assert {str(Requirement(r)) for r in _egg_info_requires(requires_txt)} == {
        str(Requirement(r)) for r in leftover.requires
    }
    inv = inventory(str(prefix), use_cache=False)
    assert inv.module_map()["mylocalpkg"] == ["mylocalpkg"]
    codes = {f.code for f in check_environment(env_of(prefix), use_cache=False).findings}
    assert "duplicate-distribution" not in codes and "broken-requirement" not in codes


def test_pth_added_directory_is_searched_and_its_copy_reported_as_shadowed(
    tmp_path: Path, isolated_home: Path
) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"], seed=True)
    extra = tmp_path / "extra-libs"
    uv("pip", "install", "--quiet", "--target", str(extra), "six==1.15.0", "idna==3.7")
    (_site_packages(prefix) / "zz_extra.pth").write_text(f"# added by a tool\n{extra}\nimport os\n")
    assert extra in search_path(prefix)
    dists = installed_distributions(prefix)
    sixes = [d for d in dists if d.normalized == "six"]
    assert [d.version for d in sixes] == ["1.16.0", "1.15.0"]  # path order: site-packages first
    assert any(d.normalized == "idna" for d in dists)  # found only through the .pth line
    report = check_environment(env_of(prefix), use_cache=False)
    dup = [f for f in report.findings if f.code == "duplicate-distribution"]
    assert len(dup) == 1 and dup[0].package == "six" and "1.15.0" in dup[0].message
    assert dup[0].severity == "warning"
    # pip, too, sees only the first six and finds nothing broken.
    rc, _lines = run_pip_check(prefix, tmp_path)
    assert rc == 0 and not [f for f in report.findings if f.code == "broken-requirement"]


@pytest.mark.slow
def test_system_site_packages_are_searched_after_the_venv(tmp_path: Path, isolated_home: Path) -> None:
    """A venv made with --system-site-packages on the interpreter running the tests (real packages).

    The tests may themselves run in a venv (as the README's commands do): the "system" site-packages
    of a venv made from it are then its base interpreter's, not the test venv's.
    """
    prefix = tmp_path / "env"
    uv("venv", "--quiet", "--seed", "--system-site-packages", str(prefix), "--python", sys.executable)
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "six==1.15.0")
    base = {"base": sys.base_prefix, "platbase": sys.base_prefix}
    base_sp = Path(sysconfig.get_paths(vars=base)["purelib"])
    path = search_path(prefix)
    assert path.index(base_sp) > path.index(_site_packages(prefix))
    report = check_environment(env_of(prefix), use_cache=False)
    six = [f for f in report.findings if f.code == "duplicate-distribution" and f.package == "six"]
    if (base_sp / "six.py").exists():  # the base has its own six: the venv's overrides it
        assert six and six[0].severity == "info"
    rc, lines = run_pip_check(prefix, tmp_path)
    theirs = parse_pip_check(lines)
    ours = {f.message for f in report.findings if f.code == "broken-requirement"}
    assert len(ours) == len(theirs)
    assert (rc == 0) == (
        not ours
        and not [f for f in report.findings if f.code == "invalid-metadata" and f.severity == "error"]
    )


def test_legacy_setup_py_develop_egg_link(tmp_path: Path, isolated_home: Path) -> None:
    """`setup.py develop` with a setuptools that still has it: `.egg-link` + `easy-install.pth`."""
    project = tmp_path / "proj"
    (project / "legacypkg").mkdir(parents=True)
    (project / "legacypkg" / "__init__.py").write_text("X = 1\n")
    (project / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='legacypkg', version='0.2', packages=['legacypkg'],\n"
        "      install_requires=['six>=1.10', 'idna>=99; python_version < \"3\"'],\n"
        "      extras_require={'x': ['idna>=99']})\n"
    )
    prefix = make_venv(tmp_path / "env", ["setuptools<70", "six==1.16.0"], seed=True)
    subprocess.run(
        [str(venv_python(prefix)), "setup.py", "-q", "develop"], cwd=project, check=True, capture_output=True
    )
    assert (_site_packages(prefix) / "legacypkg.egg-link").is_file()
    legacy = [d for d in installed_distributions(prefix) if d.normalized == "legacypkg"]
    assert len(legacy) == 1  # reached through the egg-link and through easy-install.pth: one distribution
    dist = legacy[0]
    assert dist.kind == "egg-info" and dist.editable and dist.editable_location == str(project)
    assert "six>=1.10" in dist.requires and any('extra == "x"' in r for r in dist.requires)
    assert dist.top_level == ("legacypkg",)
    report = check_environment(env_of(prefix), use_cache=False)
    assert not [f for f in report.findings if f.code in ("broken-requirement", "duplicate-distribution")]
    rc, _lines = run_pip_check(prefix, tmp_path)
    assert rc == 0


def test_user_site_comes_first_for_a_plain_interpreter_and_never_for_a_venv(
    small_env: Path, isolated_home: Path
) -> None:
    user_site = (
        isolated_home
        / ".local"
        / "lib"
        / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        / "site-packages"
    )
    uv("pip", "install", "--quiet", "--target", str(user_site), "six==1.15.0")
    base = Path(sys.base_prefix)
    assert search_path(base)[0] == user_site  # what `site` does for the interpreter itself
    assert user_site not in search_path(small_env)  # a venv does not see the user site
