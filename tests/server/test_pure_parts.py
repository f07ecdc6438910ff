"""The pure parts behind the REST API: dependency graph, diff rows, root containment, error mapping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envkernels.core.distributions import InstalledDistribution
from envkernels.errors import BadInputError, CommandError, ConflictError, NotFoundError, UsageError
from envkernels.inspect import diff as compare
from envkernels.inspect import tree as graph
from envkernels.model import DiffSide
from envkernels.server.http_errors import api_error, error_body
from envkernels.server.paths import OutsideRootError, inside_root, relative_to_root


def dist(name: str, version: str, *requires: str) -> InstalledDistribution:
    return InstalledDistribution(
        name=name, version=version, path=f"/sp/{name}.dist-info", site_packages="/sp", requires=requires
    )


def test_extras_switch_on_extra_only_requirements_of_the_required_package() -> None:
    dists = [
        dist("app", "1.0", "requests[socks]>=2"),
        dist("requests", "2.32.3", "idna<4", 'PySocks!=1.5.7,>=1.5.6; extra == "socks"'),
        dist("idna", "3.7"),
        dist("PySocks", "1.7.1"),
    ]
    tree = graph.dependency_tree(dists, "3.11.7")
    pkgs = {p.name: p for p in tree}
    assert pkgs["PySocks"].required_by == ("requests",)
    socks = next(r for r in pkgs["requests"].requires if r.name == "PySocks")
    assert socks.extra == "socks" and socks.satisfied
    assert graph.roots_of(tree) == ("app",)
    assert graph.why_paths(tree, "pysocks") == (("app", "requests", "PySocks"),)


def test_an_extra_nobody_asked_for_adds_no_edge() -> None:
    dists = [dist("requests", "2.32.3", 'PySocks>=1.5.6; extra == "socks"'), dist("PySocks", "1.7.1")]
    tree = graph.dependency_tree(dists, "3.11.7")
    assert sorted(graph.roots_of(tree)) == ["PySocks", "requests"]


def test_markers_are_judged_for_the_environments_python_not_the_servers() -> None:
    dists = [dist("app", "1", 'tomli>=1; python_version < "3.11"'), dist("tomli", "2.0.1")]
    old = graph.dependency_tree(dists, "3.10.4")
    new = graph.dependency_tree(dists, "3.12.1")
    assert {p.name: p.required_by for p in old}["tomli"] == ("app",)
    assert {p.name: p.required_by for p in new}["tomli"] == ()


def test_version_outside_the_specifier_is_unsatisfied_and_cycles_end() -> None:
    dists = [dist("a", "1", "b>=2"), dist("b", "1.5", "a")]
    tree = graph.dependency_tree(dists, None)
    req = tree[0].requires[0]
    assert req.to_dict() == {
        "name": "b",
        "specifier": ">=2",
        "extra": None,
        "installed": "1.5",
        "satisfied": False,
    }
    assert graph.roots_of(tree) == ()
    assert graph.why_paths(tree, "a") == ()
    assert graph.why_paths(tree, "nothere") is None


def test_compare_rows_and_summary() -> None:
    left = compare.versions_of([("Six", "1.16.0"), ("idna", "3.7"), ("idna", "2.0")])
    right = compare.versions_of([("six", "1.17.0"), ("rich", "13")])
    doc = compare.compare(
        left, right, left_label=DiffSide("environment", id="l"), right_label=DiffSide("lock", path="r")
    ).to_dict()
    assert doc["left"] == {"type": "environment", "id": "l"} and doc["right"] == {"type": "lock", "path": "r"}
    assert doc["rows"] == [
        {"name": "idna", "left": "3.7", "right": None, "status": "only-left"},
        {"name": "rich", "left": None, "right": "13", "status": "only-right"},
        {"name": "Six", "left": "1.16.0", "right": "1.17.0", "status": "changed"},
    ]
    assert doc["summary"] == {"same": 0, "changed": 1, "only-left": 1, "only-right": 1}


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "~root/x", "C:\\x", "\\\\server\\share"])
def test_paths_that_leave_the_root_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(OutsideRootError):
        inside_root(tmp_path, bad)


@pytest.mark.parametrize("bad", ["", "   ", None, 3, ["a"], "a\x00b"])
def test_paths_that_are_not_strings_are_usage_errors(tmp_path: Path, bad: object) -> None:
    with pytest.raises(UsageError):
        inside_root(tmp_path, bad)


def test_paths_inside_the_root_resolve_through_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    os.symlink(root / "real", root / "link")
    assert inside_root(root, "link/pylock.toml") == (root / "real" / "pylock.toml").resolve()
    assert inside_root(root, "sub/../pylock.toml") == (root / "pylock.toml").resolve()
    assert relative_to_root(root, root / "real" / "x") == "real/x"
    assert relative_to_root(root, tmp_path) is None


@pytest.mark.parametrize(
    ("exc", "status", "reason"),
    [
        (NotFoundError("gone", "look"), 404, "not-found"),
        (ConflictError("busy"), 409, "conflict"),
        (BadInputError("bad lock", "fix it"), 400, "bad-input"),
        (UsageError("wrong"), 400, "bad-request"),
        (OutsideRootError("out"), 403, "outside-root"),
        (CommandError(["uv", "pip"], 2, "boom\nlast line"), 409, "command-failed"),
    ],
)
def test_engine_errors_map_to_statuses_and_bodies(exc: Exception, status: int, reason: str) -> None:
    err = api_error(exc)  # type: ignore[arg-type]
    assert err.status_code == status
    body = error_body(status, err)
    assert body["reason"] == reason and body["message"] == str(exc)


def test_a_message_with_percent_signs_survives() -> None:
    err = api_error(NotFoundError("100% gone"))
    assert error_body(404, err)["message"] == "100% gone"
    assert str(err).endswith("(100% gone)")


def test_unexpected_errors_never_carry_a_traceback() -> None:
    body = error_body(500, RuntimeError("secret detail"))
    assert "secret detail" not in str(body) and "Traceback" not in str(body)
    assert body["reason"] == "internal-error"
