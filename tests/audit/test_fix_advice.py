"""Fixes that fix: the check and the audit advise one resolution (uv), never a release the audit knows
to be vulnerable, and say when what depends on a package must move too.

Real environments made with uv from PyPI, the real PyPA advisories copied into tests/data/osv (see its
README for attribution), and a plain reading of those records (``osv_plain``) as the judge.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from osv_plain import load_records, plain_audit
from packaging.version import Version

from envfactory import make_venv, uv, venv_python
from envkernels.audit.run import audit_environment
from envkernels.discovery.probe import environment_from_prefix
from envkernels.inspect import advice
from envkernels.inspect.check import check_environment
from simple_index_server import closed_port_url, serve

_PIN = re.compile(r"([A-Za-z0-9._-]+)==([^\s`']+)")


def _command(hint: str) -> str:
    """The copyable command of a hint (between the first pair of backticks)."""
    return hint.split("`")[1]


def _pins(hint: str) -> dict[str, str]:
    return dict(_PIN.findall(_command(hint)))


def _known_vulnerable(osv_db: Path, name: str, version: str) -> bool:
    return bool(plain_audit(load_records(osv_db, name), name, version))


@pytest.fixture(autouse=True)
def _fresh_answers() -> None:
    advice.forget()  # each test asks uv itself (its on-disk answers live in the test's cache dir)


def test_requests_2_19_with_urllib3_1_24_1_gets_one_fix_from_check_and_audit_and_it_fixes(
    tmp_path: Path, osv_db: Path, isolated_home: Path
) -> None:
    prefix = make_venv(tmp_path / "env", ["requests==2.19.0", "urllib3==1.24.1"], no_deps=True)
    env = environment_from_prefix(prefix)
    check = check_environment(env)
    conflict = next(
        f
        for f in check.findings
        if f.code == "broken-requirement" and "urllib3 1.24.1 is installed" in f.message
    )
    audit = audit_environment(env, db=str(osv_db))
    fixes = audit.fixes()
    # One resolution: the check's fix for the conflict is the audit's fix for urllib3.
    assert conflict.hint == fixes["urllib3"]
    pins = _pins(fixes["urllib3"])
    # requests 2.19.0 allows only urllib3<1.24, where every release is vulnerable: requests must move.
    assert set(pins) == {"urllib3", "requests"}
    assert "requests 2.19.0 requires `urllib3<1.24,>=1.21.1`, so requests must move too" in fixes["urllib3"]
    assert all(not _known_vulnerable(osv_db, n, v) for n, v in pins.items()), pins
    assert Version(pins["urllib3"]) > Version("1.24.1") and Version(pins["requests"]) > Version("2.19.0")
    # The requests fix agrees with it; every vulnerability finding of a package carries that package's fix.
    assert _pins(fixes["requests"]) == {"requests": pins["requests"]}
    assert {f.hint for f in audit.findings if f.package == "urllib3"} == {fixes["urllib3"]}
    # Carry the advice out for real: nothing broken, nothing vulnerable afterwards.
    argv = shlex.split(_command(fixes["urllib3"]))
    assert argv[:5] == ["uv", "pip", "install", "--python", env.python]
    uv(*argv[1:])
    uv("pip", "check", "--python", str(venv_python(prefix)))
    after = environment_from_prefix(prefix)
    assert not [f for f in check_environment(after).findings if f.code == "broken-requirement"]
    assert not [f for f in audit_environment(after, db=str(osv_db)).findings if f.code == "vulnerability"]


def test_a_vulnerable_package_whose_dependents_allow_a_fix_moves_alone(
    tmp_path: Path, osv_db: Path, isolated_home: Path
) -> None:
    prefix = make_venv(tmp_path / "env", ["requests==2.32.3", "urllib3==1.24.1"], no_deps=True)
    env = environment_from_prefix(prefix)
    fix = audit_environment(env, db=str(osv_db)).fixes()["urllib3"]
    pins = _pins(fix)
    assert set(pins) == {"urllib3"} and "must move" not in fix
    assert not _known_vulnerable(osv_db, "urllib3", pins["urllib3"])
    assert Version(pins["urllib3"]) < Version("3")  # requests 2.32.3 requires urllib3<3


def test_without_the_index_the_advice_names_no_versions_rather_than_a_wrong_one(
    tmp_path: Path, osv_db: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = make_venv(tmp_path / "env", ["requests==2.19.0", "urllib3==1.24.1"], no_deps=True)
    env = environment_from_prefix(prefix)
    # An index where nothing listens, and a uv cache that holds nothing for it.
    monkeypatch.setenv("UV_INDEX_URL", closed_port_url())
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    hint = next(f.hint for f in check_environment(env).findings if "urllib3 1.24.1 is installed" in f.message)
    py = shlex.quote(str(env.python))
    assert hint == (
        f"`uv pip install --python {py} --upgrade urllib3 requests` "
        "(no versions named: the package index could not be reached to resolve them)"
    )
    audit = audit_environment(env, db=str(osv_db)).fixes()
    assert audit["urllib3"] == hint
    assert "==" not in audit["requests"] and "--upgrade requests" in audit["requests"]


def test_an_unreachable_index_is_answered_from_uvs_cache_and_said_so(
    tmp_path: Path, small_env: Path, wheel_dir: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = str(venv_python(small_env))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    with serve(wheel_dir) as url:
        monkeypatch.setenv("UV_INDEX_URL", url)
        online = advice.resolve_fix(python, "six", "1.16.0", (), use_cache=False)
    # the server is gone: the same index URL no longer answers
    offline = advice.resolve_fix(python, "six", "1.16.0", (), use_cache=False)
    assert online.pins == offline.pins == (("six", "1.16.0"),)
    assert not online.offline and offline.offline
    env = environment_from_prefix(small_env)
    from envkernels.inspect import hints

    assert "resolved from uv's cache" in hints.resolved_install(env, offline)


def test_nothing_to_advise_runs_no_resolution_and_an_answer_is_resolved_once(
    small_env: Path, tmp_path: Path, osv_db: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real = advice._run_uv

    def counting(python: str, lines: list[str], end: float | None = None) -> dict[str, object]:
        calls.append(lines)
        return real(python, lines, end)

    monkeypatch.setattr(advice, "_run_uv", counting)
    env = environment_from_prefix(small_env)
    assert not [f for f in check_environment(env, use_cache=False).findings if f.code == "broken-requirement"]
    assert not audit_environment(env, db=str(osv_db)).to_dict()["vulnerabilities"]
    assert calls == []  # a healthy environment: uv is never asked
    python = str(venv_python(small_env))
    first = advice.resolve_fix(python, "six", "1.16.0", ())
    advice.forget()  # the in-process answers are gone; the on-disk one remains
    again = advice.resolve_fix(python, "six", "1.16.0", ())
    assert first == again and len(calls) == 1


def test_past_the_audits_deadline_the_advice_names_no_versions(small_env: Path, isolated_home: Path) -> None:
    import time

    found = advice.resolve_fix(str(venv_python(small_env)), "six", "1.16.0", (), end=time.monotonic() - 1)
    assert found.pins == () and found.reason == "deadline"


@pytest.fixture(scope="module")
def old_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real wheels of an index that stopped in 2018: no requests newer than 2.19.0 to move to."""
    from simple_index_server import download

    dest = tmp_path_factory.mktemp("old-index")
    download(("urllib3==1.23",), dest)  # two versions of one name: one download each
    return download(
        ("requests==2.19.0", "urllib3==1.24.1", "idna==2.7", "chardet==3.0.4", "certifi==2018.4.16"), dest
    )


def test_when_only_going_back_fits_check_says_so_and_audit_advises_no_vulnerable_release(
    tmp_path: Path, old_index: Path, osv_db: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = make_venv(tmp_path / "env", ["requests==2.19.0", "urllib3==1.24.1"], no_deps=True)
    env = environment_from_prefix(prefix)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    with serve(old_index) as url:
        monkeypatch.setenv("UV_INDEX_URL", url)
        check = check_environment(env, use_cache=False)
        audit = audit_environment(env, db=str(osv_db))
    hint = next(f.hint for f in check.findings if "urllib3 1.24.1 is installed" in (f.message or ""))
    # The check asks no advisories: going back is the only fix uv finds, and the hint says it goes back.
    assert _pins(hint or "") == {"urllib3": "1.23"}
    assert "a downgrade: no newer urllib3 fits what requires it" in (hint or "")
    # The audit knows urllib3 1.23 is vulnerable: it advises no release, and names what blocks a fix.
    assert _known_vulnerable(osv_db, "urllib3", "1.23")
    fixes = audit.fixes()
    assert "==" not in fixes["urllib3"]
    assert fixes["urllib3"].startswith("no release of `urllib3` that the advisories leave alone fits")
    assert "requests 2.19.0 requires `urllib3<1.24,>=1.21.1`" in fixes["urllib3"]
    assert fixes["requests"].startswith("no release of `requests`")


def test_uv_failing_for_its_own_reason_is_not_called_an_unreachable_index(
    tmp_path: Path, small_env: Path, isolated_home: Path
) -> None:
    from envkernels.inspect import hints

    gone = tmp_path / "gone" / "bin" / "python"  # an environment whose interpreter was removed
    found = advice.resolve_fix(str(gone), "six", "1.16.0", (), use_cache=False)
    assert found.pins == () and found.reason == "uv-failed"
    assert "No interpreter found" in (found.detail or "")
    env = environment_from_prefix(small_env)
    text = hints.unresolved(env, found, ["six"]) or ""
    assert "--upgrade six" in text and "uv could not resolve them: No interpreter found" in text


def test_with_advisories_on_this_machine_check_never_goes_back_onto_a_vulnerable_release(
    tmp_path: Path,
    old_index: Path,
    osv_db: Path,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The audit's local OSV database is configured: the check's advice reads it (offline)."""
    from envkernels.audit.local import local_advisories
    from envkernels.cli import main

    prefix = make_venv(tmp_path / "env", ["requests==2.19.0", "urllib3==1.24.1"], no_deps=True)
    env = environment_from_prefix(prefix)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("ENVKERNELS_AUDIT_DB", str(osv_db))
    advisories = local_advisories(env.project)
    assert advisories is not None and advisories.label == f"osv-db:{osv_db.resolve()}"
    with serve(old_index) as url:
        monkeypatch.setenv("UV_INDEX_URL", url)
        check = check_environment(env, use_cache=False, advisories=advisories)
        assert main(["check", "--json", str(prefix)]) == 1  # the CLI passes the same advisories
    cli = json.loads(capsys.readouterr().out)
    hint = next(f.hint for f in check.findings if "urllib3 1.24.1 is installed" in f.message) or ""
    assert hint in {f["hint"] for f in cli["findings"]}
    # The only release uv can go back to is vulnerable: no version is named, requests must move.
    assert _known_vulnerable(osv_db, "urllib3", "1.23")
    assert "==" not in _command(hint)
    assert "no release of urllib3 that fits what requires it is free of known vulnerabilities" in hint
    assert f"urllib3 1.23, requests 2.19.0 are vulnerable per osv-db:{osv_db.resolve()}" in hint
    py = shlex.quote(str(env.python))
    assert hint.startswith(f"`uv pip install --python {py} --upgrade urllib3 requests` (")
    assert "requests 2.19.0 requires `urllib3<1.24,>=1.21.1`" in hint
    assert "requests must move to a release that allows a fixed urllib3" in hint


def test_check_advice_avoids_what_the_audits_cached_api_answers_name(
    tmp_path: Path, old_index: Path, osv_db: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No database configured: the OSV API answers an earlier audit cached are read, never the network."""
    from envkernels.audit.local import local_advisories
    from envkernels.audit.sources.api_cache import ApiCache
    from envkernels.audit.sources.osv_api import DEFAULT_API_URL
    from envkernels.cachedir import cache_dir

    prefix = make_venv(tmp_path / "env", ["requests==2.19.0", "urllib3==1.24.1"], no_deps=True)
    env = environment_from_prefix(prefix)
    assert local_advisories(env.project) is None  # nothing cached yet: the check reads nothing
    # What an audit through the API leaves in the cache for urllib3 1.23: the ids and the records.
    # As the API sends them: JSON (the YAML copies hold dates as date objects).
    records = [json.loads(json.dumps(r, default=str)) for r in load_records(osv_db, "urllib3")]
    cache = ApiCache(cache_dir(), DEFAULT_API_URL, 3600)
    ids = sorted(r["id"] for r in records if plain_audit([r], "urllib3", "1.23"))
    assert ids
    cache.put_queries({"urllib3==1.23": ids})
    for record in records:
        cache.put("vuln", record["id"], record)
    advisories = local_advisories(env.project)
    assert advisories is not None and advisories.label == f"osv-api-cache:{DEFAULT_API_URL}"
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    with serve(old_index) as url:
        monkeypatch.setenv("UV_INDEX_URL", url)
        check = check_environment(env, use_cache=False, advisories=advisories)
    hint = next(f.hint for f in check.findings if "urllib3 1.24.1 is installed" in f.message) or ""
    # Only urllib3's answers were cached: requests 2.19.0 is not known vulnerable here.
    assert "==" not in _command(hint) and "(urllib3 1.23 is vulnerable per osv-api-cache:" in hint
    assert "requests must move" in hint
