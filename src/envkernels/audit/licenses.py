"""The license of an installed distribution, in SPDX, and its status under a policy.

Where the license is read, in order (the first that yields a valid SPDX expression wins):

1. ``License-Expression`` (PEP 639), canonicalized with ``packaging.licenses``;
2. ``License``: an SPDX expression, or a common name for one (``MIT License``, ``Apache 2.0``),
   or a whole license text whose first line is such a name;
3. the ``License ::`` classifiers that name exactly one SPDX license (``BSD License`` or ``Apache
   Software License`` name no version and so no license: they leave it unknown); several are
   joined with ``OR``, as dual licensing is what listing several means.

A status is ``allowed``, ``denied`` or ``unknown``: an expression is allowed when one of its
alternatives (the ``OR`` branches, expanded) has no denied license and, if an allow list is set,
only allowed ones; ``X WITH exception`` matches a policy entry for ``X WITH exception`` or ``X``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

from envkernels.audit.policy import LicensePolicy
from envkernels.model import LicenseStatus

# Classifier tails (after "License :: OSI Approved :: " or "License :: ") that name one SPDX license.
CLASSIFIER_SPDX: dict[str, str] = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Eclipse Public License 1.0": "EPL-1.0",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "Universal Permissive License (UPL)": "UPL-1.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}

# Common names written in the free-text `License` field, lowercased, for one SPDX license.
NAME_SPDX: dict[str, str] = {
    "mit license": "MIT",
    "the mit license": "MIT",
    "the mit license (mit)": "MIT",
    "mit license (mit)": "MIT",
    "apache 2.0": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "apache 2.0 license": "Apache-2.0",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-3": "BSD-3-Clause",
    "bsd 3-clause license": "BSD-3-Clause",
    "3-clause bsd": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "modified bsd license": "BSD-3-Clause",
    "bsd 2-clause": "BSD-2-Clause",
    "bsd 2-clause license": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "psf": "PSF-2.0",
    "psf license": "PSF-2.0",
    "python software foundation license": "PSF-2.0",
    "mpl 2.0": "MPL-2.0",
    "mozilla public license 2.0": "MPL-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "gplv2": "GPL-2.0-only",
    "gplv3": "GPL-3.0-only",
    "gplv2+": "GPL-2.0-or-later",
    "gplv3+": "GPL-3.0-or-later",
    "lgplv3": "LGPL-3.0-only",
    "lgplv3+": "LGPL-3.0-or-later",
    "isc license": "ISC",
    "unlicense": "Unlicense",
    "the unlicense": "Unlicense",
}

_NO_LICENSE = {"", "unknown", "none", "n/a", "license.txt", "see license", "see license file"}
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class HasLicenseFields(Protocol):
    """What :func:`license_of` reads: ``InstalledDistribution``'s license fields."""

    @property
    def license_expression(self) -> str | None: ...

    @property
    def license(self) -> str | None: ...

    @property
    def classifiers(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class LicenseInfo:
    """A distribution's license: ``expression`` in canonical SPDX (or None), what was written, and where."""

    expression: str | None
    declared: str | None
    origin: str | None  # "License-Expression", "License", "classifiers" or None

    @property
    def display(self) -> str | None:
        """What to show: the SPDX expression, else the declared text cut to one short line."""
        if self.expression:
            return self.expression
        if not self.declared:
            return None
        line = " ".join(self.declared.split())
        return line if len(line) <= 60 else line[:57] + "..."


def _spdx(text: str) -> str | None:
    try:
        return canonicalize_license_expression(text)
    except InvalidLicenseExpression:
        return None


def spdx_from_text(text: str | None) -> str | None:
    """SPDX for a free-text ``License`` field, or None when it names no one license."""
    if not text:
        return None
    stripped = text.strip()
    if stripped.lower() in _NO_LICENSE:
        return None
    first = next((ln.strip() for ln in stripped.splitlines() if ln.strip()), "")
    candidates = [stripped] if "\n" not in stripped else [first]
    for cand in candidates:
        if len(cand) <= 100 and (found := _spdx(cand)):
            return found
        key = cand.lower().rstrip(".")
        if key in NAME_SPDX:
            return NAME_SPDX[key]
    return None


def spdx_from_classifiers(classifiers: tuple[str, ...] | list[str]) -> str | None:
    """SPDX for the ``License ::`` classifiers (joined with OR), or None when one is ambiguous."""
    found: list[str] = []
    for classifier in classifiers:
        if not classifier.startswith("License ::"):
            continue
        tail = classifier.split(" :: ")[-1].strip()
        spdx = CLASSIFIER_SPDX.get(tail)
        if spdx is None:
            if tail in ("OSI Approved", "Other/Proprietary License"):
                continue
            return None  # an ambiguous one (BSD License): do not guess the rest
        if spdx not in found:
            found.append(spdx)
    if not found:
        return None
    return _spdx(" OR ".join(found))


def license_of(dist: HasLicenseFields) -> LicenseInfo:
    """The license of an installed distribution (see the module docstring for the order)."""
    if dist.license_expression and dist.license_expression.strip():
        return LicenseInfo(
            _spdx(dist.license_expression.strip()), dist.license_expression, "License-Expression"
        )
    if found := spdx_from_text(dist.license):
        return LicenseInfo(found, dist.license, "License")
    if found := spdx_from_classifiers(dist.classifiers):
        return LicenseInfo(
            found, "; ".join(c for c in dist.classifiers if c.startswith("License ::")), "classifiers"
        )
    declared = dist.license if dist.license and dist.license.strip().lower() not in _NO_LICENSE else None
    return LicenseInfo(None, declared, "License" if declared else None)


def alternatives(expression: str) -> list[list[str]]:
    """The OR-branches of a canonical SPDX expression, each the list of licenses it needs together."""
    tokens = _TOKEN.findall(expression)
    pos = 0

    def parse_or() -> list[list[str]]:
        nonlocal pos
        result = parse_and()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            result = result + parse_and()
        return result

    def parse_and() -> list[list[str]]:
        nonlocal pos
        result = parse_atom()
        while pos < len(tokens) and tokens[pos] == "AND":
            pos += 1
            right = parse_atom()
            result = [a + b for a in result for b in right]
        return result

    def parse_atom() -> list[list[str]]:
        nonlocal pos
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            inner = parse_or()
            pos += 1  # the closing ")"
            return inner
        term = tokens[pos] if pos < len(tokens) else ""
        pos += 1
        if pos + 1 < len(tokens) and tokens[pos] == "WITH":
            term = f"{term} WITH {tokens[pos + 1]}"
            pos += 2
        return [[term]]

    return parse_or()


def _in(term: str, ids: frozenset[str]) -> bool:
    return term in ids or term.split(" WITH ")[0] in ids


def license_status(info: LicenseInfo, policy: LicensePolicy) -> LicenseStatus:
    """``allowed``, ``denied`` or ``unknown`` for ``info`` under ``policy``."""
    if not info.expression:
        return "unknown"
    for branch in alternatives(info.expression):
        if any(_in(t, policy.deny) for t in branch):
            continue
        if policy.allow and not all(_in(t, policy.allow) for t in branch):
            continue
        return "allowed"
    return "denied"
