"""REST sync installs only pinned releases from the server's own index unless the administrator allows more.

A lock naming an editable directory, or a pylock whose files live at another origin (a local
index on 127.0.0.1 that is not the server's), is shown in the dry run with what would be refused,
and applying it is 403 ``source-not-allowed`` with nothing changed. With
``allow_direct_sources`` the same request applies.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from api_helpers import env_ids

from envfactory import freeze, make_venv


@pytest.fixture
def target(late_root: Path) -> Path:
    """A mutable venv in the server's late root: six 1.16.0 only."""
    return make_venv(late_root / "target", ["six==1.16.0"])


def _project(root: Path) -> None:
    (root / "proj" / "proj").mkdir(parents=True)
    (root / "proj" / "proj" / "__init__.py").write_text("")
    (root / "proj" / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.3.0"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )


async def test_an_editable_directory_is_shown_refused_then_allowed_by_the_administrator(
    api, jp_serverapp, jp_root_dir: Path, target: Path
) -> None:
    _project(jp_root_dir)
    (jp_root_dir / "requirements.txt").write_text("six==1.16.0\n-e ./proj\n")
    await api("POST", "environments", "refresh")
    env_id = (await env_ids(api))["target"]
    before = freeze(target)

    status, data = await api(
        "POST", "environments", env_id, "sync", body={"lock": "requirements.txt", "dry_run": True}
    )
    assert status == 200, data
    assert data["refused"] == [{"name": "proj", "kind": "editable", "where": "./proj"}]
    assert "[editable: ./proj]" in data["text"]

    status, data = await api(
        "POST", "environments", env_id, "sync", body={"lock": "requirements.txt", "dry_run": False}
    )
    assert status == 403, data
    assert data["reason"] == "source-not-allowed" and "proj" in data["message"]
    assert "allow_direct_sources" in data["hint"]
    assert freeze(target) == before

    # What `c.EnvKernelsApp.allow_direct_sources = True` gives the service (its config is frozen
    # from the traits when the extension starts).
    app = next(iter(jp_serverapp.extension_manager.extension_apps["envkernels"]))
    app.service.config = dataclasses.replace(app.service.config, allow_direct_sources=True)
    status, data = await api(
        "POST", "environments", env_id, "sync", body={"lock": "requirements.txt", "dry_run": False}
    )
    assert status == 200, data
    assert "proj" in freeze(target)


async def test_a_pylock_from_another_index_is_refused(
    api, jp_root_dir: Path, target: Path, small_env: Path, local_index: str
) -> None:
    from envkernels.discovery.probe import environment_from_prefix
    from envkernels.lockfiles.writer import lock_environment

    # The lock's files are on a local index (127.0.0.1), which is not this server's index.
    lock_environment(
        environment_from_prefix(small_env), output=str(jp_root_dir / "pylock.toml"), index_url=local_index
    )
    await api("POST", "environments", "refresh")
    env_id = (await env_ids(api))["target"]
    before = freeze(target)
    status, data = await api(
        "POST", "environments", env_id, "sync", body={"lock": "pylock.toml", "dry_run": True}
    )
    assert status == 200, data
    origin = local_index.rsplit("/simple", 1)[0]
    assert {(s["name"], s["kind"], s["where"]) for s in data["refused"]} == {
        ("six", "index", origin),
        ("idna", "index", origin),
    }
    status, data = await api(
        "POST", "environments", env_id, "sync", body={"lock": "pylock.toml", "dry_run": False}
    )
    assert status == 403 and data["reason"] == "source-not-allowed" and origin in data["message"]
    assert freeze(target) == before


def test_the_traits_are_off_by_default() -> None:
    from envkernels.server.app import EnvKernelsApp

    app = EnvKernelsApp()
    assert app.allow_direct_sources is False and app.allow_builds is False
