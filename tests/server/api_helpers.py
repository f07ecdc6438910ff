"""Helpers the REST API tests share (a module of its own: ``conftest`` names clash across test dirs)."""

from __future__ import annotations


async def env_ids(api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``{name: id}`` of the environments the server lists."""
    status, data = await api("GET", "environments")
    assert status == 200, data
    return {e["name"]: e["id"] for e in data}
