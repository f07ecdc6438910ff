"""A real JupyterHub with LocalProcessSpawner and real OS users (created here, removed afterwards).

Needs root (to create users and for the hub to switch to them) and ``useradd``; skipped with the
reason otherwise. Each user's server runs as that user from a venv of a Python every user can run
(envkernels installed from this checkout), as a system-wide JupyterHub install would. Kernels run
as the user's uid from the shared environment and from the user's own; a venv built on an
interpreter the user cannot execute (one in root's private directory) is reported as a permission
problem, never offered as a kernel, and never given a hint that would destroy it; the shared root is
untouched.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jupyterhub
import pytest
from hubenvs import (
    make_user_home,
    public_python,
    readable_by_all,
    rebase_on_private_python,
    spawner_environment,
)
from hubharness import Hub, snapshot

from envfactory import make_venv, uv

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ROLES = ("alice", "bob")


def admin_config(users: dict[str, str], environment: dict[str, str]) -> str:
    """A plain JupyterHub with system users (docs/jupyterhub.md); users' homes come from the system."""
    allowed = ", ".join(repr(name) for name in users.values())
    return f"""\
# --- users and how their servers start ---
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.Authenticator.allowed_users = {{{allowed}}}
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"

# --- envkernels: the team's shared environments and the prepared ipykernel overlay ---
c.Spawner.environment = {json.dumps(environment, indent=4)}
"""


@pytest.fixture(scope="module")
def os_users(hub_area: Path) -> Iterator[dict[str, str]]:
    """Two real OS users (role -> login name), created with useradd and removed with userdel."""
    if os.geteuid() != 0:
        pytest.skip("creating OS users and spawning servers as them needs root")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("useradd/userdel are not installed")
    suffix = secrets.token_hex(3)
    users = {role: f"ek{role}{suffix}" for role in ROLES}
    created = []
    (hub_area / "users").mkdir(exist_ok=True)
    try:
        for name in users.values():
            home = hub_area / "users" / name
            subprocess.run(
                [
                    "useradd",
                    "--create-home",
                    "--home-dir",
                    str(home),
                    "--shell",
                    "/bin/sh",
                    "--user-group",
                    name,
                ],
                check=True,
                capture_output=True,
            )
            created.append(name)
        yield users
    finally:
        for name in created:  # only the users this fixture created
            subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


@pytest.fixture(scope="module")
def server_python(hub_area: Path) -> str:
    """A venv every user can run, holding jupyterhub and envkernels (editable, from this checkout)."""
    base = public_python()
    if base is None:
        pytest.skip("no Python >= 3.10 that every user may run (all are under private directories)")
    if not readable_by_all(REPO / "src" / "envkernels" / "__init__.py"):
        pytest.skip(f"the checkout {REPO} cannot be read by other users, so their servers cannot import it")
    prefix = hub_area / "server-venv"
    uv("venv", str(prefix), "--python", base, "--quiet")
    python = str(prefix / "bin" / "python")
    uv(
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        "-e",
        str(REPO),
        f"jupyterhub=={jupyterhub.__version__}",
    )
    return python


def chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in [*dirnames, *filenames])]:
            os.lchown(name, entry.pw_uid, entry.pw_gid)


@pytest.fixture(scope="module")
def private_python(hub_area: Path) -> Path:
    """A ``bin/`` with a Python in a directory only root may enter (like ``/root/.pyenv``)."""
    private = hub_area / "root-private"
    (private / "python" / "bin").mkdir(parents=True)
    private.chmod(0o700)
    base = public_python() or os.path.realpath(sys.executable)
    (private / "python" / "bin" / "python3").symlink_to(os.path.realpath(base))
    return private / "python" / "bin"


@pytest.fixture(scope="module")
def homes(os_users: dict[str, str], hub_area: Path, private_python: Path) -> dict[str, dict[str, Path]]:
    made = {}
    for name in os_users.values():
        home = hub_area / "users" / name
        envs = make_user_home(home, name)
        # A venv made from a Python the user cannot execute (another user's private directory).
        envs["unrunnable"] = make_venv(home / "legacy-env", python=public_python())
        rebase_on_private_python(envs["unrunnable"], private_python)
        chown_tree(home, name)
        made[name] = envs
    return made


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
    os_users: dict[str, str],
    homes: Any,
    server_python: str,
    shared_before: Any,
) -> Iterator[Hub]:
    workdir = hub_area / "hub-os-users"
    workdir.mkdir()
    environment = spawner_environment(shared_root, overlays, history_log, local_index)
    hub = Hub(workdir, admin_config(os_users, environment), python=server_python)
    hub.start()
    try:
        for name in os_users.values():
            hub.start_server(name)
        for name in os_users.values():
            hub.wait_ready(name)
        yield hub
    finally:
        hub.stop()


def environments(hub: Hub, user: str) -> list[dict[str, Any]]:
    status, envs = hub.user_api(user, "GET", "envkernels/api/environments")
    assert status == 200, envs
    return list(envs)


def offered(hub: Hub, user: str) -> dict[str, str]:
    """Prefix -> kernel name of what ``user``'s server offers."""
    status, specs = hub.user_api(user, "GET", "api/kernelspecs")
    assert status == 200, specs
    found = {}
    for name, model in specs["kernelspecs"].items():
        prefix = ((model["spec"].get("metadata") or {}).get("envkernels") or {}).get("prefix")
        if prefix:
            found[prefix] = name
    return found


def test_servers_and_kernels_run_as_the_users_uid(
    hub: Hub, os_users: dict[str, str], homes: dict[str, dict[str, Path]], shared_root: Path
) -> None:
    for name in os_users.values():
        uid = pwd.getpwnam(name).pw_uid
        kernels = offered(hub, name)
        # team-min has no ipykernel: the prepared overlay (0644/0755) serves the user's kernel.
        for prefix in (shared_root / "team-ds", shared_root / "team-min", homes[name]["project"]):
            real = os.path.realpath(prefix)
            assert real in kernels, f"{name} is not offered {real}"
            out = hub.run_code(name, kernels[real], "import os, sys; print(os.getuid(), sys.prefix)").split()
            assert out == [str(uid), real]


def test_each_user_sees_the_shared_root_and_only_their_own(
    hub: Hub, os_users: dict[str, str], homes: dict[str, dict[str, Path]], shared_root: Path, hub_area: Path
) -> None:
    for name in os_users.values():
        others = [n for n in os_users.values() if n != name]
        prefixes = {e["prefix"] for e in environments(hub, name)}
        assert os.path.realpath(shared_root / "team-ds") in prefixes
        assert os.path.realpath(shared_root / "team-min") in prefixes
        assert {os.path.realpath(p) for p in homes[name].values()} <= prefixes
        for other in others:
            theirs = os.path.realpath(hub_area / "users" / other) + os.sep
            assert not [p for p in prefixes if p.startswith(theirs)]


def test_an_interpreter_the_user_cannot_run_is_a_permission_problem(
    hub: Hub, os_users: dict[str, str], homes: dict[str, dict[str, Path]], private_python: Path
) -> None:
    for name in os_users.values():
        prefix = os.path.realpath(homes[name]["unrunnable"])
        record = next(e for e in environments(hub, name) if e["prefix"] == prefix)
        assert record["status"] == "broken", record
        # The cause in words: the interpreter, the user, the step that is refused (root's private dir).
        private = os.path.realpath(private_python.parent.parent)
        assert f"cannot be run by user `{name}`" in record["problem"], record
        assert f"no search (x) permission on `{private}` (Permission denied)" in record["problem"], record
        assert "namei -l" in (record.get("hint") or ""), record
        hint = record.get("hint") or ""
        for destructive in ("--clear", "rm -rf", "rm -r", "recreate", "delete"):
            assert destructive not in hint, record
        assert prefix not in offered(hub, name)


def test_a_real_user_forks_a_shared_environment_and_the_log_names_them(
    hub: Hub, os_users: dict[str, str], shared_root: Path, hub_area: Path, history_log: Path
) -> None:
    """The fork runs as the user (their uv, their HOME); the 0622 server-wide log takes their line."""
    name = os_users["alice"]
    team_min = os.path.realpath(shared_root / "team-min")
    team = next(e for e in environments(hub, name) if e["prefix"] == team_min)
    status, body = hub.user_api(
        name, "POST", f"envkernels/api/environments/{team['id']}/fork", {"dest": "forks/team-min"}
    )
    assert status == 201, body
    prefix = Path(body["environment"]["prefix"])
    assert prefix == hub_area / "users" / name / "forks" / "team-min"
    assert prefix.stat().st_uid == pwd.getpwnam(name).pw_uid
    kernel = offered(hub, name)[str(prefix)]
    out = hub.run_code(name, kernel, "import os, sys; print(os.getuid(), sys.prefix)").split()
    assert out == [str(pwd.getpwnam(name).pw_uid), str(prefix)]
    logged = [json.loads(line) for line in history_log.read_text().splitlines()]
    mine = [h for h in logged if h["user"] == name]
    assert [(h["action"], h["result"], h["environment"]["prefix"]) for h in mine] == [
        ("fork", "created", team_min)
    ]
    assert oct(history_log.stat().st_mode & 0o777) == "0o622"  # still only appendable by users


def test_the_shared_root_is_untouched(
    hub: Hub, os_users: dict[str, str], shared_root: Path, shared_before: dict[str, tuple[int, int, int]]
) -> None:
    for name in os_users.values():
        environments(hub, name)
    assert snapshot(shared_root) == shared_before
