"""GET/POST on the environment listing: records, one record, and a refresh that the kernelspecs follow."""

from __future__ import annotations

from pathlib import Path

from api_helpers import env_ids

from envfactory import make_venv


async def test_list_returns_the_records_of_the_roots_environments(api, api_envs: Path) -> None:
    status, data = await api("GET", "environments")
    assert status == 200
    by_name = {e["name"]: e for e in data}
    assert {"alpha", "beta"} <= set(by_name)
    alpha = by_name["alpha"]
    assert alpha["prefix"] == str((api_envs / "alpha").resolve())
    assert alpha["status"] == "ok"
    assert alpha["kernel_name"].startswith("envk-")
    for key in ("id", "kind", "python", "python_version", "lockfiles", "has_ipykernel", "problem", "hint"):
        assert key in alpha
    # the default places are off: nothing but the roots' environments
    assert all(e["prefix"].startswith(str(api_envs.resolve())) for e in data)


async def test_get_one_environment_by_id(api) -> None:
    ids = await env_ids(api)
    status, data = await api("GET", "environments", ids["beta"])
    assert status == 200
    assert data["id"] == ids["beta"] and data["name"] == "beta"


async def test_refresh_shows_a_new_environment_and_its_kernelspec(api, jp_fetch, late_root: Path) -> None:
    import json

    before = await env_ids(api)
    assert "gamma" not in before
    make_venv(late_root / "gamma", ["six==1.16.0"])
    status, data = await api("POST", "environments", "refresh")
    assert status == 200
    gamma = next(e for e in data if e["name"] == "gamma")
    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert gamma["kernel_name"] in specs
    status, one = await api("GET", "environments", gamma["id"])
    assert status == 200 and one["prefix"] == str((late_root / "gamma").resolve())


async def test_unknown_environment_id_is_404_with_a_json_error(api) -> None:
    status, data = await api("GET", "environments", "venv-nope-00000000")
    assert status == 404
    assert set(data) == {"message", "hint", "reason"}
    assert "venv-nope-00000000" in data["message"] and data["reason"] == "not-found"
