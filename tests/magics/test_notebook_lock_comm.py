"""``%envlock --notebook`` with JupyterLab's comm open: the lock goes to the frontend, not the file.

A real kernel (jupyter_client, started through an envkernels kernelspec); the client plays the
JupyterLab extension: it opens a comm to target ``envkernels`` with ``{"op": "hello", "path"}``,
as ``labextension/src/notebooklock.ts`` does, and receives the ``notebook-lock`` message.
"""

from __future__ import annotations

import json
import queue
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest
from magic_kernels import LiveKernel, start_kernel

from envfactory import freeze, make_venv
from envkernels.lockfiles import read_lock

COMM_TARGET = "envkernels"
NOTEBOOK_LOCK_MIMETYPE = "application/vnd.envkernels.notebook-lock+json"


def _send_shell(kc: Any, msg_type: str, content: dict[str, Any], session: Any = None) -> str:
    """Send on the shell channel as client ``session`` (another JupyterLab connection; default kc's)."""
    msg = (session or kc.session).msg(msg_type, content)
    kc.shell_channel.send(msg)
    return str(msg["header"]["msg_id"])


def _other_client(kc: Any) -> Any:
    """A second client connection to the same kernel (its own ``header.session``), as a second
    notebook sharing the kernel or a console attached to it would be."""
    from jupyter_client.session import Session

    return Session(key=kc.session.key, signature_scheme=kc.session.signature_scheme)


def _open_comm(kc: Any, path: str, session: Any = None) -> str:
    comm_id = uuid.uuid4().hex
    hello = {"op": "hello", "path": path}
    _send_shell(kc, "comm_open", {"comm_id": comm_id, "target_name": COMM_TARGET, "data": hello}, session)
    return comm_id


def _execute_collecting_all(
    kc: Any, code: str, timeout: float = 300, session: Any = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``code``; the reply and every iopub message of that request (comm messages included)."""
    msg_id = _send_shell(kc, "execute_request", {"code": code, "silent": False}, session)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    seen: list[dict[str, Any]] = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        seen.append({"type": msg["msg_type"], **msg["content"]})
    return reply["content"], seen


def _notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("notes")]
    nb_path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, nb_path)
    return nb_path


def _lock_over_the_comm(tmp_path: Path, prefix: Path, package: str, ipykernel: str = "") -> None:
    """Open the comm, run ``%envlock --notebook``: the lock arrives over it and the file is untouched."""
    nb_path = _notebook(tmp_path)
    before = nb_path.read_bytes()
    km, kc = start_kernel(tmp_path, prefix, extra_env={"JPY_SESSION_NAME": str(nb_path)})
    try:
        comm_id = _open_comm(kc, "work/analysis.ipynb")
        content, seen = _execute_collecting_all(kc, "r = %envlock --notebook --no-hashes\nr")
        assert content["status"] == "ok", content
        assert nb_path.read_bytes() == before, "the notebook file was written"
        assert not (tmp_path / "pylock.toml").exists()

        [sent] = [m for m in seen if m["type"] == "comm_msg" and m["comm_id"] == comm_id]
        data = sent["data"]
        assert data["op"] == "notebook-lock"
        assert data["path"] == "work/analysis.ipynb"
        assert data["environment"]["packages"] >= 3
        assert data["environment"]["locked_by"].startswith("envkernels ")
        lock_file = tmp_path / "received" / "pylock.toml"
        lock_file.parent.mkdir()
        lock_file.write_text(data["lock"], encoding="utf-8")
        lock = read_lock(lock_file)
        assert lock.format == "pylock"
        assert package in {p.name for p in lock.packages}

        # No display output carries the lock (the comm did), and the user is told to save.
        assert not [m for m in seen if m["type"] == "display_data" and NOTEBOOK_LOCK_MIMETYPE in m["data"]]
        [shown] = [m for m in seen if m["type"] == "execute_result"]
        assert "work/analysis.ipynb" in shown["data"]["text/plain"]
        assert "Save the notebook to keep the lock" in shown["data"]["text/plain"]

        # The frontend's ack reaches the kernel; the JSON form names the open notebook.
        _send_shell(
            kc, "comm_msg", {"comm_id": comm_id, "data": {"op": "ack", "path": "work/analysis.ipynb"}}
        )
        kernel = LiveKernel(km, kc)
        assert kernel.value("[a['op'] for a in get_ipython()._envkernels_magics.frontend.acks]") == ["ack"]
        assert kernel.value("[r.to_dict()['notebook'], r.to_dict()['notebook_via']]") == [
            "work/analysis.ipynb",
            "frontend",
        ]
        assert nb_path.read_bytes() == before
        assert kernel.value("__import__('ipykernel').__version__").startswith(ipykernel)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_envlock_notebook_with_an_open_comm_sends_the_lock_and_leaves_the_file_alone(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    _lock_over_the_comm(tmp_path, magic_env, "requests")


@pytest.mark.slow
def test_the_comm_works_in_an_ipykernel_6_without_the_comm_package(
    tmp_path: Path, isolated_home: Path
) -> None:
    """ipykernel 6.16 has its own CommManager (the `comm` package came with 6.18)."""
    prefix = make_venv(tmp_path / "old-ipykernel", ["ipykernel==6.16.2"])
    assert "comm==" not in freeze(prefix)
    (tmp_path / "nb").mkdir()
    _lock_over_the_comm(tmp_path / "nb", prefix, "ipykernel", ipykernel="6.16.")


def test_envlock_notebook_writes_the_file_again_once_the_frontend_closed_its_comm(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    nb_path = _notebook(tmp_path)
    cells_before = json.loads(nb_path.read_text())["cells"]
    km, kc = start_kernel(tmp_path, magic_env, extra_env={"JPY_SESSION_NAME": str(nb_path)})
    try:
        comm_id = _open_comm(kc, "analysis.ipynb")
        _send_shell(kc, "comm_close", {"comm_id": comm_id, "data": {}})
        content, seen = _execute_collecting_all(kc, "r = %envlock --notebook --no-hashes\nr")
        assert content["status"] == "ok", content
        assert not [m for m in seen if m["type"] == "comm_msg"]
        on_disk = json.loads(nb_path.read_text())
        assert on_disk["cells"] == cells_before
        assert 'name = "requests"' in on_disk["metadata"]["envkernels"]["lock"]
        assert read_lock(nb_path).origin == "notebook"
        assert [m for m in seen if m["type"] == "display_data" and NOTEBOOK_LOCK_MIMETYPE in m["data"]]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_without_a_kernel_the_comm_target_is_not_registered() -> None:
    """Terminal IPython (no kernel) or a kernel without a comm manager: nothing is registered."""
    from types import SimpleNamespace

    from envkernels.kernel_side.envkernels_kernel import FrontendLink

    link = FrontendLink()
    assert link.register(SimpleNamespace()) is False
    assert link.register(SimpleNamespace(kernel=SimpleNamespace())) is False
    assert not link and link.registered is False
    registered: dict[str, Any] = {}
    kernel = SimpleNamespace(comm_manager=SimpleNamespace(register_target=registered.__setitem__))
    assert link.register(SimpleNamespace(kernel=kernel)) is True
    assert registered == {COMM_TARGET: link._opened}


def test_a_kernel_shared_by_two_notebooks_locks_only_the_one_that_ran_the_cell(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    nb_path = _notebook(tmp_path)
    before = nb_path.read_bytes()
    km, kc = start_kernel(tmp_path, magic_env, extra_env={"JPY_SESSION_NAME": str(nb_path)})
    try:
        mine = _open_comm(kc, "analysis.ipynb")
        other = _open_comm(kc, "other.ipynb", _other_client(kc))
        content, seen = _execute_collecting_all(kc, "r = %envlock --notebook --no-hashes\nr")
        assert content["status"] == "ok", content
        assert [m["comm_id"] for m in seen if m["type"] == "comm_msg"] == [mine]
        # a client without a comm of its own (a console on the notebook's kernel): every open notebook
        console = _other_client(kc)
        content, seen = _execute_collecting_all(kc, "%envlock --notebook --no-hashes", session=console)
        assert content["status"] == "ok", content
        assert sorted(m["comm_id"] for m in seen if m["type"] == "comm_msg") == sorted([mine, other])
        assert nb_path.read_bytes() == before
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
