"""The dependency tree and the diff endpoints, against real uv-made environments."""

from __future__ import annotations

from pathlib import Path

from api_helpers import env_ids


async def test_tree_says_requests_pulls_in_urllib3_and_why_idna_is_there(api) -> None:
    ids = await env_ids(api)
    status, tree = await api("GET", "environments", ids["alpha"], "tree")
    assert status == 200
    pkgs = {p["name"].lower(): p for p in tree["packages"]}
    requires = {r["name"].lower(): r for r in pkgs["requests"]["requires"]}
    assert {"urllib3", "idna", "certifi", "charset-normalizer"} <= set(requires)
    assert all(r["satisfied"] for r in requires.values())
    assert pkgs["urllib3"]["required_by"] == ["requests"]
    # requests and six are what was asked for: nothing requires them
    assert {"requests", "six"} <= {r.lower() for r in tree["roots"]}
    assert "urllib3" not in {r.lower() for r in tree["roots"]}

    status, why = await api("GET", "environments", ids["alpha"], "tree", params={"why": "idna"})
    assert status == 200
    assert why["why"]["paths"] == [["requests", "idna"]]


async def test_tree_of_an_env_with_missing_dependencies_marks_them_unsatisfied(api) -> None:
    ids = await env_ids(api)
    status, tree = await api("GET", "environments", ids["beta"], "tree")
    assert status == 200
    requests = next(p for p in tree["packages"] if p["name"].lower() == "requests")
    missing = {r["name"].lower() for r in requests["requires"] if r["installed"] is None}
    assert {"urllib3", "idna", "certifi", "charset-normalizer"} <= missing
    assert not any(r["satisfied"] for r in requests["requires"] if r["installed"] is None)


async def test_tree_why_of_a_package_that_is_not_installed_is_404(api) -> None:
    ids = await env_ids(api)
    status, data = await api("GET", "environments", ids["beta"], "tree", params={"why": "urllib3"})
    assert status == 404 and "urllib3" in data["message"]


async def test_diff_of_two_environments_shows_what_only_one_has(api) -> None:
    ids = await env_ids(api)
    status, diff = await api("GET", "environments", ids["alpha"], "diff", params={"other": ids["beta"]})
    assert status == 200
    rows = {r["name"].lower(): r for r in diff["rows"]}
    assert rows["urllib3"]["status"] == "only-left" and rows["urllib3"]["right"] is None
    assert rows["requests"]["status"] == "same" and rows["requests"]["left"] == "2.32.3"
    assert diff["left"]["id"] == ids["alpha"] and diff["right"]["id"] == ids["beta"]
    assert diff["summary"]["only-left"] >= 4 and diff["summary"]["only-right"] == 0


async def test_diff_against_a_lockfile_in_the_server_root(api, jp_root_dir: Path) -> None:
    ids = await env_ids(api)
    (jp_root_dir / "proj").mkdir()
    (jp_root_dir / "proj" / "requirements.txt").write_text("requests==2.31.0\nsix==1.16.0\nrich==13.7.1\n")
    status, diff = await api(
        "GET", "environments", ids["beta"], "diff", params={"lock": "proj/requirements.txt"}
    )
    assert status == 200, diff
    rows = {r["name"].lower(): r for r in diff["rows"]}
    assert rows["requests"] == {
        "name": rows["requests"]["name"],
        "left": "2.32.3",
        "right": "2.31.0",
        "status": "changed",
    }
    assert rows["six"]["status"] == "same"
    assert rows["rich"]["status"] == "only-right"
    assert diff["right"]["type"] == "lock"


async def test_diff_needs_exactly_one_of_other_or_lock(api) -> None:
    ids = await env_ids(api)
    status, data = await api("GET", "environments", ids["alpha"], "diff")
    assert status == 400 and data["hint"]
    status, data = await api(
        "GET", "environments", ids["alpha"], "diff", params={"other": ids["beta"], "lock": "x.txt"}
    )
    assert status == 400


async def test_diff_with_an_unknown_other_environment_is_404(api) -> None:
    ids = await env_ids(api)
    status, data = await api("GET", "environments", ids["alpha"], "diff", params={"other": "venv-gone-1"})
    assert status == 404 and "venv-gone-1" in data["message"]
