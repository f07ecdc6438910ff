"""The widgets' report sections, pure: each advisory once, left-aligned cells, severities as text."""

from __future__ import annotations

from envkernels.kernel_side import envkernels_widgets as ew


def _audit() -> dict:
    vulns = [
        {"package": "urllib3", "version": "1.24.1", "id": f"GHSA-{i}", "summary": "s", "fixed_in": ["2.0"]}
        for i in range(3)
    ]
    findings = [
        {
            "code": "vulnerability",
            "severity": "error",
            "package": "urllib3",
            "message": v["id"],
            "hint": None,
            "vulnerability": v["id"],
        }
        for v in vulns
    ]
    return {"findings": findings, "vulnerabilities": vulns}


def test_each_advisory_is_listed_once_not_as_a_finding_and_a_vulnerability() -> None:
    groups = ew._by_package(_audit())
    assert len(groups["urllib3"]) == 3  # was 6: "urllib3 (6)" for 3 advisories
    assert {kind for kind, _ in groups["urllib3"]} == {"vulnerability"}


def test_section_cells_are_left_aligned_and_severity_is_text_not_white_on_colour() -> None:
    html = ew._section_html(ew._by_package(_audit())["urllib3"])
    assert "text-align:right" not in html and "text-align:left" in html
    assert "color:#fff" not in html
    assert ">error</span>" in html
    assert html.startswith("<div class='envk'>")  # where the extension adds copy buttons
    fix = ew._fix("run `uv pip install x`")
    assert "`" not in fix and "<code class='fix'" in fix
