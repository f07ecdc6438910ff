"""Every distribution of every conformance environment: our METADATA reader equals `packaging.metadata`.

For each field envkernels uses (Name, Version, Requires-Dist, Provides-Extra, Requires-Python,
License, License-Expression, Classifier), the raw header values equal what
`packaging.metadata.parse_email` returns for the same text, and the distribution record built
from them carries those values (stripped of the surrounding whitespace `email` keeps).
"""

from __future__ import annotations

from pathlib import Path

from packaging.metadata import parse_email

from envkernels.core.distributions import installed_distributions, parse_headers

FIELDS = {
    "name": "name",
    "version": "version",
    "requires-dist": "requires_dist",
    "provides-extra": "provides_extra",
    "requires-python": "requires_python",
    "license": "license",
    "license-expression": "license_expression",
    "classifier": "classifiers",
}


def _metadata_text(path: Path) -> str | None:
    meta = path / "METADATA" if path.name.endswith(".dist-info") else path / "PKG-INFO"
    if path.is_file():
        meta = path
    try:
        return meta.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # not UTF-8: pip cannot read it either (`invalid-metadata`, tested elsewhere)


def _packaging(text: str) -> dict[str, list[str]]:
    raw, unparsed = parse_email(text)
    out: dict[str, list[str]] = {}
    for header, key in FIELDS.items():
        value = raw.get(key)  # type: ignore[misc]
        if value is None:
            value = unparsed.get(header)
        if value is not None:
            out[header] = list(value) if isinstance(value, list) else [value]
    return out


def test_every_distribution_reads_as_packaging_reads_it(all_envs: dict[str, Path]) -> None:
    compared = 0
    folded = []
    for prefix in all_envs.values():
        for dist in installed_distributions(prefix):
            text = _metadata_text(Path(dist.path))
            if text is None:
                continue
            expected = _packaging(text)
            headers = parse_headers(text)
            assert {h: headers[h] for h in FIELDS if h in headers} == expected, dist.path
            one = {k: v[0].strip() for k, v in expected.items() if v}
            assert dist.requires == tuple(r.strip() for r in expected.get("requires-dist", [])) or (
                dist.kind == "egg-info" and "requires-dist" not in expected  # from requires.txt
            ), dist.path
            assert dist.classifiers == tuple(c.strip() for c in expected.get("classifier", [])), dist.path
            assert dist.license == one.get("license"), dist.path
            assert dist.license_expression == one.get("license-expression"), dist.path
            assert dist.requires_python == one.get("requires-python"), dist.path
            if "name" in one:
                assert dist.name == one["name"], dist.path
            if "version" in one:
                assert dist.version == one["version"], dist.path
            compared += 1
            license_text = (expected.get("license") or [""])[0]
            blank_inside = any(not line.strip() for line in license_text.splitlines()[1:])
            if blank_inside and expected.get("requires-dist"):
                folded.append(dist.name)
    # The comparison covered the stack, and the shape that broke the earlier reader is in it.
    assert compared > 350
    assert {"scipy", "jupyter_server", "traitlets"} <= set(folded), folded
