"""A real jupyter_server starts a kernel named with another machine's hash in the local project env.

``POST /api/kernels {"name": "envk-<kind>-<slug>-deadbeef"}`` is what JupyterLab sends for a
notebook whose ``metadata.kernelspec.name`` was saved on a machine where the project lived at
another path. The project is a real uv-made ``.venv`` with ipykernel, under tmp.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kernelhelpers import env_at
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from envfactory import make_venv


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``projects/myproject/.venv`` (ipykernel) on this machine."""
    root = tmp_path_factory.mktemp("portable-projects")
    proj = root / "myproject"
    proj.mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "myproject"\nversion = "0.1"\n')
    make_venv(proj / ".venv", ["ipykernel"])
    return root


@pytest.fixture
def jp_server_config(khome: Path, projects: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"envkernels": False},
                "kernel_spec_manager_class": "envkernels.kernels.manager.EnvKernelSpecManager",
            },
            "EnvKernelSpecManager": {"roots": [str(projects)], "default_roots": False},
        }
    )


def foreign(prefix: Path) -> str:
    env = env_at(prefix)
    return f"envk-{env.kind}-myproject-deadbeef"


async def test_kernelspec_of_a_foreign_name_is_the_local_envs(
    no_pythonpath: None, jp_fetch: Any, projects: Path
) -> None:
    prefix = projects / "myproject" / ".venv"
    response = await jp_fetch("api", "kernelspecs", foreign(prefix))
    model = json.loads(response.body)
    assert model["name"] == foreign(prefix)
    assert model["spec"]["metadata"]["envkernels"]["prefix"] == str(prefix.resolve())
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("api", "kernelspecs", "envk-uv-nosuchproject-deadbeef")
    assert info.value.code == 404


@pytest.mark.slow
async def test_post_kernels_with_a_foreign_name_runs_in_the_local_project_env(
    no_pythonpath: None, jp_fetch: Any, jp_serverapp: Any, projects: Path
) -> None:
    prefix = projects / "myproject" / ".venv"
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": foreign(prefix)}))
    model = json.loads(response.body)
    assert model["name"] == foreign(prefix)  # the notebook keeps the name it was saved with
    km = jp_serverapp.kernel_manager.get_kernel(model["id"])
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=180)
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = await kc.execute_interactive("import sys; print(sys.prefix)", output_hook=hook, timeout=60)
        assert reply["content"]["status"] == "ok"
        assert "".join(out).strip() == str(prefix.resolve())
    finally:
        kc.stop_channels()
        await jp_fetch("api", "kernels", model["id"], method="DELETE")
