"""A real JupyterHub (DummyAuthenticator + SimpleLocalProcessSpawner) with two users and a shared root.

One hub for the module: alice and bob each have a home with their own uv environments; the
team's shared root holds two root-owned environments (``team-ds`` with ipykernel, ``team-min``
without) and the administrator has prepared one ipykernel overlay for everyone. Through the hub's
proxy and each user's server REST API (tokens the hub issued), every user sees the shared
environments (marked shared, "team" kernels) and only their own, starts kernels from both (the
one without ipykernel from the prepared overlay, nothing built for the user), alice forks a shared
environment into her home, and the shared root's files (paths, mtimes, modes) are the same after
everything as before. The hub's configuration is the one docs/jupyterhub.md shows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubenvs import make_user_home, spawner_environment
from hubharness import Hub, snapshot

from envfactory import freeze

pytestmark = pytest.mark.slow

USERS = ("alice", "bob")


def admin_config(homes: Path, environment: dict[str, str]) -> str:
    """What an administrator writes for envkernels on a plain JupyterHub (docs/jupyterhub.md)."""
    return f"""\
# --- users and how their servers start ---
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.Authenticator.allowed_users = {{"alice", "bob"}}
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = "{homes}/{{username}}"
c.Spawner.args = ["--ServerApp.allow_root=True"]  # test-only: the tests run as root

# --- envkernels: the team's shared environments and the prepared ipykernel overlay ---
c.Spawner.environment = {json.dumps(environment, indent=4)}
"""


@pytest.fixture(scope="module")
def homes(hub_area: Path) -> dict[str, dict[str, Path]]:
    return {user: make_user_home(hub_area / "home" / user, user) for user in USERS}


@pytest.fixture(scope="module")
def shared_before(shared_root: Path) -> dict[str, tuple[int, int, int]]:
    return snapshot(shared_root)


@pytest.fixture(scope="module")
def hub(
    hub_area: Path,
    shared_root: Path,
    overlays: Path,
    history_log: Path,
    local_index: str,
    homes: dict[str, dict[str, Path]],
    shared_before: Any,
) -> Iterator[Hub]:
    workdir = hub_area / "hub-simple"
    workdir.mkdir()
    environment = spawner_environment(shared_root, overlays, history_log, local_index)
    hub = Hub(workdir, admin_config(hub_area / "home", environment))
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


def record_of(model: dict[str, Any]) -> dict[str, Any]:
    """The environment record a kernelspec model carries (``metadata.envkernels``), {} for others."""
    return dict((model["spec"].get("metadata") or {}).get("envkernels") or {})


def under(envs: list[dict[str, Any]], path: Path) -> set[str]:
    base = os.path.realpath(path) + os.sep
    return {e["prefix"] for e in envs if (e["prefix"] + os.sep).startswith(base)}


def test_each_user_sees_the_shared_environments_and_only_their_own(
    hub: Hub, shared_root: Path, homes: dict[str, dict[str, Path]], hub_area: Path
) -> None:
    shared = {os.path.realpath(shared_root / name) for name in ("team-ds", "team-min")}
    for user in USERS:
        other = next(u for u in USERS if u != user)
        envs = environments(hub, user)
        assert under(envs, shared_root) == shared
        assert all(e["shared"] for e in envs if e["prefix"] in shared)
        own = {os.path.realpath(p) for p in homes[user].values()}
        assert under(envs, hub_area / "home" / user) == own
        assert not [e for e in envs if e["prefix"] in own and e["shared"]]
        assert under(envs, hub_area / "home" / other) == set(), f"{user} sees {other}'s environments"
        # The kernel list agrees: shared ones as "team" kernels, the user's own, nothing of the other's.
        specs = kernelspecs(hub, user)
        by_prefix = {
            (m["spec"].get("metadata") or {}).get("envkernels", {}).get("prefix"): m["spec"]
            for m in specs.values()
        }
        for prefix in shared:
            assert "(team: " in by_prefix[prefix]["display_name"], by_prefix[prefix]["display_name"]
        assert own <= set(by_prefix)
        theirs = os.path.realpath(hub_area / "home" / other) + os.sep
        assert not [p for p in by_prefix if p and p.startswith(theirs)]


def test_kernels_start_from_the_shared_and_the_users_own_environments(
    hub: Hub, shared_root: Path, homes: dict[str, dict[str, Path]], overlays: Path
) -> None:
    """``team-min`` has no ipykernel: its kernels run ipykernel from the prepared overlay, and no
    user builds one (their uv has only the local index, which serves no ipykernel)."""
    code = (
        "import sys, os, ipykernel; print(sys.prefix); print(os.environ['HOME']); print(ipykernel.__file__)"
    )
    for user in USERS:
        for prefix in (shared_root / "team-ds", shared_root / "team-min", homes[user]["project"]):
            out = hub.run_code(user, kernel_for(hub, user, prefix), code).split()
            assert out[0] == os.path.realpath(prefix)
            assert out[1].endswith(f"/home/{user}")
            if prefix.name == "team-min":
                assert out[2].startswith(str(overlays) + os.sep), out[2]
            else:
                assert out[2].startswith(os.path.realpath(prefix) + os.sep), out[2]
        home = Path(out[1])
        assert not (home / ".cache" / "envkernels" / "overlay").exists(), f"{user} built an overlay"


def test_alice_forks_a_shared_environment_into_her_own(hub: Hub, shared_root: Path, hub_area: Path) -> None:
    team = next(
        e for e in environments(hub, "alice") if e["prefix"] == os.path.realpath(shared_root / "team-min")
    )
    status, body = hub.user_api(
        "alice", "POST", f"envkernels/api/environments/{team['id']}/fork", {"dest": "forks/team-min"}
    )
    assert status == 201, body
    fork = body["environment"]
    assert fork["prefix"] == os.path.realpath(hub_area / "home" / "alice" / "forks" / "team-min")
    assert fork["shared"] is False
    assert freeze(fork["prefix"]) == freeze(shared_root / "team-min")
    # hers: listed and started as a kernel for her, never for bob
    assert fork["prefix"] in {e["prefix"] for e in environments(hub, "alice")}
    out = hub.run_code(
        "alice", kernel_for(hub, "alice", Path(fork["prefix"])), "import sys; print(sys.prefix)"
    )
    assert out.strip() == fork["prefix"]
    assert fork["prefix"] not in {e["prefix"] for e in environments(hub, "bob")}


def test_the_fork_is_in_the_audit_trail_with_the_hub_user(
    hub: Hub, shared_root: Path, hub_area: Path, history_log: Path
) -> None:
    """After the fork above: the hub user who asked, over REST, in her history and the server-wide log."""
    team_min = os.path.realpath(shared_root / "team-min")
    status, trail = hub.user_api("alice", "GET", "envkernels/api/history")
    assert status == 200, trail
    forks = [h for h in trail if h["action"] == "fork" and h["result"] == "created"]
    assert forks, trail
    assert {(h["user"], h["via"]) for h in forks} == {("alice", "rest")}
    # The shared environment's line is in the administrator's log, never under the shared root.
    logged = [json.loads(line) for line in history_log.read_text().splitlines()]
    shared_lines = [h for h in logged if h["environment"]["prefix"] == team_min]
    assert [(h["action"], h["user"], h["result"]) for h in shared_lines] == [("fork", "alice", "created")]
    assert shared_lines[0]["environment"]["shared"] is True


def test_the_shared_root_is_untouched(
    hub: Hub, shared_root: Path, shared_before: dict[str, tuple[int, int, int]]
) -> None:
    """Listings, records, kernel starts and a fork later: the same paths, mtimes and modes."""
    for user in USERS:
        environments(hub, user)
    assert snapshot(shared_root) == shared_before
