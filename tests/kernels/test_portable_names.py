"""Kernel names from another machine: ``envk-<kind>-<slug>-<foreign hash>`` starts the local environment.

The environments are real uv venvs, made as the ``.venv`` of projects under tmp (this "machine"):
``projects/myproject`` (ipykernel installed) and ``projects/other``; ``extra/myproject`` is a
same-named venv outside any project; ``twins/a/twin`` and ``twins/b/twin`` are two projects of
one name. A notebook saved elsewhere names ``envk-<kind>-myproject-deadbeef``, a hash no local
prefix has. The pure resolver is also checked on records discovery made of these envs, varied
with ``dataclasses.replace`` where a second Python version or a broken twin is needed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_client.manager import KernelManager
from kernelhelpers import env_at
from nbclient import NotebookClient

from envfactory import make_venv
from envkernels.discovery import discover
from envkernels.kernels.manager import EnvKernelSpecManager
from envkernels.kernels.resolve import (
    KernelNameNotResolved,
    environment_hint,
    parse_kernel_name,
    resolve_kernel_name,
)
from envkernels.model import Environment

FOREIGN_HASH = "deadbeef"


def project(root: Path, name: str, packages: list[str] | None = None) -> Path:
    """A project directory with a pyproject.toml and a uv-made ``.venv``; returns the project dir."""
    proj = root / name
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text(f'[project]\nname = "{proj.name}"\nversion = "0.1"\n')
    make_venv(proj / ".venv", packages or [])
    return proj


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This machine's environments (read-only for the tests)."""
    root = tmp_path_factory.mktemp("machine-b")
    project(root / "projects", "myproject", ["ipykernel"])
    project(root / "projects", "other")
    make_venv(root / "extra" / "myproject")  # same kind and name, but no project of that name
    project(root / "twins" / "a", "twin")
    project(root / "twins" / "b", "twin")
    return root


def foreign_name(prefix: Path) -> str:
    """The kernel name the same environment had on another machine (same kind and slug, other hash)."""
    env = env_at(prefix)
    parts = parse_kernel_name(env.kernel_name)
    assert parts is not None and parts.hash8 != FOREIGN_HASH
    return f"envk-{parts.kind}-{parts.slug}-{FOREIGN_HASH}"


def records(*roots: Path) -> list[Environment]:
    return discover(roots=[str(r) for r in roots], default_roots=False)


# ---- the pure resolver ---------------------------------------------------------------------------
def test_parse_kernel_name_splits_kind_slug_and_hash() -> None:
    parts = parse_kernel_name("envk-uv-my-proj.v2-3f2a9c1e")
    assert parts is not None and (parts.kind, parts.slug, parts.hash8) == ("uv", "my-proj.v2", "3f2a9c1e")
    assert parse_kernel_name("python3") is None
    assert parse_kernel_name("envk-nokind-x-3f2a9c1e") is None
    assert parse_kernel_name("envk-uv-x-3f2a9c1") is None  # seven hex digits


def test_foreign_name_resolves_to_the_only_env_of_that_kind_and_slug(machine: Path) -> None:
    mine = machine / "projects" / "myproject" / ".venv"
    env = resolve_kernel_name(foreign_name(mine), records(machine / "projects"))
    assert env.prefix == str(mine.resolve())


def test_project_env_wins_over_same_named_env_outside_a_project(machine: Path) -> None:
    mine = machine / "projects" / "myproject" / ".venv"
    envs = records(machine / "projects", machine / "extra")
    same = [e for e in envs if e.name == "myproject"]
    assert len(same) == 2 and {e.kind for e in same} == {env_at(mine).kind}  # both are candidates
    env = resolve_kernel_name(foreign_name(mine), envs)
    assert env.prefix == str(mine.resolve())


def test_two_projects_of_one_name_are_ambiguous_and_the_error_names_both(machine: Path) -> None:
    a = machine / "twins" / "a" / "twin" / ".venv"
    b = machine / "twins" / "b" / "twin" / ".venv"
    with pytest.raises(NoSuchKernel) as info:
        resolve_kernel_name(foreign_name(a), records(machine / "twins"))
    message = str(info.value)
    assert str(a.resolve()) in message and str(b.resolve()) in message
    assert isinstance(info.value, KernelNameNotResolved) and len(info.value.candidates) == 2


def test_notebook_hint_with_python_version_settles_an_ambiguity(machine: Path) -> None:
    a, b = sorted(records(machine / "twins"), key=lambda e: e.prefix)
    assert a.name == b.name == "twin"
    other_python = dataclasses.replace(b, python_version="3.99.0")
    hint = {
        "lock": "...",
        "environment": {"id": a.id, "kind": a.kind, "name": "twin", "python_version": a.python_version},
    }
    env = resolve_kernel_name(foreign_name(Path(a.prefix)), [a, other_python], hint)
    assert env.prefix == a.prefix


def test_usable_env_wins_over_broken_twin(machine: Path) -> None:
    a, b = sorted(records(machine / "twins"), key=lambda e: e.prefix)
    broken = dataclasses.replace(a, status="broken", problem="interpreter gone")
    env = resolve_kernel_name(foreign_name(Path(a.prefix)), [broken, b])
    assert env.prefix == b.prefix


def test_hint_alone_resolves_a_name_that_is_not_ours(machine: Path) -> None:
    envs = records(machine / "projects")
    mine = env_at(machine / "projects" / "myproject" / ".venv")
    record = {"id": f"{mine.kind}-myproject-{FOREIGN_HASH}", "kind": mine.kind, "name": "myproject"}
    hint = {"environment": record}
    assert environment_hint(hint) == hint["environment"]
    assert resolve_kernel_name("myproject-kernel", envs, hint).prefix == mine.prefix
    with pytest.raises(NoSuchKernel):
        resolve_kernel_name("myproject-kernel", envs)


def test_name_without_any_matching_env_raises_no_such_kernel(machine: Path) -> None:
    envs = records(machine / "projects")
    mine = env_at(machine / "projects" / "myproject" / ".venv")
    with pytest.raises(NoSuchKernel) as info:
        resolve_kernel_name(f"envk-{mine.kind}-nosuchproject-{FOREIGN_HASH}", envs)
    assert "nosuchproject" in str(info.value)
    other_kind = "conda" if mine.kind != "conda" else "pixi"
    with pytest.raises(NoSuchKernel):  # same slug, another kind: not the same environment
        resolve_kernel_name(f"envk-{other_kind}-myproject-{FOREIGN_HASH}", envs)


# ---- through the manager and real kernels ----------------------------------------------------------
@pytest.fixture
def ksm(khome: Path, machine: Path) -> EnvKernelSpecManager:
    roots = [str(machine / "projects"), str(machine / "twins")]
    return EnvKernelSpecManager(roots=roots, default_roots=False)


def test_manager_serves_the_local_spec_for_a_foreign_name_and_logs_the_choice(
    ksm: EnvKernelSpecManager, machine: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = machine / "projects" / "myproject" / ".venv"
    name = foreign_name(mine)
    assert name not in ksm.find_kernel_specs()
    ksm.log = logging.getLogger("test-portable")
    with caplog.at_level(logging.INFO, logger="test-portable"):
        spec = ksm.get_kernel_spec(name)
    assert spec.argv[0] == str(mine.resolve() / "bin" / "python")
    assert spec.metadata["envkernels"]["prefix"] == str(mine.resolve())
    assert any(name in r.getMessage() and str(mine.resolve()) in r.getMessage() for r in caplog.records)
    env = ksm.environment_for(name)
    assert env is not None and env.prefix == str(mine.resolve())


def test_manager_keeps_no_such_kernel_for_unknown_and_ambiguous_names(
    ksm: EnvKernelSpecManager, machine: Path
) -> None:
    with pytest.raises(NoSuchKernel):
        ksm.get_kernel_spec(f"envk-uv-nosuchproject-{FOREIGN_HASH}")
    with pytest.raises(NoSuchKernel):
        ksm.get_kernel_spec("not-a-kernel-anywhere")
    twin = machine / "twins" / "a" / "twin" / ".venv"
    with pytest.raises(NoSuchKernel) as info:
        ksm.get_kernel_spec(foreign_name(twin))
    assert "twins/a/twin" in str(info.value) and "twins/b/twin" in str(info.value)
    assert ksm.environment_for(foreign_name(twin)) is None


def test_hidden_kind_is_not_a_candidate(khome: Path, machine: Path) -> None:
    mine = machine / "projects" / "myproject" / ".venv"
    ksm = EnvKernelSpecManager(
        roots=[str(machine / "projects")], default_roots=False, hidden_kinds=[env_at(mine).kind]
    )
    with pytest.raises(NoSuchKernel):
        ksm.get_kernel_spec(foreign_name(mine))


@pytest.fixture
def kernel_managers() -> Iterator[list[KernelManager]]:
    started: list[KernelManager] = []
    yield started
    for km in started:
        if km.has_kernel:
            km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_notebook_saved_on_another_machine_runs_in_the_local_project_env(
    ksm: EnvKernelSpecManager, machine: Path, tmp_path: Path, kernel_managers: list[KernelManager]
) -> None:
    mine = machine / "projects" / "myproject" / ".venv"
    name = foreign_name(mine)
    path = tmp_path / "analysis.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": name, "display_name": "Python (uv: myproject)", "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    nbformat.write(nb, path)

    saved = nbformat.read(path, as_version=4)
    # Fail fast here (nbclient waits on a kernel that cannot start).
    assert ksm.get_kernel_spec(name).argv[0] == str(mine.resolve() / "bin" / "python")
    km = KernelManager(kernel_name=saved.metadata["kernelspec"]["name"], kernel_spec_manager=ksm)
    kernel_managers.append(km)
    NotebookClient(saved, km=km, timeout=120, startup_timeout=180).execute()
    outputs: list[Any] = saved.cells[0].outputs
    assert outputs and outputs[0]["name"] == "stdout"
    assert outputs[0]["text"].strip() == str(mine.resolve())
    assert saved.metadata["kernelspec"]["name"] == name  # the notebook keeps its portable name


def test_an_unresolvable_name_names_the_closest_local_environments(machine: Path) -> None:
    envs = records(machine / "projects")
    mine = env_at(machine / "projects" / "myproject" / ".venv")
    with pytest.raises(KernelNameNotResolved) as info:
        resolve_kernel_name(f"envk-{mine.kind}-myprojekt-{FOREIGN_HASH}", envs)
    assert info.value.candidates == ()
    assert info.value.closest and info.value.closest[0].prefix == mine.prefix  # the most alike first
    assert f"closest here: {mine.kernel_name} ({mine.kind}: {mine.prefix})" in str(info.value)
    with pytest.raises(KernelNameNotResolved, match="no environment is offered as a kernel here"):
        resolve_kernel_name(f"envk-{mine.kind}-myprojekt-{FOREIGN_HASH}", [])
