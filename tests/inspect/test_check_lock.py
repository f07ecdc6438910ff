"""Lock drift against lockfiles written by real uv runs and against real lockfiles from the corpus."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from conftest import env_of
from envfactory import make_venv, uv, venv_python
from envkernels.inspect.check import check_environment


def _lock_findings(report):  # type: ignore[no-untyped-def]
    return {
        (f.code, f.package): f
        for f in report.findings
        if f.code.startswith("lock-") or f.code == "python-mismatch"
    }


@pytest.mark.slow
def test_uv_lock_and_sync_then_drift(tmp_path: Path, isolated_home: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["six==1.16.0", "idna>=3"]\n'
    )
    uv("lock", "--quiet", cwd=project)
    uv("sync", "--quiet", "--python", str(Path(__import__("sys").executable)), cwd=project)
    venv = project / ".venv"
    env = env_of(venv)
    assert env.lockfiles and env.lockfiles[0].endswith("uv.lock")
    clean = check_environment(env)
    assert not _lock_findings(clean), clean.findings  # just synced: no drift

    py = str(venv_python(venv))
    uv("pip", "install", "--python", py, "--quiet", "--no-deps", "six==1.15.0", "certifi==2024.8.30")
    uv("pip", "uninstall", "--python", py, "--quiet", "idna")
    drift = _lock_findings(check_environment(env))
    assert drift[("lock-version-mismatch", "six")].severity == "error"
    assert "1.15.0" in drift[("lock-version-mismatch", "six")].message
    assert drift[("lock-missing", "idna")].severity == "error"
    assert drift[("lock-extra", "certifi")].severity == "warning"
    assert "envkernels sync" in (drift[("lock-missing", "idna")].hint or "")
    assert set(drift) == {
        ("lock-version-mismatch", "six"),
        ("lock-missing", "idna"),
        ("lock-extra", "certifi"),
    }


def test_uv_pip_compile_universal_pins_select_by_marker(
    tmp_path: Path, small_env: Path, isolated_home: Path
) -> None:
    (tmp_path / "requirements.in").write_text("pytest==8.3.4\n")
    lock = tmp_path / "requirements.lock.txt"
    uv(
        "pip",
        "compile",
        "--quiet",
        "--universal",
        "--python-version",
        "3.10",
        str(tmp_path / "requirements.in"),
        "-o",
        str(lock),
    )
    text = lock.read_text()
    assert (
        "sys_platform == 'win32'" in text and "python_full_version < '3.11'" in text
    )  # markers to select on
    pins = [ln.split(" ")[0] for ln in text.splitlines() if "==" in ln and not ln.startswith("#")]
    not_here = ("colorama",) if sys.version_info < (3, 11) else ("colorama", "exceptiongroup", "tomli")
    pins = [p for p in pins if not p.startswith(not_here)]
    prefix = make_venv(tmp_path / "env", pins, no_deps=True)
    report = check_environment(env_of(prefix), lock=str(lock))
    assert not _lock_findings(report), report.findings  # the win32/py<3.11 pins do not apply here
    other = _lock_findings(check_environment(env_of(small_env), lock=str(lock)))
    assert ("lock-missing", "pytest") in other and ("lock-extra", "six") in other
    assert ("lock-missing", "colorama") not in other
    assert (("lock-missing", "tomli") in other) == (sys.version_info < (3, 11))  # pinned for py<3.11


def test_real_uv_lock_from_corpus(corpus: Path, tmp_path: Path, isolated_home: Path) -> None:
    """The corpus uv.lock of aekespong/the_card: django (+ tzdata on win32), requires-python >=3.12."""
    lock = tmp_path / "uv.lock"
    shutil.copy(corpus / "uv" / "aekespong__the_card" / "uv.lock", lock)
    prefix = make_venv(tmp_path / "env", ["asgiref==3.8.0", "sqlparse==0.5.3", "six==1.16.0"], no_deps=True)
    found = _lock_findings(check_environment(env_of(prefix), lock=str(lock)))
    assert found[("lock-version-mismatch", "asgiref")].severity == "error"
    assert found[("lock-missing", "django")].severity == "error"
    assert ("lock-missing", "tzdata") not in found  # `sys_platform == 'win32'` only
    assert ("lock-missing", "the-card") not in found  # the virtual project root is never installed
    assert ("lock-missing", "sqlparse") not in found and ("lock-version-mismatch", "sqlparse") not in found
    assert found[("lock-extra", "six")].severity == "warning"
    assert found[("python-mismatch", None)].severity == "error"  # locked for >=3.12, env is 3.11


def test_invalid_and_unknown_version_locks_are_input_errors(
    small_env: Path, tmp_path: Path, isolated_home: Path
) -> None:
    broken = tmp_path / "bad" / "uv.lock"
    broken.parent.mkdir()
    broken.write_text('version = 1\n\n[[package]]\nname = "six"\nversion = \n')
    report = check_environment(env_of(small_env), lock=str(broken))
    errors = report.to_dict()["input_errors"]
    assert len(errors) == 1 and str(broken) in errors[0]["message"] and ":5" in errors[0]["message"]
    assert errors[0]["hint"]
    assert not [f for f in report.findings if f.code.startswith("lock-")]

    future = tmp_path / "future" / "uv.lock"
    future.parent.mkdir()
    future.write_text('version = 99\nrequires-python = ">=3.8"\n')
    report = check_environment(env_of(small_env), lock=str(future))
    errors = report.to_dict()["input_errors"]
    assert len(errors) == 1 and "99" in errors[0]["message"] and errors[0]["hint"]


def test_real_pipfile_lock_develop_entries_are_compared_only_when_installed(
    corpus: Path, tmp_path: Path, isolated_home: Path
) -> None:
    """pipfile/0-jam__soundtest/Pipfile.lock: pyaudio in `default`, flake8 & co. in `develop`, Python 3.8."""
    lock = tmp_path / "Pipfile.lock"
    shutil.copy(corpus / "pipfile" / "0-jam__soundtest" / "Pipfile.lock", lock)
    prefix = make_venv(tmp_path / "env", ["toml==0.10.2", "mccabe==0.6.1"], no_deps=True)
    found = _lock_findings(check_environment(env_of(prefix), lock=str(lock)))
    assert found[("lock-missing", "pyaudio")].severity == "error"  # `pipenv install` puts it in
    assert ("lock-missing", "flake8") not in found  # `develop`: only with `pipenv install --dev`
    assert found[("lock-version-mismatch", "toml")].severity == "error"  # but installed: compared
    assert ("lock-version-mismatch", "mccabe") not in found and ("lock-extra", "mccabe") not in found
    assert "3.8" in found[("python-mismatch", None)].message


def test_real_pdm_pylock_default_groups_decide_what_is_required(
    corpus: Path, tmp_path: Path, isolated_home: Path
) -> None:
    """pylock/Fuyukai__sailor-moon-fansite/pylock.toml (created by pdm): markers on `dependency_groups`,
    `default-groups = ["default"]`; jinja2/markupsafe in `default`, ruff/pyright/... in `dev`."""
    lock = tmp_path / "pylock.toml"
    shutil.copy(corpus / "pylock" / "Fuyukai__sailor-moon-fansite" / "pylock.toml", lock)
    prefix = make_venv(tmp_path / "env", ["jinja2==3.1.5", "typing-extensions==4.12.2"], no_deps=True)
    found = _lock_findings(check_environment(env_of(prefix), lock=str(lock)))
    assert found[("lock-version-mismatch", "jinja2")].severity == "error"
    assert found[("lock-missing", "markupsafe")].severity == "error"
    assert ("lock-missing", "ruff") not in found and ("lock-missing", "pyright") not in found
    assert found[("lock-version-mismatch", "typing-extensions")].severity == "error"  # dev, but installed
    assert ("python-mismatch", None) in found  # locked for >=3.14
