"""A real jupyter_server (pytest-jupyter) with EnvKernelSpecManager: listing, logos, REST kernel starts."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from kernelhelpers import env_at
from tornado.httpclient import HTTPClientError

from envfactory import make_venv

PY = f"{sys.version_info.major}.{sys.version_info.minor}"  # the session envs' Python


async def get_json(jp_fetch: Any, *parts: str) -> Any:
    response = await jp_fetch(*parts, method="GET")
    return json.loads(response.body)


async def test_api_kernelspecs_lists_every_environment_with_its_logo(
    no_pythonpath: None, jp_fetch: Any, kroot: Path
) -> None:
    model = await get_json(jp_fetch, "api", "kernelspecs")
    specs = model["kernelspecs"]
    assert "python3" in specs
    for name in ("withipk", "bare", "condaish"):
        env = env_at(kroot / name)
        spec = specs[env.kernel_name]
        assert spec["spec"]["display_name"] == f"Python {PY} ({env.kind}: {name})"
        assert spec["spec"]["metadata"]["envkernels"]["id"] == env.id
        assert "logo-svg" in spec["resources"]
    one = await get_json(jp_fetch, "api", "kernelspecs", env_at(kroot / "bare").kernel_name)
    assert one["spec"]["metadata"]["envkernels"]["has_ipykernel"] is False
    # The listing leaves launch detail out; the single spec (what a launch uses) carries it.
    assert "env" not in specs[env_at(kroot / "bare").kernel_name]["spec"]
    assert one["spec"]["env"]["ENVKERNELS_ENV_PREFIX"] == str(kroot / "bare")
    logo = await jp_fetch("kernelspecs", env_at(kroot / "condaish").kernel_name, "logo-svg.svg", method="GET")
    assert logo.body.startswith(b"<svg")


async def test_logos_are_served_from_the_warm_listing_without_a_rebuild(
    no_pythonpath: None, jp_fetch: Any, jp_serverapp: Any, kroot: Path
) -> None:
    ksm = jp_serverapp.kernel_spec_manager
    specs = (await get_json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    calls: list[str] = []
    original = ksm.build_listing

    def counting(*args: Any, **kwargs: Any) -> Any:
        # envkernels' own background threads may refresh at any time; a request must not rebuild.
        name = threading.current_thread().name
        if not name.startswith(("envkernels-prewarm", "envkernels-refresh")):
            calls.append(name)
        return original(*args, **kwargs)

    ksm.build_listing = counting
    for name in ("withipk", "bare", "condaish"):
        kernel = env_at(kroot / name).kernel_name
        logo = await jp_fetch("kernelspecs", kernel, "logo-svg.svg", method="GET")
        assert logo.body.startswith(b"<svg") and logo.headers["Content-Type"] == "image/svg+xml"
        assert specs[kernel]["resources"]["logo-svg"].endswith(f"/kernelspecs/{kernel}/logo-svg.svg")
    assert calls == []
    with pytest.raises(HTTPClientError) as info:  # only the resource files found are served
        bare = env_at(kroot / "bare").kernel_name
        await jp_fetch("kernelspecs", bare, "..%2F..%2Fmanager.py", method="GET")
    assert info.value.code in (403, 404)


async def test_new_environment_is_listed_without_a_restart(
    no_pythonpath: None, jp_fetch: Any, late_root: Path
) -> None:
    before = (await get_json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    make_venv(late_root / "newcomer")
    name = env_at(late_root / "newcomer").kernel_name
    # The listing is served warm and rebuilt in the background: a request soon after shows it.
    for _ in range(100):
        after = (await get_json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
        if name in after:
            break
        await asyncio.sleep(0.05)
    assert name not in before and name in after


@pytest.mark.slow
async def test_kernel_started_through_rest_runs_in_its_environment(
    no_pythonpath: None, jp_fetch: Any, jp_serverapp: Any, kroot: Path
) -> None:
    name = env_at(kroot / "withipk").kernel_name
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    kernel_id = json.loads(response.body)["id"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=180)
        out, reply = await _execute_async(kc, "import sys; print(sys.prefix)")
        assert reply["status"] == "ok"
        assert out.strip() == str(kroot / "withipk")
    finally:
        kc.stop_channels()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def _execute_async(kc: Any, code: str) -> tuple[str, dict[str, Any]]:
    """The async client's execute_interactive (the server's kernel managers are async)."""
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = await kc.execute_interactive(code, output_hook=hook, timeout=60)
    return "".join(out), reply["content"]


async def test_broken_environment_is_not_offered_and_a_start_by_name_says_why(
    no_pythonpath: None, jp_fetch: Any, broken_root: Path
) -> None:
    name = env_at(broken_root / "dangling").kernel_name
    specs = (await get_json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    assert name not in specs and specs  # offered means it starts
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    assert info.value.code == 409
    body = json.loads(info.value.response.body)
    assert "is broken" in body["message"] and "hint:" in body["message"]
