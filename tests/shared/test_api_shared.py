"""Shared roots and fork through a real jupyter_server (pytest-jupyter), configured by the traits only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sharedhelpers import config_for

from envfactory import freeze


@pytest.fixture
def hub_log(tmp_path: Path) -> Path:
    """The server-wide history log the administrator configured (c.EnvKernelsApp.history_log)."""
    return tmp_path / "hub-history.jsonl"


@pytest.fixture
def jp_server_config(
    team_root: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, hub_log: Path
) -> Any:
    # The traits export the roots and the log into this process's environment: put them back after.
    monkeypatch.delenv("ENVKERNELS_SHARED_ROOTS", raising=False)
    monkeypatch.delenv("ENVKERNELS_HISTORY_LOG", raising=False)
    return config_for(team_root, history_log=str(hub_log))


@pytest.fixture
def api(jp_fetch):  # type: ignore[no-untyped-def]
    async def call(method: str, *parts: str, body: Any = None, params: Any = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if method == "POST":
            kwargs["body"] = json.dumps(body if body is not None else {})
        resp = await jp_fetch(*parts, params=params, **kwargs)
        text = resp.body.decode() if resp.body else ""
        return resp.code, json.loads(text) if text else None

    return call


async def _team_record(api: Any) -> dict[str, Any]:
    status, records = await api("GET", "envkernels", "api", "environments")
    assert status == 200, records
    return next(r for r in records if r["name"] == "analytics")


async def test_records_kernels_and_reads_of_a_shared_environment(
    api: Any, untouched: None, jp_root_dir: Path
) -> None:
    rec = await _team_record(api)
    assert rec["shared"] is True
    status, specs = await api("GET", "api", "kernelspecs")
    assert status == 200
    names = {k: v["spec"]["display_name"] for k, v in specs["kernelspecs"].items()}
    assert names[rec["kernel_name"]].endswith("(team: analytics)")
    for what in ("check", "tree"):
        status, body = await api("GET", "envkernels", "api", "environments", rec["id"], what)
        assert status == 200, body
    (jp_root_dir / "requirements.txt").write_text("six==1.15.0\nidna==3.7\n")
    status, diff = await api(
        "GET", "envkernels", "api", "environments", rec["id"], "diff", params={"lock": "requirements.txt"}
    )
    assert status == 200, diff
    assert {r["name"]: r["status"] for r in diff["rows"]}["six"] == "changed"


async def test_sync_of_a_shared_environment_is_403_with_the_fork_hint(
    api: Any, untouched: None, jp_root_dir: Path, team_root: Path
) -> None:
    rec = await _team_record(api)
    (jp_root_dir / "requirements.txt").write_text("six==1.16.0\n")
    before = freeze(team_root / "analytics")
    for dry_run in (True, False):
        status, body = await api(
            "POST",
            "envkernels",
            "api",
            "environments",
            rec["id"],
            "sync",
            body={"lock": "requirements.txt", "dry_run": dry_run},
        )
        assert status == 403, body
        assert body["reason"] == "shared-environment" and "fork" in body["hint"]
    assert freeze(team_root / "analytics") == before


async def test_fork_through_rest_inside_the_root_is_a_kernel_at_once(
    api: Any, untouched: None, jp_root_dir: Path, local_index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_INDEX_URL", local_index)
    rec = await _team_record(api)
    status, body = await api(
        "POST", "envkernels", "api", "environments", rec["id"], "fork", body={"dest": "envs/mine"}
    )
    assert status == 201, body
    dest = jp_root_dir / "envs" / "mine"
    assert body["environment"]["prefix"] == str(dest) and body["environment"]["project_path"] is None
    assert freeze(dest) == freeze(Path(rec["prefix"]))
    status, specs = await api("GET", "api", "kernelspecs")
    assert body["environment"]["kernel_name"] in specs["kernelspecs"]


async def test_fork_dest_outside_the_root_is_403_and_nothing_is_made(
    api: Any, untouched: None, jp_root_dir: Path
) -> None:
    rec = await _team_record(api)
    for dest in ("../outside", "/tmp/abs-fork"):
        status, body = await api(
            "POST", "envkernels", "api", "environments", rec["id"], "fork", body={"dest": dest}
        )
        assert status == 403, body
        assert body["reason"] == "outside-root"
    assert not (jp_root_dir.parent / "outside").exists() and not Path("/tmp/abs-fork").exists()


async def test_history_records_the_jupyter_user_of_a_rest_fork_and_serves_it(
    api: Any,
    untouched: None,
    jp_root_dir: Path,
    local_index: str,
    monkeypatch: pytest.MonkeyPatch,
    hub_log: Path,
) -> None:
    monkeypatch.setenv("UV_INDEX_URL", local_index)
    status, me = await api("GET", "api", "me")
    assert status == 200
    user = me["identity"]["username"]
    assert user == "ana"  # the server's identity provider names the user
    rec = await _team_record(api)
    status, body = await api(
        "POST", "envkernels", "api", "environments", rec["id"], "fork", body={"dest": "envs/ours"}
    )
    assert status == 201, body
    logged = [json.loads(x) for x in hub_log.read_text().splitlines()]
    assert [(ln["action"], ln["user"], ln["via"]) for ln in logged] == [("fork", user, "rest")]
    status, lines = await api("GET", "envkernels", "api", "history")
    assert status == 200, lines
    forks = [ln for ln in lines if ln["action"] == "fork"]
    assert {ln["environment"]["prefix"] for ln in forks} == {
        rec["prefix"],
        str(jp_root_dir / "envs" / "ours"),
    }
    assert all(ln["user"] == user and ln["via"] == "rest" for ln in forks)
    status, own = await api("GET", "envkernels", "api", "history", params={"env": body["environment"]["id"]})
    assert status == 200 and sorted(ln["action"] for ln in own) == ["fork", "sync"]
    status, missing = await api("GET", "envkernels", "api", "history", params={"env": "no-such-id"})
    assert status == 404 and missing["hint"]


async def test_a_kernel_whose_overlay_cannot_be_built_is_409_with_the_cause_and_the_admin_fix(
    api: Any, untouched: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in {
        "UV_OFFLINE": "1",
        "UV_CACHE_DIR": str(tmp_path / "empty-uv-cache"),
        "UV_INDEX_URL": "http://127.0.0.1:9/simple",
    }.items():
        monkeypatch.setenv(key, value)
    rec = await _team_record(api)
    assert rec["has_ipykernel"] is False
    status, body = await api("POST", "api", "kernels", body={"name": rec["kernel_name"]})
    assert status == 409, body
    text = json.dumps(body)
    assert "offline" in text and "envkernels kernels prepare" in text and "overlay_dirs" in text
    assert "exited with" not in text  # the cause in words, not uv's raw message
