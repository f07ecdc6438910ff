"""Licenses (audit/licenses.py) agree with pip-licenses wherever both give an SPDX id.

pip-licenses runs from its own venv against each environment (`--python`, which makes it read
that interpreter's `sys.path`), `--from=all --with-system --format=json`. Its `License-Metadata`
is the `License` field; where that is a valid SPDX expression and ours is one too, they must be
equal. Deliberate differences (docs/check.md): pip-licenses 5.0 does not read `License-Expression`
(PEP 639), so a distribution that declares only that is `UNKNOWN` there and has its SPDX id here;
we turn unambiguous `License ::` classifiers into SPDX ids where pip-licenses shows their names;
and a `License` text whose first line names a license (`BSD 3-Clause License`, then the text)
is that license's id here, free text there.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conformance_tools import BROKEN, PIP_LICENSES
from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.utils import canonicalize_name

from envkernels.audit.licenses import license_of
from envkernels.core.distributions import installed_distributions

# pip-licenses stops with a TypeError on a distribution without a readable Name.
PIP_LICENSES_FAILS = {"garbage-metadata"}
NAMES = ["ds-stack", *(b.name for b in BROKEN if b.name not in PIP_LICENSES_FAILS)]


def _spdx(text: str | None) -> str | None:
    try:
        return canonicalize_license_expression(text) if text else None
    except InvalidLicenseExpression:
        return None


def _pip_licenses(tool: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(tool / "bin" / "pip-licenses"),
            "--python",
            str(prefix / "bin" / "python"),
            "--from=all",
            "--with-system",
            "--format=json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("name", NAMES)
def test_spdx_ids_equal_pip_licenses(
    name: str, all_envs: dict[str, Path], tool_venv: Callable[[str], Path]
) -> None:
    prefix = all_envs[name]
    proc = _pip_licenses(tool_venv(PIP_LICENSES), prefix)
    assert proc.returncode == 0, proc.stderr
    theirs = {canonicalize_name(row["Name"]): row for row in json.loads(proc.stdout)}
    ours = {d.normalized: d for d in installed_distributions(prefix)}
    assert set(theirs) == set(ours)
    both = 0
    for key, row in theirs.items():
        their_id = _spdx(row["License-Metadata"])
        info = license_of(ours[key])
        if their_id:
            # Where pip-licenses has an SPDX id, we have one too, and the same.
            assert info.expression == their_id, (key, row["License-Metadata"], info)
            both += 1
    if name == "ds-stack":
        assert both >= 90  # measured: 98 of the 303 distributions declare an SPDX id in `License`


def test_license_expression_is_the_deliberate_difference(
    all_envs: dict[str, Path], tool_venv: Callable[[str], Path]
) -> None:
    prefix = all_envs["ds-stack"]
    proc = _pip_licenses(tool_venv(PIP_LICENSES), prefix)
    theirs = {canonicalize_name(row["Name"]): row for row in json.loads(proc.stdout)}
    only_expression = [d for d in installed_distributions(prefix) if d.license_expression and not d.license]
    assert only_expression  # PEP 639 metadata is in the stack
    for dist in only_expression:
        assert theirs[dist.normalized]["License-Metadata"] == "UNKNOWN"
        assert license_of(dist).expression == canonicalize_license_expression(dist.license_expression or "")


def test_pip_licenses_fails_where_we_still_answer(
    all_envs: dict[str, Path], tool_venv: Callable[[str], Path]
) -> None:
    prefix = all_envs["garbage-metadata"]
    proc = _pip_licenses(tool_venv(PIP_LICENSES), prefix)
    assert proc.returncode != 0 and "TypeError" in proc.stderr
    licensed = {d.normalized: license_of(d).expression for d in installed_distributions(prefix)}
    assert licensed["requests"] == "Apache-2.0"
