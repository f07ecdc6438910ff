"""The OSV matching rules, one by one, on small records written the way the OSV schema describes them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from envkernels.audit.matching import advisory_match, match_package
from envkernels.audit.records import InvalidRecord, parse_record


def record(events: list[dict], versions: list[str] = (), rid: str = "PYSEC-0000-1", **more) -> dict:
    return {
        "id": rid,
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": "Demo_Pkg", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "versions": list(versions),
            }
        ],
        **more,
    }


def verdict(data: dict, version: str) -> tuple[bool, list[str]]:
    hit, fixes = advisory_match(parse_record(data), "demo-pkg", version)
    return hit, [str(f) for f in sorted(fixes)]


def test_introduced_zero_and_fixed_bound_a_half_open_interval():
    data = record([{"introduced": "0"}, {"fixed": "2.3.0"}])
    assert verdict(data, "0.1") == (True, ["2.3.0"])
    assert verdict(data, "2.2.9") == (True, ["2.3.0"])
    assert verdict(data, "2.3.0") == (False, [])
    assert verdict(data, "2.3") == (False, [])  # PEP 440: 2.3 == 2.3.0
    assert verdict(data, "2.3.0rc1") == (True, ["2.3.0"])  # a pre-release sorts before its release


def test_several_intervals_in_unsorted_events_and_fixed_in_is_the_closing_fix():
    data = record([{"introduced": "2.0"}, {"fixed": "2.0.7"}, {"introduced": "0"}, {"fixed": "1.26.5"}])
    assert verdict(data, "1.24.1") == (True, ["1.26.5"])
    assert verdict(data, "1.26.5") == (False, [])
    assert verdict(data, "1.30") == (False, [])
    assert verdict(data, "2.0.3") == (True, ["2.0.7"])


def test_last_affected_includes_its_own_version():
    data = record([{"introduced": "1.0"}, {"last_affected": "1.11.0"}])
    assert verdict(data, "1.11.0")[0] is True
    assert verdict(data, "1.11.1")[0] is False
    assert verdict(data, "0.9")[0] is False


def test_limit_cuts_the_range_off():
    data = record([{"introduced": "0"}, {"limit": "3.0"}])
    assert verdict(data, "2.9")[0] is True
    assert verdict(data, "3.0")[0] is False


def test_a_fix_and_a_reintroduction_at_one_version_leave_that_version_affected():
    data = record([{"introduced": "0"}, {"fixed": "1.0"}, {"introduced": "1.0"}, {"fixed": "2.0"}])
    assert verdict(data, "1.0") == (True, ["2.0"])


def test_versions_list_matches_under_pep440_and_legacy_strings_verbatim():
    data = record([], versions=["0.12.01", "0.1-bulbasaur"])
    assert verdict(data, "0.12.1")[0] is True
    assert verdict(data, "0.12.01")[0] is True
    assert verdict(data, "0.1-bulbasaur")[0] is True
    assert verdict(data, "0.1")[0] is False


def test_withdrawn_advisory_affects_nothing():
    data = record([{"introduced": "0"}], withdrawn="2023-06-06T10:37:00Z")
    assert verdict(data, "1.0") == (False, [])


def test_non_pep440_event_is_named_in_a_note_and_the_rest_of_the_range_still_applies():
    adv = parse_record(record([{"introduced": "0"}, {"fixed": "2019-09-12"}, {"fixed": "3.0"}]))
    assert any("2019-09-12" in n for n in adv.notes)
    assert advisory_match(adv, "demo-pkg", "2.0")[0] is True


def test_other_ecosystems_and_git_ranges_are_ignored():
    data = record([{"introduced": "0"}, {"fixed": "2.0"}])
    data["affected"][0]["ranges"].append(
        {"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}]}
    )
    data["affected"].append({"package": {"name": "demo-pkg", "ecosystem": "npm"}, "versions": ["9.9"]})
    adv = parse_record(data)
    assert len(adv.affected) == 1 and len(adv.affected[0].ranges) == 1
    assert verdict(data, "9.9")[0] is False


@pytest.mark.parametrize(
    ("data", "what"),
    [
        ([1, 2], "mapping"),
        ({"affected": []}, "`id`"),
        ({"id": "X-1"}, "`affected`"),
        ({"id": "X-1", "affected": [{"ranges": []}]}, "package.name"),
    ],
)
def test_records_missing_fields_are_rejected_with_the_field_named(data, what):
    with pytest.raises(InvalidRecord) as exc:
        parse_record(data)
    assert what.strip("`") in str(exc.value)


def test_aliases_merge_pysec_and_ghsa_records_into_one_vulnerability():
    pysec = parse_record(
        record(
            [{"introduced": "0"}, {"fixed": "2.0"}],
            rid="PYSEC-2020-1",
            aliases=["CVE-2020-1", "GHSA-aaaa-bbbb-cccc"],
        )
    )
    ghsa = parse_record(
        record(
            [{"introduced": "1.0"}, {"fixed": "1.9"}],
            rid="GHSA-aaaa-bbbb-cccc",
            aliases=["CVE-2020-1"],
            summary="Short summary",
        )
    )
    other = parse_record(record([{"introduced": "0"}], rid="PYSEC-2021-9"))
    found = match_package([ghsa, pysec, other], "demo-pkg", "Demo_Pkg", "1.5", "test")
    assert [v.id for v in found] == ["PYSEC-2020-1", "PYSEC-2021-9"]
    merged = found[0]
    assert merged.aliases == ("CVE-2020-1", "GHSA-aaaa-bbbb-cccc")
    assert merged.fixed_in == ("1.9", "2.0")
    assert merged.summary == "Short summary"
    assert found[1].fixed_in == ()


def test_a_real_record_matches_the_known_vulnerable_release(osv_db: Path):
    data = yaml.safe_load((osv_db / "vulns" / "requests" / "PYSEC-2018-28.yaml").read_text())
    adv = parse_record(data)
    assert advisory_match(adv, "requests", "2.19.0")[0] is True
    assert [str(f) for f in advisory_match(adv, "requests", "2.19.0")[1]] == ["2.20.0"]
    assert advisory_match(adv, "requests", "2.20.0")[0] is False
