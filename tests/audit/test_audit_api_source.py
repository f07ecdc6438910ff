"""The OSV API source against a real HTTP server on 127.0.0.1 that serves the copied advisories.

The server (osv_server.py) answers querybatch and vulns from the records with the tests' own plain
matching; faults (500, garbage, slowness, one record failing) are switched on per test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envkernels.audit.policy import AuditConfig
from envkernels.audit.run import AuditItem, audit_items
from envkernels.audit.sources.interface import Dependency, SourceUnavailable
from envkernels.audit.sources.osv_api import OsvApiSource
from envkernels.model import Environment

DEPS = [
    Dependency("requests", "2.19.0"),
    Dependency("urllib3", "1.24.1"),
    Dependency("Jinja2", "2.10"),
    Dependency("six", "1.16.0"),
]
ENV = Environment(
    id="venv-t-00000000",
    kind="venv",
    name="t",
    prefix="/nowhere",
    python="/nowhere/bin/python",
    python_version="3.11.7",
)


def source(url: str, tmp_path: Path, **kw) -> OsvApiSource:
    return OsvApiSource(url, cache_root=tmp_path / "cache", **kw)


def test_one_querybatch_for_all_packages_then_each_record_once(osv_api, tmp_path: Path):
    url, state = osv_api
    answer = source(url, tmp_path).query(DEPS)
    posts = [r for r in state.requests if r[0] == "POST"]
    gets = [r for r in state.requests if r[0] == "GET"]
    assert posts == [("POST", "/v1/querybatch")]
    ids = set().union(*answer.reported.values())
    assert "PYSEC-2018-28" in answer.reported[("requests", "2.19.0")]
    assert answer.reported[("six", "1.16.0")] == frozenset()
    assert sorted(g[1] for g in gets) == sorted(f"/v1/vulns/{i}" for i in ids)
    assert {a.id for a in answer.advisories["urllib3"]} == answer.reported[("urllib3", "1.24.1")]


def test_answers_are_cached_for_the_ttl(osv_api, tmp_path: Path):
    url, state = osv_api
    source(url, tmp_path).query(DEPS)
    before = len(state.requests)
    again = source(url, tmp_path).query(DEPS)
    assert len(state.requests) == before  # nothing asked: all from the cache
    assert "PYSEC-2018-28" in again.reported[("requests", "2.19.0")]
    source(url, tmp_path, cache_ttl=0).query(DEPS)
    assert len(state.requests) > before


def test_expired_answers_are_asked_again(osv_api, tmp_path: Path):
    url, state = osv_api
    src = source(url, tmp_path, cache_ttl=60)
    src.query(DEPS)
    queries = src.cache.dir / "queries.json"
    entries = json.loads(queries.read_text())
    queries.write_text(json.dumps({k: [v[0] - 120, v[1]] for k, v in entries.items()}))  # two minutes old
    state.requests.clear()
    source(url, tmp_path, cache_ttl=60).query(DEPS)
    assert ("POST", "/v1/querybatch") in state.requests
    assert not any(r[0] == "GET" for r in state.requests)  # the records themselves are still fresh


def test_paged_querybatch_results_are_followed(osv_api, tmp_path: Path):
    url, state = osv_api
    state.page_size = 2
    answer = source(url, tmp_path, cache_ttl=0).query([Dependency("urllib3", "1.24.1")])
    state.page_size = None
    full = source(url, tmp_path, cache_ttl=0).query([Dependency("urllib3", "1.24.1")])
    assert len(full.reported[("urllib3", "1.24.1")]) > 2
    assert answer.reported == full.reported
    assert sum(1 for r in state.requests if r[1] == "/v1/querybatch") > 2


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("500", "HTTP 500"),
        ("garbage", "not JSON"),
        ("shape", "not a querybatch result"),
        ("slow", "did not answer within"),
    ],
)
def test_unusable_api_is_an_error_never_no_vulnerabilities(osv_api, tmp_path: Path, mode, words):
    url, state = osv_api
    state.mode = mode
    state.slow_seconds = 2.0
    src = source(url, tmp_path, timeout=0.5)
    with pytest.raises(SourceUnavailable) as exc:
        src.query(DEPS)
    assert words in exc.value.message and "--db" in (exc.value.hint or "")
    report = audit_items(ENV, [AuditItem(d.name, d.version) for d in DEPS], source=src, config=AuditConfig())
    assert report.findings[0].code == "source-unavailable" and report.findings[0].severity == "error"
    assert {s["package"] for s in report.to_dict()["skipped"]} == {d.name for d in DEPS}
    assert report.to_dict()["vulnerabilities"] == []


def test_unreachable_api_is_an_error(tmp_path: Path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(SourceUnavailable, match="could not be reached"):
        source(f"http://127.0.0.1:{port}", tmp_path, timeout=2).query(DEPS)


def test_one_record_failing_keeps_its_vulnerability_with_a_warning(osv_api, tmp_path: Path):
    url, state = osv_api
    state.fail_ids = {"PYSEC-2018-28"}
    src = source(url, tmp_path)
    report = audit_items(ENV, [AuditItem("requests", "2.19.0")], source=src, config=AuditConfig())
    ids = {v["id"] for v in report.to_dict()["vulnerabilities"]}
    assert "PYSEC-2018-28" in ids and "PYSEC-2023-74" in ids
    failed = next(v for v in report.to_dict()["vulnerabilities"] if v["id"] == "PYSEC-2018-28")
    assert "could not be read" in failed["summary"]
    warning = next(f for f in report.findings if f.code == "advisory-unavailable")
    assert "PYSEC-2018-28" in warning.message and warning.package == "requests"


def test_api_url_must_be_http():
    with pytest.raises(SourceUnavailable, match="not an http"):
        OsvApiSource("ftp://example.org")
