"""`broken-requirement` agrees exactly with a real `pip check` on environments broken on purpose."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import env_of, parse_pip_check, replace_file, run_pip_check
from envfactory import make_venv, venv_python
from envkernels.core.distributions import installed_distributions
from envkernels.inspect.broken import interpreter_tags, pip_check
from envkernels.inspect.check import check_environment
from envkernels.inspect.markers import marker_environment


def _ours(prefix: Path) -> set[tuple[str, ...]]:
    env = env_of(prefix)
    result = pip_check(
        installed_distributions(prefix),
        marker_environment(env),
        lambda: interpreter_tags(env.python_version, env.implementation, env.free_threaded),
    )
    out: set[tuple[str, ...]] = set()
    for b in result.broken:
        if b.kind == "missing":
            out.add(("missing", b.package, b.version, b.dependency or ""))
        elif b.kind == "conflicting":
            out.add(("conflicting", b.package, b.version, b.dependency or "", b.installed or ""))
        else:
            out.add(("unsupported", b.package, b.version))
    return out


def test_broken_requirements_equal_pip_check_lines(broken_env: Path, tmp_path: Path) -> None:
    rc, lines = run_pip_check(broken_env, tmp_path)
    theirs = parse_pip_check(lines)
    assert rc == 1
    # The breakage is really there (so the comparison below compares something).
    assert ("conflicting", "requests", "2.32.3", "idna", "2.0") in theirs
    assert ("missing", "requests", "2.32.3", "certifi") in theirs
    assert ("unsupported", "markupsafe", "3.0.2") in theirs
    assert _ours(broken_env) == theirs


def test_markers_extras_and_prereleases_count_as_pip_counts_them(broken_env: Path, tmp_path: Path) -> None:
    ours = _ours(broken_env)
    deps_of_pytest = {t[3] for t in ours if t[1] == "pytest"}
    # pytest's `colorama; sys_platform == "win32"` does not apply here, `tomli; python_version < "3.11"`
    # only on Python 3.10.
    assert "colorama" not in deps_of_pytest
    assert ("tomli" in deps_of_pytest) == (sys.version_info < (3, 11))
    assert {"iniconfig", "pluggy"} <= deps_of_pytest
    # requests' `PySocks; extra == "socks"` is an extra's requirement: not checked.
    assert not any(t[3] == "pysocks" for t in ours if len(t) > 3)
    # urllib3 2.0.0a1 satisfies requests' `urllib3<3,>=1.21.1` because pip allows pre-releases here.
    assert not any(t[1] == "requests" and t[3] == "urllib3" for t in ours if len(t) > 3)


def test_check_report_carries_one_finding_per_pip_line(
    broken_env: Path, tmp_path: Path, isolated_home: Path
) -> None:
    _rc, lines = run_pip_check(broken_env, tmp_path)
    report = check_environment(env_of(broken_env))
    broken = [f for f in report.findings if f.code == "broken-requirement"]
    assert len(broken) == len(lines)
    assert all(f.severity == "error" and f.hint and "uv pip install --python" in f.hint for f in broken)
    assert report.findings[0].severity == "error"


def test_healthy_env_agrees_with_pip_check(shared_envs: Path, tmp_path: Path, isolated_home: Path) -> None:
    prefix = make_venv(shared_envs / "healthy-seeded", ["requests==2.32.3"], seed=True)
    rc, lines = run_pip_check(prefix, tmp_path)
    assert rc == 0 and lines == []
    assert _ours(prefix) == set()
    report = check_environment(env_of(prefix))
    assert not [f for f in report.findings if f.severity == "error"]


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="before Python 3.11 pip reads metadata through pkg_resources, which stops at corrupt METADATA "
    "(exit 2) instead of leaving it out: the reference is pip on 3.11+",
)
def test_unreadable_metadata_is_left_out_as_pip_leaves_it_out(tmp_path: Path, isolated_home: Path) -> None:
    """Corrupt METADATA the way a disk or a bad tool does; pip and the check must still agree."""
    prefix = make_venv(tmp_path / "env", ["requests==2.32.3", "click==8.1.7"], seed=True)
    sp = next(venv_python(prefix).parent.parent.glob("lib/python3*/site-packages"))
    idna_meta = next(sp.glob("idna-*.dist-info")) / "METADATA"
    replace_file(idna_meta, idna_meta.read_bytes().replace(b"Summary:", b"Summary: caf\xe9 "))  # not UTF-8
    urllib3_meta = next(sp.glob("urllib3-*.dist-info")) / "METADATA"
    replace_file(
        urllib3_meta, "Metadata-Version: 2.1\nName: urllib3\nVersion: 2.2.2\nRequires-Dist: brotli (>=1.0.9"
    )
    click_meta = next(sp.glob("click-*.dist-info")) / "METADATA"
    replace_file(click_meta, "")  # empty: pip reads no requirements, which is not an error for it
    (next(sp.glob("certifi-*.dist-info")) / "RECORD").unlink()

    rc, lines = run_pip_check(prefix, tmp_path)
    theirs = parse_pip_check(lines)
    assert rc == 1
    assert ("missing", "requests", "2.32.3", "idna") in theirs
    assert _ours(prefix) == theirs

    report = check_environment(env_of(prefix))
    by_pkg = {(f.code, f.package): f for f in report.findings}
    assert by_pkg[("invalid-metadata", "idna")].severity == "error"  # pip fails on it too
    assert "not UTF-8" in by_pkg[("invalid-metadata", "idna")].message
    assert by_pkg[("invalid-metadata", "urllib3")].severity == "error"
    assert by_pkg[("invalid-metadata", "click")].severity == "warning"  # empty: named, pip does not fail
    assert "RECORD" in by_pkg[("invalid-metadata", "certifi")].message
    assert "--reinstall" in (by_pkg[("invalid-metadata", "idna")].hint or "")
