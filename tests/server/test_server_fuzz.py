"""No 500s: damaged lockfiles and notebooks, odd request bodies and odd paths through the REST API.

The Hypothesis examples run in a worker thread (Hypothesis drives a plain function); each request
is sent on the test's event loop to the real jupyter_server of pytest-jupyter. Every answer is a
result or ``{"message", "hint", "reason"}`` with 400/403/404/409/413, never 500.
``HYPOTHESIS_PROFILE=long`` runs thousands of examples.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from api_helpers import env_ids
from hypothesis import given
from hypothesis import strategies as st

from fuzz_mutations import SEED_IDS, SEEDS, damaged

ALLOWED = {200, 400, 403, 404, 409, 413}


def _is_json_error(data: object) -> bool:
    return isinstance(data, dict) and set(data) == {"message", "hint", "reason"} and bool(data["message"])


def _check(status: int, data: Any) -> None:
    assert status in ALLOWED, (status, data)
    if status != 200:
        assert _is_json_error(data), data
        assert data["reason"] != "internal-error", data


class _Caller:
    """Sends requests from Hypothesis' thread on the test's event loop."""

    def __init__(self, api: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.api, self.loop = api, loop

    def __call__(self, method: str, *parts: str, **kwargs: Any) -> tuple[int, Any]:
        future = asyncio.run_coroutine_threadsafe(self.api(method, *parts, **kwargs), self.loop)
        status, data = future.result(timeout=120)
        _check(status, data)
        return status, data


@pytest.mark.parametrize("seed", range(len(SEEDS)), ids=SEED_IDS)
async def test_damaged_locks_and_notebooks_through_every_endpoint_are_never_500(
    api: Any, jp_root_dir: Path, seed: int
) -> None:
    env_id = (await env_ids(api))["alpha"]
    call = _Caller(api, asyncio.get_running_loop())
    name = SEEDS[seed][0]

    @given(raw=damaged(seed), endpoint=st.sampled_from(["check", "sync", "diff", "notebook", "lock"]))
    def run(raw: bytes, endpoint: str) -> None:
        (jp_root_dir / name).write_bytes(raw)
        if endpoint == "check":
            call("GET", "environments", env_id, "check", params={"lock": name})
        elif endpoint == "sync":
            call("POST", "environments", env_id, "sync", body={"lock": name, "dry_run": True})
        elif endpoint == "diff":
            call("GET", "environments", env_id, "diff", params={"lock": name})
        elif endpoint == "notebook" and name.endswith(".ipynb"):
            call("GET", "environments", env_id, "check", params={"notebook": name})
        elif endpoint == "lock" and name.endswith(".ipynb"):
            call(
                "POST",
                "environments",
                env_id,
                "lock",
                body={"path": "pylock.toml", "notebook": name, "hashes": False},
            )

    await asyncio.to_thread(run)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.sampled_from(["\ud800", "x" * 300, "a/" * 2000, "../" * 5, "\x00", "pylock.toml", "pyproject.toml"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=8,
)
BODY = st.one_of(
    st.dictionaries(st.sampled_from(["path", "lock", "notebook", "dry_run", "hashes"]), JSON, max_size=4),
    JSON,
)


async def test_odd_request_bodies_to_lock_and_sync_are_never_500(api: Any) -> None:
    env_id = (await env_ids(api))["alpha"]
    call = _Caller(api, asyncio.get_running_loop())

    @given(body=BODY, endpoint=st.sampled_from(["lock", "sync"]))
    def run(body: Any, endpoint: str) -> None:
        if endpoint == "lock" and isinstance(body, dict):
            body.setdefault("hashes", False)  # no index asked: the answer is about the request
        if endpoint == "sync" and isinstance(body, dict):
            body["dry_run"] = True
        raw = json.dumps(body, ensure_ascii=True).encode()
        call("POST", "environments", env_id, endpoint, raw=raw)

    await asyncio.to_thread(run)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"path": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # deeper than json's recursion
        json.dumps({"path": "x" * 300 + ".toml"}).encode(),  # a file name longer than NAME_MAX
        json.dumps({"path": "pylock\ud800.toml"}, ensure_ascii=True).encode(),  # a lone surrogate
        json.dumps({"path": "pylock.toml", "notebook": "\ud800.ipynb"}, ensure_ascii=True).encode(),
        b'{"path": "pylock.toml", "hashes": false, "notebook": "' + b"d/" * 3000 + b'x.ipynb"}',
    ],
    ids=["deep-json", "long-name", "surrogate-path", "surrogate-notebook", "long-path"],
)
async def test_known_bad_requests_are_400_not_500(api: Any, raw: bytes) -> None:
    env_id = (await env_ids(api))["alpha"]
    for endpoint in ("lock", "sync"):
        status, data = await api("POST", "environments", env_id, endpoint, raw=raw)
        assert status in (400, 403, 404), (status, data)
        assert _is_json_error(data)
    status, data = await api("GET", "environments", env_id, "check", params={"lock": "x" * 300})
    assert status in (400, 404) and _is_json_error(data)


async def test_a_notebook_whose_metadata_is_a_list_is_400(api: Any, jp_root_dir: Path) -> None:
    env_id = (await env_ids(api))["alpha"]
    nb = {"cells": [], "metadata": [], "nbformat": 4, "nbformat_minor": 5}
    (jp_root_dir / "odd.ipynb").write_text(json.dumps(nb, indent=1) + "\n")
    before = (jp_root_dir / "odd.ipynb").read_bytes()
    for method, parts, kwargs in (
        ("POST", ("sync",), {"body": {"lock": "odd.ipynb"}}),
        ("GET", ("check",), {"params": {"notebook": "odd.ipynb"}}),
        ("POST", ("lock",), {"body": {"path": "pylock.toml", "notebook": "odd.ipynb", "hashes": False}}),
    ):
        status, data = await api(method, "environments", env_id, *parts, **kwargs)
        assert status in (200, 400), (parts, status, data)
        if status == 400:
            assert _is_json_error(data)
    assert (jp_root_dir / "odd.ipynb").read_bytes() == before
