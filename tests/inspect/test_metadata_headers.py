"""METADATA headers are read exactly as `packaging.metadata.parse_email` (and pip's `email` parser) read them.

The conformance suite compares every distribution of real environments; these are the shapes
that broke the earlier reader, and the corners of `email.feedparser`'s rules, written out.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.metadata import parse_email

from envkernels.core.distributions import parse_headers

# A setuptools-style folded License: the blank lines of the license text are lines of 8 spaces.
FOLDED_LICENSE = (
    "Metadata-Version: 2.1\n"
    "Name: scipy\n"
    "Version: 1.13.1\n"
    "License: Copyright (c) 2001-2002 Enthought, Inc. 2003-2024, SciPy Developers.\n"
    "        All rights reserved.\n"
    "        \n"
    "        Redistribution and use in source and binary forms, with or without\n"
    "\t\n"
    "        are met:\n"
    "Classifier: License :: OSI Approved :: BSD License\n"
    "Requires-Python: >=3.9\n"
    "Requires-Dist: numpy<2.3,>=1.22.4\n"
    "Requires-Dist: pytest; extra == 'test'\n"
    "Provides-Extra: test\n"
    "\n"
    "Body text\n"
    "Requires-Dist: not-a-header-any-more\n"
)

CORNERS = {
    "folded-license": FOLDED_LICENSE,
    "crlf": "Name: a\r\nVersion: 1\r\nLicense: x\r\n  y\r\n\r\nRequires-Dist: body\r\n",
    "lone-cr": "Name: a\rVersion: 1\rRequires-Dist: b\r",
    "form-feed-is-not-a-line-end": "Name: a\nLicense: x\x0cRequires-Dist: hidden\nRequires-Dist: c\n",
    "unicode-line-separator": "Name: a\nLicense: x\u2028y\nRequires-Dist: d\n",
    "trailing-spaces-kept": "Name: a  \nVersion: 1 \t\nRequires-Dist: e ; python_version > '3'  \n",
    "space-before-colon-ends-headers": "Name: a\nVersion : 1\nRequires-Dist: f\n",
    "body-line-ends-headers": "Name: a\nthis is not a header\nRequires-Dist: g\n",
    "colon-first": "Name: a\n: nameless\n  continued\nRequires-Dist: h\n",
    "leading-continuation": "  orphan\nName: a\nRequires-Dist: i\n",
    "unix-from-first": "From someone\nName: a\nRequires-Dist: j\n",
    "unix-from-middle": "Name: a\nFrom here\n  cont\nRequires-Dist: k\n",
    "unix-from-last": "Name: a\nRequires-Dist: l\nFrom there\n",
    "no-final-newline": "Name: a\nRequires-Dist: m",
    "non-ascii-name-ends-headers": "Name: a\nLicénse: x\nRequires-Dist: n\n",
    "empty-values": "Name:\nRequires-Dist:\nClassifier:   \n",
    "case-insensitive": "NAME: a\nrequires-dist: o\nREQUIRES-DIST: p\n",
    "duplicate-single-fields": "Name: a\nName: b\nVersion: 1\nVersion: 2\nLicense: x\nLicense: y\n",
}

# Every field envkernels reads (and the key packaging stores it under).
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


def packaging_values(text: str) -> dict[str, list[str]]:
    """``parse_email``'s value of each field as a list (single fields repeated land in `unparsed`)."""
    raw, unparsed = parse_email(text)
    out: dict[str, list[str]] = {}
    for header, key in FIELDS.items():
        value = raw.get(key)  # type: ignore[misc]
        if value is None:
            value = unparsed.get(header)
        if value is not None:
            out[header] = list(value) if isinstance(value, list) else [value]
    return out


def ours(text: str) -> dict[str, list[str]]:
    headers = parse_headers(text)
    return {h: headers[h] for h in FIELDS if h in headers}


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_corner_cases_equal_parse_email(name: str) -> None:
    assert ours(CORNERS[name]) == packaging_values(CORNERS[name])


def test_whitespace_only_line_inside_a_folded_license_does_not_end_the_headers() -> None:
    headers = parse_headers(FOLDED_LICENSE)
    assert headers["requires-dist"] == ["numpy<2.3,>=1.22.4", "pytest; extra == 'test'"]
    assert headers["classifier"] == ["License :: OSI Approved :: BSD License"]
    assert "are met:" in headers["license"][0]


# The characters and words that steer `email`'s rules, for Hypothesis to combine.
_PIECES = [
    "Name",
    "Version",
    "Requires-Dist",
    "License",
    "Classifier",
    "From ",
    "X",
    ":",
    ": ",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\x0c",
    "\u2028",
    "a",
    "é",
    "==1",
    ";",
]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_generated_header_texts_equal_parse_email(text: str) -> None:
    assert ours(text) == packaging_values(text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_any_text_equals_parse_email(text: str) -> None:
    assert ours(text) == packaging_values(text)
