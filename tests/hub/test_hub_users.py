"""A real JupyterHub (DummyAuthenticator + SimpleLocalProcessSpawner) with two users and a shared root.

One hub for the module: alice and bob each have a home with their own uv environments; the
team's shared root holds one root-owned environment. Through the hub's proxy and each user's
server REST API (tokens the hub issued), every user sees the shared environment and only their
own, starts kernels from both, and the shared root's files (paths, mtimes, modes) are the same
after everything as before. The hub's configuration is the one docs/jupyterhub.md shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubenvs import make_user_home
from hubharness import Hub, snapshot

pytestmark = pytest.mark.slow

USERS = ("alice", "bob")


def admin_config(shared_root: Path, homes: Path) -> str:
    """What an administrator writes for envkernels on a plain JupyterHub (docs/jupyterhub.md)."""
    return f"""\
# --- users and how their servers start ---
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.Authenticator.allowed_users = {{"alice", "bob"}}
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = "{homes}/{{username}}"
c.Spawner.args = ["--ServerApp.allow_root=True"]  # test-only: the tests run as root

# --- envkernels: the team's shared environments, seen by every user ---
c.Spawner.environment = {{"ENVKERNELS_ROOTS": "{shared_root}"}}
"""


@pytest.fixture(scope="module")
def homes(hub_area: Path) -> dict[str, dict[str, Path]]:
    return {user: make_user_home(hub_area / "home" / user, user) for user in USERS}


@pytest.fixture(scope="module")
def shared_before(shared_root: Path) -> dict[str, tuple[int, int, int]]:
    return snapshot(shared_root)


@pytest.fixture(scope="module")
def hub(
    hub_area: Path, shared_root: Path, homes: dict[str, dict[str, Path]], shared_before: Any
) -> Iterator[Hub]:
    workdir = hub_area / "hub-simple"
    workdir.mkdir()
    hub = Hub(workdir, admin_config(shared_root, hub_area / "home"))
    hub.start()
    try:
        for user in USERS:
            hub.start_server(user)  # both spawn at once
        for user in USERS:
            hub.wait_ready(user)
        yield hub
    finally:
        hub.stop()


def environments(hub: Hub, user: str) -> list[dict[str, Any]]:
    status, envs = hub.user_api(user, "GET", "envkernels/api/environments")
    assert status == 200, envs
    return list(envs)


def kernelspecs(hub: Hub, user: str) -> dict[str, Any]:
    status, specs = hub.user_api(user, "GET", "api/kernelspecs")
    assert status == 200, specs
    return dict(specs["kernelspecs"])


def kernel_for(hub: Hub, user: str, prefix: Path) -> str:
    """The kernel name ``user``'s server offers for the environment at ``prefix``."""
    real = os.path.realpath(prefix)
    for name, model in kernelspecs(hub, user).items():
        record = (model["spec"].get("metadata") or {}).get("envkernels") or {}
        if record.get("prefix") == real:
            return str(name)
    raise AssertionError(f"{user}'s server offers no kernel for {real}")


def under(envs: list[dict[str, Any]], path: Path) -> set[str]:
    base = os.path.realpath(path) + os.sep
    return {e["prefix"] for e in envs if (e["prefix"] + os.sep).startswith(base)}


def test_each_user_sees_the_shared_environment_and_only_their_own(
    hub: Hub, shared_root: Path, homes: dict[str, dict[str, Path]], hub_area: Path
) -> None:
    shared = os.path.realpath(shared_root / "team-ds")
    for user in USERS:
        other = next(u for u in USERS if u != user)
        envs = environments(hub, user)
        prefixes = {e["prefix"] for e in envs}
        assert shared in prefixes
        assert under(envs, hub_area / "home" / user) == {os.path.realpath(p) for p in homes[user].values()}
        assert under(envs, hub_area / "home" / other) == set(), f"{user} sees {other}'s environments"
        # The kernel list agrees: the shared one and the user's own are offered, nothing of the other's.
        offered = {
            (m["spec"].get("metadata") or {}).get("envkernels", {}).get("prefix")
            for m in kernelspecs(hub, user).values()
        }
        assert shared in offered
        assert {os.path.realpath(p) for p in homes[user].values()} <= offered
        assert not [p for p in offered if p and p.startswith(os.path.realpath(hub_area / "home" / other))]


def test_kernels_start_from_the_shared_and_the_users_own_environments(
    hub: Hub, shared_root: Path, homes: dict[str, dict[str, Path]]
) -> None:
    code = "import sys, os; print(sys.prefix); print(os.environ['HOME'])"
    for user in USERS:
        for prefix in (shared_root / "team-ds", homes[user]["project"]):
            out = hub.run_code(user, kernel_for(hub, user, prefix), code).split()
            assert out[0] == os.path.realpath(prefix)
            assert out[1].endswith(f"/home/{user}")


def test_the_shared_root_is_untouched(
    hub: Hub, shared_root: Path, shared_before: dict[str, tuple[int, int, int]]
) -> None:
    """Listings, records and two kernel starts per user later: the same paths, mtimes and modes."""
    for user in USERS:
        environments(hub, user)
    assert snapshot(shared_root) == shared_before
