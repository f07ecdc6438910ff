"""`envkernels check --json`'s broken requirements equal `pip check`'s and `uv pip check`'s, exactly.

Compared as sets of (kind, package, dependency, specifier of a conflict), each tool's output
parsed: pip's lines, uv's lines, and the `broken-requirement` findings of envkernels' JSON.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_tools import BROKEN, envkernels_check, pip_check, uv_pip_check

NAMES = ["ds-stack", *(b.name for b in BROKEN)]
# Where pip and uv disagree (docs/check.md, "Where pip and uv disagree"): uv leaves out the
# requirements *on* a distribution whose METADATA it cannot read and reports that distribution
# as "broken or incomplete" instead; pip (and envkernels) report such a requirement as not installed.
UV_DIFFERS = {"garbage-metadata"}


@pytest.mark.parametrize("name", NAMES)
def test_broken_requirements_equal_pip_check(name: str, all_envs: dict[str, Path], tmp_path: Path) -> None:
    prefix = all_envs[name]
    pip = pip_check(prefix, tmp_path)
    ours, _doc = envkernels_check(prefix, tmp_path / "cache")
    assert ours.broken == pip.broken
    assert ours.returncode == pip.returncode
    if name != "ds-stack":
        assert pip.broken or pip.other, "the environment is not broken: the comparison compares nothing"


@pytest.mark.parametrize("name", [n for n in NAMES if n not in UV_DIFFERS])
def test_broken_requirements_equal_uv_pip_check(name: str, all_envs: dict[str, Path], tmp_path: Path) -> None:
    prefix = all_envs[name]
    uv = uv_pip_check(prefix)
    ours, _doc = envkernels_check(prefix, tmp_path / "cache")
    assert ours.broken == uv.broken
    assert ours.returncode == uv.returncode
    assert not uv.other, uv.other


def test_unreadable_metadata_where_pip_and_uv_disagree(all_envs: dict[str, Path], tmp_path: Path) -> None:
    """The documented difference, held exactly: only requirements on unreadable distributions differ."""
    prefix = all_envs["garbage-metadata"]
    pip = pip_check(prefix, tmp_path)
    uv = uv_pip_check(prefix)
    ours, _doc = envkernels_check(prefix, tmp_path / "cache")
    # uv reads none of the four replaced METADATA files: each is an `invalid-metadata` finding of ours.
    assert uv.unreadable == {"idna", "six", "click", "attrs"}
    assert ours.unreadable == uv.unreadable
    # pip cannot read idna (not UTF-8), so requests' idna is "not installed" for pip and for us;
    # uv says nothing about requirements on a distribution it cannot read.
    on_unreadable = {b for b in pip.broken if b[2] in uv.unreadable}
    assert on_unreadable == {("missing", "requests", "idna", "")}
    assert uv.broken == pip.broken - on_unreadable
    assert ours.broken == pip.broken
    assert pip.returncode == uv.returncode == ours.returncode == 1


def test_the_suite_covers_what_the_readme_states(all_envs: dict[str, Path]) -> None:
    """README's figure ("13 environments / 429 distributions") is what this suite builds."""
    from envkernels.core.distributions import installed_distributions

    counts = {name: len(installed_distributions(prefix)) for name, prefix in all_envs.items()}
    print(f"conformance: {len(counts)} environments / {sum(counts.values())} distributions: {counts}")
    assert len(counts) == 13
    assert counts["ds-stack"] >= 300
    assert sum(counts.values()) >= 420
