"""The check's caches: warm answers from memory or disk, recomputed when the environment changes."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import env_of
from envfactory import make_venv, uv, venv_python
from envkernels.inspect import cache
from envkernels.inspect import check as check_module
from envkernels.inspect import inventory as inventory_module
from envkernels.inspect.check import check_environment


def test_warm_check_is_memoized_and_cached_on_disk(tmp_path: Path, isolated_home: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    env = env_of(prefix)
    first = check_environment(env)
    assert check_environment(env) is first  # in-process memo
    files = os.listdir(cache.cache_dir())
    assert any(f.startswith("report-") for f in files) and any(f.startswith("inventory-") for f in files)
    assert cache.cache_dir().startswith(str(isolated_home))  # ENVKERNELS_CACHE_DIR is honoured
    check_module.forget()
    inventory_module.forget()
    again = check_environment(env)  # from disk
    assert again is not first and again.to_dict() == first.to_dict()


def test_installing_a_package_invalidates_the_cache(tmp_path: Path, isolated_home: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    env = env_of(prefix)
    assert not check_environment(env).findings
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "--no-deps", "requests==2.32.3")
    after = check_environment(env)
    assert {f.package for f in after.findings if f.code == "broken-requirement"} == {"requests"}


def test_editing_the_project_invalidates_the_cache(tmp_path: Path, isolated_home: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["six"]\n')
    make_venv(root / ".venv", ["six==1.16.0"])
    env = env_of(root / ".venv")
    assert not check_environment(env).findings
    (root / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["six<1.16"]\n')
    assert [f.code for f in check_environment(env).findings] == ["declared-version-mismatch"]


def test_corrupt_cache_entry_is_a_miss(tmp_path: Path, isolated_home: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    env = env_of(prefix)
    expected = check_environment(env).to_dict()
    for name in os.listdir(cache.cache_dir()):
        Path(cache.cache_dir(), name).write_text("{ not json")
    check_module.forget()
    inventory_module.forget()
    assert check_environment(env).to_dict() == expected


def test_after_an_install_only_the_new_distribution_is_read(tmp_path: Path, isolated_home: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    before = inventory_module.inventory(str(prefix))
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "idna==3.7")
    after = inventory_module.inventory(str(prefix))
    assert after is not before
    by_name = {d.normalized: d for d in after.distributions}
    assert by_name["six"] is before.distributions[0]  # unchanged folder: reused, not read again
    assert by_name["idna"].version == "3.7"
    # The same holds when the previous inventory comes from disk (a new process).
    inventory_module.forget()
    uv("pip", "uninstall", "--python", str(venv_python(prefix)), "--quiet", "idna")
    again = inventory_module.inventory(str(prefix))
    assert [d.normalized for d in again.distributions] == ["six"]
