"""The project of a notebook a kernel starts for, or that is opened, is searched (kernels/notebooks.py).

A real jupyter_server (pytest-jupyter) with the envkernels extension, serving a folder whose root
walk cannot reach two projects: one deeper than the walk goes (``a/b/c/d/deep``), one inside a
folder the walk skips (``web/node_modules/tool``). Each has its own uv venv. Starting a kernel
for a notebook of the first (a session, as JupyterLab makes one) starts that project's own
environment; opening a notebook of the second (the contents API) offers its environment.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from kernelhelpers import env_at
from traitlets.config import Config

from envfactory import make_venv
from envkernels.kernels.notebooks import NotebookProjects, notebook_project


def _notebook(path: Path, kernel_name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = {
        "cells": [],
        "metadata": {"kernelspec": {"name": kernel_name, "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


def _project(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text(f'[project]\nname = "{path.name}"\nversion = "0.1.0"\n')
    make_venv(path / ".venv", ["ipykernel"])
    return path


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The folder the server serves, with two projects its root walk does not reach."""
    root = tmp_path / "served"
    _project(root / "a" / "b" / "c" / "d" / "deep")
    _project(root / "web" / "node_modules" / "tool")
    return root


@pytest.fixture
def jp_root_dir(served: Path) -> Path:
    return served


@pytest.fixture
def jp_server_config(khome: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"envkernels": True},
                "kernel_spec_manager_class": "envkernels.kernels.manager.EnvKernelSpecManager",
            },
            "EnvKernelsApp": {"default_roots": False},
            "EnvKernelSpecManager": {"default_roots": False, "refresh_interval": 0.0},
        }
    )


async def _names(jp_fetch: Any) -> set[str]:
    response = await jp_fetch("api", "kernelspecs", method="GET")
    return set(json.loads(response.body)["kernelspecs"])


async def test_a_kernel_started_for_a_notebook_deeper_than_the_walk_runs_its_projects_env(
    no_pythonpath: None, jp_fetch: Any, jp_serverapp: Any, served: Path
) -> None:
    deep = served / "a" / "b" / "c" / "d" / "deep"
    name = env_at(deep / ".venv").kernel_name
    _notebook(deep / "notebooks" / "analysis.ipynb", name)
    jp_serverapp.kernel_spec_manager.refresh()  # the root walk is done: what it found is listed
    assert name not in await _names(jp_fetch)
    body = {
        "path": "a/b/c/d/deep/notebooks/analysis.ipynb",
        "type": "notebook",
        "name": "analysis.ipynb",
        "kernel": {"name": name},
    }
    response = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    assert response.code == 201
    session = json.loads(response.body)
    try:
        assert session["kernel"]["name"] == name
        kernel = jp_serverapp.kernel_manager.get_kernel(session["kernel"]["id"])
        assert kernel.kernel_spec.metadata["envkernels"]["prefix"] == str(deep / ".venv")
        assert name in await _names(jp_fetch)  # offered from now on
        assert jp_serverapp.kernel_spec_manager.notebook_projects() == [str(deep)]
        listed = await jp_fetch("envkernels", "api", "environments", method="GET")  # the panel's list
        records = json.loads(listed.body)
        assert str(deep / ".venv") in {r["prefix"] for r in records}
    finally:
        await jp_fetch("api", "sessions", session["id"], method="DELETE")


async def test_opening_a_notebook_in_a_skipped_folder_offers_its_projects_env(
    no_pythonpath: None, jp_fetch: Any, jp_serverapp: Any, served: Path
) -> None:
    tool = served / "web" / "node_modules" / "tool"
    name = env_at(tool / ".venv").kernel_name
    _notebook(tool / "demo.ipynb", "python3")
    jp_serverapp.kernel_spec_manager.refresh()
    assert name not in await _names(jp_fetch)
    opened = await jp_fetch("api", "contents", "web", "node_modules", "tool", "demo.ipynb", method="GET")
    assert json.loads(opened.body)["type"] == "notebook"
    deadline = time.monotonic() + 60  # searched in the background: asked until it is there
    while name not in await _names(jp_fetch) and time.monotonic() < deadline:
        await _sleep()
    assert name in await _names(jp_fetch)


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.2)


def test_a_notebook_project_is_never_looked_for_above_the_server_root(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    (outer / "served" / "notes").mkdir(parents=True)
    (outer / "pyproject.toml").write_text('[project]\nname = "outer"\nversion = "0"\n')
    assert notebook_project(str(outer / "served" / "notes"), str(outer / "served")) is None
    assert notebook_project(str(outer / "served" / "notes"), str(outer)) == str(outer)
    assert notebook_project(str(tmp_path / "elsewhere"), str(outer / "served")) is None

    class Manager:
        def __init__(self) -> None:
            self.asked: list[str] = []

        def add_notebook_project(self, project: str) -> bool:
            self.asked.append(project)
            return True

    manager = Manager()
    projects = NotebookProjects(manager, str(outer / "served"), log=None)  # type: ignore[arg-type]
    assert projects.notice("../pyproject.toml/../notes", False) is False  # climbs out: nothing asked
    assert projects.notice("notes/x.ipynb", True) is False
    assert manager.asked == []
