"""lock_environment against real venvs, PyPI (cached by uv/pip) and a local index of real wheels."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.pylock import Pylock

from envfactory import make_venv, uv
from envkernels._toml import tomllib
from envkernels.discovery.probe import environment_from_prefix
from envkernels.lockfiles import read_lock
from envkernels.lockfiles.index_config import PYPI, resolve_index_config
from envkernels.lockfiles.writer import lock_environment
from envkernels.model import Environment
from simple_index_server import closed_port_url, lock_from_live_index, sha256


def _validated(text: str) -> Pylock:
    pylock = Pylock.from_dict(tomllib.loads(text))
    pylock.validate()
    return pylock


def test_lock_from_local_index_has_its_urls_and_the_files_real_sha256(
    small: Environment, local_index: str, wheel_dir: Path, tmp_path: Path, isolated_home: Path
) -> None:
    out = tmp_path / "pylock.toml"
    result = lock_environment(small, output=str(out), index_url=local_index)
    pylock = _validated(out.read_text())
    assert result.missing == [] and result.packages == 2
    by_name = {str(p.name): p for p in pylock.packages}
    assert {n: str(p.version) for n, p in by_name.items()} == {"idna": "3.7", "six": "1.16.0"}
    for pkg in by_name.values():
        assert pkg.wheels and pkg.index == local_index
        for wheel in pkg.wheels:
            assert wheel.url and wheel.url.startswith(local_index.rsplit("/", 1)[0] + "/files/")
            assert wheel.hashes["sha256"] == sha256(wheel_dir / str(wheel.filename))
    assert pylock.requires_python is not None and pylock.requires_python.contains(
        ".".join(map(str, sys.version_info[:3]))
    )


def test_html_only_index_is_read_through_the_fallback(
    small: Environment, html_index: str, wheel_dir: Path, tmp_path: Path, isolated_home: Path
) -> None:
    result = lock_environment(small, output=str(tmp_path / "pylock.toml"), index_url=html_index)
    assert result.missing == []
    lock = read_lock(tmp_path / "pylock.toml")
    six = lock.package("six")
    assert six is not None and six.artifacts[0].hashes == (
        ("sha256", sha256(wheel_dir / "six-1.16.0-py2.py3-none-any.whl")),
    )


@pytest.mark.network
def test_lock_from_pypi_validates_and_locks_the_exact_installed_versions(
    small: Environment, tmp_path: Path, isolated_home: Path, no_index_vars: None
) -> None:
    """The one lock test that must reach the real index (PyPI's URLs); the others use ``local_index``."""
    result = lock_from_live_index(small, tmp_path / "pylock.toml")
    assert result.index == PYPI and result.missing == []
    pylock = _validated(result.text)
    assert sorted((str(p.name), str(p.version)) for p in pylock.packages) == [
        ("idna", "3.7"),
        ("six", "1.16.0"),
    ]
    assert all(
        w.url and w.url.startswith("https://files.pythonhosted.org/")
        for p in pylock.packages
        for w in p.wheels or ()
    )
    assert "2 packages (2 with hashes)" in result.summary()


def test_unreachable_index_still_writes_versions_and_says_what_is_missing(
    small: Environment, tmp_path: Path, isolated_home: Path
) -> None:
    out = tmp_path / "pylock.toml"
    result = lock_environment(small, output=str(out), index_url=closed_port_url())
    _validated(out.read_text())
    assert sorted(m["name"] for m in result.missing) == ["idna", "six"]
    assert all("cannot be reached" in m["reason"] for m in result.missing)
    assert "2 without hashes" in result.summary()
    lock = read_lock(out)  # the versions are still there for a sync
    assert {(p.name, p.version) for p in lock.packages} == {("idna", "3.7"), ("six", "1.16.0")}


def test_no_hashes_skips_the_index_and_still_validates(small: Environment, tmp_path: Path) -> None:
    result = lock_environment(
        small, output=str(tmp_path / "pylock.toml"), hashes=False, index_url=closed_port_url()
    )
    _validated(result.text)
    assert [m["reason"] for m in result.missing] == ["--no-hashes: the index was not asked"] * 2


def test_every_earlier_lock_is_kept_timestamped_and_replaced_whole(
    small: Environment, tmp_path: Path, local_index: str, isolated_home: Path
) -> None:
    out = tmp_path / "pylock.toml"
    out.write_text("# my previous lock\n")
    result = lock_environment(small, output=str(out), index_url=local_index)
    assert result.backup and re.fullmatch(r"pylock\.toml\.\d{8}T\d{6}\.\d{6}Z\.bak", Path(result.backup).name)
    assert Path(result.backup).read_text() == "# my previous lock\n"
    first = out.read_text()
    _validated(first)
    again = lock_environment(small, output=str(out), index_url=local_index, hashes=False)
    assert again.backup != result.backup and Path(again.backup or "").read_text() == first
    assert Path(result.backup).read_text() == "# my previous lock\n"  # the oldest one is still there
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_missing_output_directory_is_bad_input(small: Environment, tmp_path: Path) -> None:
    from envkernels.errors import BadInputError

    with pytest.raises(BadInputError, match="does not exist"):
        lock_environment(small, output=str(tmp_path / "no" / "pylock.toml"), hashes=False)


def test_editable_and_vcs_installs_are_recorded_as_not_reproducible(
    tmp_path: Path, isolated_home: Path, local_index: str
) -> None:
    proj = tmp_path / "mypkg"
    (proj / "src" / "mypkg").mkdir(parents=True)
    (proj / "src" / "mypkg" / "__init__.py").write_text("")
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "mypkg"\nversion = "0.3.0"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    uv("pip", "install", "--python", str(prefix / "bin" / "python"), "-e", str(proj), "--quiet")
    result = lock_environment(
        environment_from_prefix(prefix), output=str(tmp_path / "pylock.toml"), index_url=local_index
    )
    pylock = _validated(result.text)
    mine = next(p for p in pylock.packages if p.name == "mypkg")
    assert mine.directory is not None and mine.directory.editable and mine.directory.path == "mypkg"
    assert [(m["name"], m["version"]) for m in result.not_reproducible] == [("mypkg", "0.3.0")]
    assert "editable" in result.not_reproducible[0]["reason"]


def test_index_configuration_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_index_vars: None
) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nindex-url = https://conf.example/simple\n"
        "extra-index-url = file:///opt/local/simple https://extra.example/simple\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    cfg = resolve_index_config()
    assert cfg.primary == "https://conf.example/simple"
    assert cfg.extras == ("https://extra.example/simple",) and cfg.skipped == ("file:///opt/local/simple",)
    monkeypatch.setenv("PIP_INDEX_URL", "https://pip-env.example/simple/")
    assert resolve_index_config().primary == "https://pip-env.example/simple"
    monkeypatch.setenv("UV_INDEX_URL", "https://uv-old.example/simple")
    assert resolve_index_config().primary == "https://uv-old.example/simple"
    monkeypatch.setenv("UV_DEFAULT_INDEX", "https://uv.example/simple")
    assert resolve_index_config().primary == "https://uv.example/simple"
    assert resolve_index_config("https://flag.example/simple").primary == "https://flag.example/simple"


def test_uv_project_lock_agreement_is_reported(tmp_path: Path, isolated_home: Path, local_index: str) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.1.0"\n'
        'requires-python = ">=3.10"\ndependencies = ["six==1.16.0"]\n'
    )
    uv("sync", "--quiet", "--python", sys.executable, cwd=proj)
    env = environment_from_prefix(proj / ".venv")
    agreed = lock_environment(env, output=str(tmp_path / "a.toml"), index_url=local_index)
    assert agreed.project_lock == str(proj / "uv.lock") and agreed.project_lock_agrees is True
    uv("pip", "install", "--python", str(proj / ".venv" / "bin" / "python"), "six==1.15.0", "--quiet")
    drifted = lock_environment(env, output=str(tmp_path / "b.toml"), hashes=False)
    assert drifted.project_lock_agrees is False
    assert drifted.project_lock_differences == ["six is locked at 1.16.0, installed 1.15.0"]
    assert "does NOT agree" in drifted.summary()
