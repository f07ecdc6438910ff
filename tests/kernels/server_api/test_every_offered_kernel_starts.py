"""Offered means it starts: every kernelspec a real jupyter_server offers on this machine starts.

The server runs with envkernels' defaults over the machine's own interpreters (pyenv's versions,
the system Python, what is on PATH; HOME is a tmp dir, but ``PYENV_ROOT`` points at the machine's
pyenv) plus the session's root of uv environments. Each kernelspec in ``GET /api/kernelspecs`` is
started with ``POST /api/kernels``, runs ``1+1`` and is shut down: no failure is allowed. Where the
machine has interpreters envkernels cannot start (pyenv's 2.7, 3.6, 3.7), they must be missing from
the kernelspecs and listed by ``GET envkernels/api/environments`` as ``unsupported`` with a hint.
Marked slow: it builds one ipykernel overlay per Python version the machine has.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

# The machine's pyenv, read before the isolation fixtures point HOME elsewhere.
MACHINE_PYENV = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")

pytestmark = pytest.mark.slow


@pytest.fixture
def machine_pyenv(khome: Path, monkeypatch: pytest.MonkeyPatch) -> Path | None:
    """The machine's pyenv root (None when it has none): its versions are the machine's interpreters."""
    if not (MACHINE_PYENV / "versions").is_dir():
        return None
    monkeypatch.setenv("PYENV_ROOT", str(MACHINE_PYENV))
    return MACHINE_PYENV


@pytest.fixture
def jp_server_config(khome: Path, kroot: Path, machine_pyenv: Path | None) -> Config:
    """envkernels as installed: the extension on, its manager adopted, the default places searched."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"envkernels": True}},
            "EnvKernelSpecManager": {"roots": [str(kroot)], "refresh_interval": 0.0},
        }
    )


async def _run_one_plus_one(jp_fetch: Any, jp_serverapp: Any, name: str, language: str) -> str | None:
    """Start ``name`` through the REST API, run ``1+1``, shut it down; the failure, or None.

    A kernel of another language (pytest-jupyter's own ``echo`` test kernel) must start and answer;
    only a Python kernel is held to ``1+1`` giving ``2``.
    """
    try:
        response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
    except Exception as exc:  # the HTTP error carries the server's message
        body = getattr(getattr(exc, "response", None), "body", b"") or b""
        return f"{name}: POST /api/kernels failed: {exc} {body.decode(errors='replace')[:500]}"
    kernel_id = json.loads(response.body)["id"]
    kc = jp_serverapp.kernel_manager.get_kernel(kernel_id).client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=300)
        results: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "execute_result":
                results.append(msg["content"]["data"]["text/plain"])

        reply = await kc.execute_interactive("1+1", output_hook=hook, timeout=120)
        content = reply["content"]
        if content["status"] != "ok" or (language == "python" and results != ["2"]):
            return f"{name}: 1+1 gave {results} ({content.get('evalue') or content['status']})"
        return None
    except Exception as exc:
        return f"{name}: {type(exc).__name__}: {exc}"
    finally:
        kc.stop_channels()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_every_offered_kernelspec_starts_and_unsupported_ones_are_listed_not_offered(
    no_pythonpath: None, jp_fetch: Any, jp_serverapp: Any, kroot: Path, machine_pyenv: Path | None
) -> None:
    specs = json.loads((await jp_fetch("api", "kernelspecs", method="GET")).body)["kernelspecs"]
    records = json.loads((await jp_fetch("envkernels", "api", "environments", method="GET")).body)
    offered = {
        (spec["spec"].get("metadata") or {}).get("envkernels", {}).get("prefix"): name
        for name, spec in specs.items()
    }
    # The session's uv environments and the machine's startable pyenv versions are all offered.
    assert all(str(kroot / env) in offered for env in ("withipk", "bare", "condaish"))
    by_prefix = {r["prefix"]: r for r in records}
    for record in records:
        if record["status"] == "ok":
            assert record["prefix"] in offered, f"{record['id']} works but is not offered"
        else:
            assert record["prefix"] not in offered, f"{record['id']} is {record['status']} but offered"
            assert record["problem"] and record["hint"]
    if machine_pyenv is not None:
        versions = sorted(p for p in (machine_pyenv / "versions").iterdir() if not p.is_symlink())
        for version in versions:
            record = by_prefix[str(version.resolve())]
            old = tuple(int(x) for x in version.name.split(".")[:2]) < (3, 8)
            assert record["status"] == ("unsupported" if old else "ok"), record
            if old:
                assert "ipykernel install" in record["hint"] and "uv venv" in record["hint"]
    failures = []
    for name in sorted(specs):
        language = str(specs[name]["spec"].get("language") or "").lower()
        failure = await _run_one_plus_one(jp_fetch, jp_serverapp, name, language)
        if failure:
            failures.append(failure)
    assert len(specs) >= 4  # kroot's three and python3, at least
    assert failures == [], "\n".join(failures)
