"""Bad requests get the right status and a JSON ``{"message", "hint", "reason"}``, never a 500.

Unknown ids, paths that leave the server root (``..``, absolute, a symlink leading out),
malformed bodies, a POST without its XSRF token, and a request with no credentials at all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from api_helpers import env_ids
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

UNKNOWN = "venv-nobody-deadbeef"


def _is_json_error(data: object) -> bool:
    return isinstance(data, dict) and set(data) == {"message", "hint", "reason"} and bool(data["message"])


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ()),
        ("GET", ("check",)),
        ("GET", ("audit",)),
        ("GET", ("tree",)),
        ("GET", ("diff",)),
        ("POST", ("lock",)),
        ("POST", ("sync",)),
    ],
)
async def test_unknown_id_is_404_on_every_endpoint(api, method: str, suffix: tuple[str, ...]) -> None:
    body = {"path": "pylock.toml"} if suffix == ("lock",) else {"lock": "pylock.toml", "dry_run": True}
    params = {"other": UNKNOWN} if suffix == ("diff",) else None
    status, data = await api(method, "environments", UNKNOWN, *suffix, body=body, params=params)
    assert status == 404, data
    assert _is_json_error(data) and UNKNOWN in data["message"]


@pytest.mark.parametrize("bad_path", ["../../etc/passwd", "/etc/passwd", "sub/../../out.toml", "~/x.toml"])
async def test_lock_path_outside_the_root_is_403_and_nothing_is_written(
    api, jp_root_dir: Path, bad_path: str
) -> None:
    ids = await env_ids(api)
    before = sorted(os.listdir(jp_root_dir.parent))
    status, data = await api("POST", "environments", ids["alpha"], "lock", body={"path": bad_path})
    assert status == 403, data
    assert _is_json_error(data) and data["reason"] == "outside-root"
    assert sorted(os.listdir(jp_root_dir.parent)) == before


async def test_a_symlink_leading_out_of_the_root_is_403(api, jp_root_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (jp_root_dir / "escape").symlink_to(outside)
    ids = await env_ids(api)
    status, data = await api(
        "POST", "environments", ids["alpha"], "lock", body={"path": "escape/pylock.toml"}
    )
    assert status == 403 and data["reason"] == "outside-root"
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("param", ["lock", "notebook"])
async def test_check_with_a_traversal_query_path_is_403(api, param: str) -> None:
    ids = await env_ids(api)
    status, data = await api("GET", "environments", ids["alpha"], "check", params={param: "../../etc/passwd"})
    assert status == 403 and _is_json_error(data)


async def test_sync_and_diff_lock_outside_the_root_are_403(api) -> None:
    ids = await env_ids(api)
    status, data = await api(
        "POST", "environments", ids["alpha"], "sync", body={"lock": "../../etc/passwd", "dry_run": True}
    )
    assert status == 403 and _is_json_error(data)
    status, data = await api("GET", "environments", ids["alpha"], "diff", params={"lock": "/etc/passwd"})
    assert status == 403 and _is_json_error(data)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"pylock.toml"', b"\xff\xfe"])
async def test_malformed_json_bodies_are_400(api, raw: bytes) -> None:
    ids = await env_ids(api)
    for endpoint in ("lock", "sync"):
        status, data = await api("POST", "environments", ids["alpha"], endpoint, raw=raw)
        assert status == 400, (endpoint, raw, data)
        assert _is_json_error(data) and data["reason"] == "bad-json"


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("lock", {}),
        ("lock", {"path": 42}),
        ("lock", {"path": "pylock.toml", "hashes": "yes"}),
        ("sync", {"dry_run": True}),
        ("sync", {"lock": "pylock.toml", "dry_run": "no"}),
    ],
)
async def test_bodies_with_missing_or_mistyped_fields_are_400(api, endpoint: str, body: dict) -> None:
    ids = await env_ids(api)
    status, data = await api("POST", "environments", ids["alpha"], endpoint, body=body)
    assert status == 400, data
    assert _is_json_error(data) and data["hint"]


async def test_sync_from_a_lock_that_does_not_exist_is_404(api) -> None:
    ids = await env_ids(api)
    status, data = await api("POST", "environments", ids["alpha"], "sync", body={"lock": "nope/pylock.toml"})
    assert status == 404 and _is_json_error(data)


async def test_unknown_endpoint_under_the_prefix_is_a_json_404(api) -> None:
    status, data = await api("GET", "nothing", "here")
    assert status == 404 and _is_json_error(data)


async def _raw(
    jp_serverapp,
    jp_http_port: int,
    jp_base_url: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> tuple[int, object, dict]:
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}{path}"
    req = HTTPRequest(
        url, method=method, headers=headers, body=body, follow_redirects=False, allow_nonstandard_methods=True
    )
    resp = await AsyncHTTPClient().fetch(req, raise_error=False)
    text = resp.body.decode() if resp.body else ""
    return resp.code, (json.loads(text) if text else None), dict(resp.headers)


async def test_requests_without_any_credentials_are_403_json(
    jp_serverapp, jp_http_port, jp_base_url, http_server_client
) -> None:
    for method, path, body in [
        ("GET", "envkernels/api/environments", None),
        ("POST", "envkernels/api/environments/refresh", b"{}"),
    ]:
        status, data, _ = await _raw(jp_serverapp, jp_http_port, jp_base_url, method, path, {}, body)
        assert status == 403, (method, path, data)
        assert _is_json_error(data)


async def test_a_cookie_authenticated_post_without_xsrf_token_is_403_json(
    jp_serverapp, jp_http_port, jp_base_url, http_server_client
) -> None:
    # Log in the way a browser does (token in the URL once), keep the cookies, then POST
    # without the _xsrf value: the server must refuse it.
    token = jp_serverapp.identity_provider.token
    status, _, headers = await _raw(
        jp_serverapp, jp_http_port, jp_base_url, "GET", f"api/contents?token={token}", {}
    )
    assert status == 200
    cookies = "; ".join(c.split(";", 1)[0] for c in headers.get("Set-Cookie", "").split(",") if "=" in c)
    status, data, _ = await _raw(
        jp_serverapp, jp_http_port, jp_base_url, "GET", "envkernels/api/environments", {"Cookie": cookies}
    )
    assert status == 200, "the login cookie must be valid for the check below to mean anything"
    status, data, _ = await _raw(
        jp_serverapp,
        jp_http_port,
        jp_base_url,
        "POST",
        "envkernels/api/environments/refresh",
        {"Cookie": cookies},
        b"{}",
    )
    assert status == 403
    assert _is_json_error(data) and "xsrf" in data["message"].lower()
