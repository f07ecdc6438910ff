"""Fixtures for the REST API tests: a real jupyter_server (pytest-jupyter) over real uv-made envs.

The environments are built once per session with uv (read-only for the tests); the server's
roots point at them and the default places are switched off, so nothing of the machine leaks in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) for this directory only: as a global
# plugin its autouse fixtures would run around every test of the suite.
from pytest_jupyter.jupyter_server import *  # noqa: F403

from envfactory import make_venv

REQUESTS_PIN = "requests==2.32.3"
# Real PyPA advisories copied for the audit tests (see tests/data/osv/README.md): audits run offline.
OSV_DB = Path(__file__).resolve().parent.parent / "data" / "osv"


@pytest.fixture(scope="session")
def api_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root holding read-only venvs: ``alpha`` (requests with its dependencies, six), ``beta``
    (requests installed with ``--no-deps``: a planted broken requirement) and ``vuln`` (releases
    with known advisories in ``tests/data/osv``)."""
    root = tmp_path_factory.mktemp("api-envs")
    make_venv(root / "alpha", [REQUESTS_PIN, "six==1.16.0"])
    make_venv(root / "beta", [REQUESTS_PIN, "six==1.16.0"], no_deps=True)
    make_venv(root / "vuln", ["urllib3==1.24.1", "jinja2==2.10"], no_deps=True)
    return root


@pytest.fixture
def late_root(tmp_path: Path) -> Path:
    """An empty root the server also scans: a test creates an environment in it while the server runs."""
    root = tmp_path / "late"
    root.mkdir()
    return root


@pytest.fixture
def jp_server_config(api_envs: Path, late_root: Path, isolated_home: Path) -> dict[str, Any]:
    """The server under test: envkernels enabled, its kernel spec manager on, roots on ``api_envs``."""
    from traitlets.config import Config

    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"envkernels": True},
                "kernel_spec_manager_class": "envkernels.kernels.manager.EnvKernelSpecManager",
            },
            "EnvKernelsApp": {
                "roots": [str(api_envs), str(late_root)],
                "default_roots": False,
                "audit_db": str(OSV_DB),
            },
            "EnvKernelSpecManager": {"roots": [str(api_envs), str(late_root)], "default_roots": False},
        }
    )


@pytest.fixture
def api(jp_fetch):  # type: ignore[no-untyped-def]
    """``await api(method, *parts, body=..., params=...)`` -> (status, decoded JSON), errors included."""

    async def call(
        method: str,
        *parts: str,
        body: Any = None,
        raw: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if method == "POST":
            kwargs["body"] = raw if raw is not None else json.dumps(body if body is not None else {})
        resp = await jp_fetch("envkernels", "api", *parts, params=params, headers=headers, **kwargs)
        text = resp.body.decode() if resp.body else ""
        return resp.code, json.loads(text) if text else None

    return call
