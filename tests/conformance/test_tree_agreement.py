"""The dependency tree (`GET .../tree`, inspect/tree.py) has `pipdeptree --json`'s edges, exactly.

pipdeptree runs from its own venv against each environment (`--python`). Compared: the set of
packages and the set of (package, dependency) edges. Deliberate difference (docs/check.md): our
tree also follows extras that someone asks for (`dask[complete]` pulls in dask's `complete`
requirements); pipdeptree lists only base requirements. Those edges carry `extra` and are held
apart here, and are checked to be requirements of an extra that another package asks for.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conformance_tools import BROKEN, PIPDEPTREE
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envkernels.core.distributions import installed_distributions
from envkernels.discovery.probe import environment_from_prefix
from envkernels.inspect import tree as graph

# pipdeptree cannot read a METADATA that is not UTF-8 (it stops with a UnicodeDecodeError).
PIPDEPTREE_FAILS = {"garbage-metadata"}
NAMES = ["ds-stack", *(b.name for b in BROKEN if b.name not in PIPDEPTREE_FAILS)]


def _pipdeptree(tool: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(tool / "bin" / "pipdeptree"),
            "--python",
            str(prefix / "bin" / "python"),
            "--json",
            "-w",
            "silence",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _ours(prefix: Path) -> dict:
    env = environment_from_prefix(str(prefix))
    packages = graph.dependency_tree(installed_distributions(prefix), env.python_version)
    return {"packages": [p.to_dict() for p in packages]}


@pytest.mark.parametrize("name", NAMES)
def test_tree_edges_equal_pipdeptree(
    name: str, all_envs: dict[str, Path], tool_venv: Callable[[str], Path]
) -> None:
    prefix = all_envs[name]
    proc = _pipdeptree(tool_venv(PIPDEPTREE), prefix)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    their_packages = {canonicalize_name(e["package"]["key"]) for e in data}
    their_edges = {
        (canonicalize_name(e["package"]["key"]), canonicalize_name(d["key"]))
        for e in data
        for d in e["dependencies"]
    }
    tree = _ours(prefix)
    our_packages = {canonicalize_name(p["name"]) for p in tree["packages"]}
    base = {
        (canonicalize_name(p["name"]), canonicalize_name(r["name"]))
        for p in tree["packages"]
        for r in p["requires"]
        if r["extra"] is None
    }
    assert our_packages == their_packages
    assert base == their_edges
    assert their_edges or name == "platform", "no edges: the comparison compares nothing"
    # Versions of what is installed, and "?" (pipdeptree) / None (ours) for what is missing.
    theirs_installed = {
        (canonicalize_name(e["package"]["key"]), canonicalize_name(d["key"])): (
            None if d["installed_version"] == "?" else d["installed_version"]
        )
        for e in data
        for d in e["dependencies"]
    }
    ours_installed = {
        (canonicalize_name(p["name"]), canonicalize_name(r["name"])): r["installed"]
        for p in tree["packages"]
        for r in p["requires"]
        if r["extra"] is None
    }
    assert ours_installed == theirs_installed


def test_extra_edges_are_the_extras_someone_asks_for(all_envs: dict[str, Path]) -> None:
    """The deliberate difference: edges under an extra, only for extras another package requires."""
    prefix = all_envs["ds-stack"]
    tree = _ours(prefix)
    extra_edges = [(p["name"], r) for p in tree["packages"] for r in p["requires"] if r["extra"]]
    assert extra_edges  # dask[complete] and friends are in the stack
    asked: set[tuple[str, str]] = set()
    for dist in installed_distributions(prefix):
        for line in dist.requires:
            req = Requirement(line)
            asked |= {(canonicalize_name(req.name), canonicalize_name(e)) for e in req.extras}
    assert all((canonicalize_name(name), canonicalize_name(r["extra"])) in asked for name, r in extra_edges)


def test_pipdeptree_fails_where_we_still_answer(
    all_envs: dict[str, Path], tool_venv: Callable[[str], Path]
) -> None:
    prefix = all_envs["garbage-metadata"]
    proc = _pipdeptree(tool_venv(PIPDEPTREE), prefix)
    assert proc.returncode != 0 and "UnicodeDecodeError" in proc.stderr
    names = {canonicalize_name(p["name"]) for p in _ours(prefix)["packages"]}
    assert {"requests", "idna", "six", "click", "attrs"} <= names
