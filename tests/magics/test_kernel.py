"""The magics in real kernels started from uv-made environments the way envkernels' kernelspecs start them,
and a real notebook executed with nbclient."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from magic_kernels import LiveKernel, kernel_manager, start_kernel, stdout_of

from envfactory import freeze

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MAGICS = ("envs", "envcheck", "envlock", "envaudit", "envsync")


def test_magics_are_there_at_kernel_start_and_nothing_is_installed(
    live_kernel: LiveKernel, magic_env: Path
) -> None:
    before = freeze(magic_env)
    found = live_kernel.value(f"[n for n in {MAGICS!r} if get_ipython().find_line_magic(n)]")
    assert found == list(MAGICS)
    # envkernels itself is not importable in the user's environment: only the stdlib-only module is loaded.
    assert live_kernel.value("__import__('importlib.util').util.find_spec('envkernels') is None") is True
    assert live_kernel.value("'envkernels_kernel' in __import__('sys').modules") is True
    # The worker starts on first use, not with the kernel.
    assert live_kernel.value("get_ipython()._envkernels_magics.backend._backend is None") is True
    content, _outputs = live_kernel.execute(f"r = %envs --root {magic_env.parent}\nr")
    assert content["status"] == "ok", content
    assert freeze(magic_env) == before


def test_envcheck_in_kernel_shows_the_planted_broken_requirement(shared_kernel: LiveKernel) -> None:
    content, outputs = shared_kernel.execute("r = %envcheck\nr")
    assert content["status"] == "ok", content
    [shown] = [o for o in outputs if o["type"] == "execute_result"]
    html = shown["data"]["text/html"]
    assert "broken-requirement" in html and "requests" in html and '<code class="fix">' in html
    assert "broken-requirement" in shown["data"]["text/plain"]
    # ipywidgets is in this environment: the widget view comes with the HTML fallback
    assert "application/vnd.jupyter.widget-view+json" in shown["data"]
    broken = shared_kernel.value("sorted({f.package for f in r.findings if f.code == 'broken-requirement'})")
    assert broken == ["requests"]
    assert shared_kernel.value("r.ok") is False


def test_one_worker_serves_every_magic_of_a_kernel(shared_kernel: LiveKernel) -> None:
    shared_kernel.execute("%envcheck")
    pid = shared_kernel.value("get_ipython()._envkernels_magics.backend._backend._proc.pid")
    for _ in range(3):
        content, _outputs = shared_kernel.execute("_ = %envcheck")
        assert content["status"] == "ok"
    assert shared_kernel.value("get_ipython()._envkernels_magics.backend._backend._proc.pid") == pid


def test_envcheck_json_in_kernel_prints_spec_json(shared_kernel: LiveKernel, magic_env: Path) -> None:
    content, outputs = shared_kernel.execute("%envcheck --json")
    assert content["status"] == "ok"
    data = json.loads(stdout_of(outputs))
    assert data["environment"]["prefix"] == str(magic_env.resolve())
    assert any(f["code"] == "broken-requirement" for f in data["findings"])
    assert not [o for o in outputs if o["type"] == "execute_result"]


def test_envcheck_strict_fails_the_cell_with_the_table_shown_first(shared_kernel: LiveKernel) -> None:
    content, outputs = shared_kernel.execute("%envcheck --strict")
    assert content["status"] == "error"
    assert content["ename"] == "EnvironmentCheckFailed"
    assert content["traceback"][0].startswith("error: the environment check found")
    assert len(content["traceback"]) == 2  # error and hint, no Python traceback
    shown = [o for o in outputs if o["type"] == "display_data" and "text/html" in o["data"]]
    assert shown and "broken-requirement" in shown[0]["data"]["text/html"]
    # code can catch it, and read the check from it
    content, _ = shared_kernel.execute(
        "from envkernels_kernel import EnvironmentCheckFailed\n"
        "try:\n    get_ipython().run_line_magic('envcheck', '--strict')\n"
        "except EnvironmentCheckFailed as exc:\n    caught = exc.result"
    )
    assert content["status"] == "ok"
    assert shared_kernel.value("[caught.ok, caught.findings[0].code]") == [False, "broken-requirement"]


def test_bad_magic_arguments_give_error_and_hint_lines(shared_kernel: LiveKernel) -> None:
    content, _ = shared_kernel.execute("%envsync --yes-please")
    assert content["status"] == "error" and content["ename"] == "EnvKernelsMagicError"
    assert content["traceback"] == [
        "error: unrecognized arguments: --yes-please",
        "hint: `%envsync --help` lists the options",
    ]


def _run_notebook(tmp_path: Path, magic_env: Path, nb_path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    km = kernel_manager(tmp_path, magic_env, extra_env={"JPY_SESSION_NAME": str(nb_path)})
    nb = nbformat.read(nb_path, as_version=4)
    client = NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(nb_path.parent)}})
    client.execute()
    return nb


def test_demo_notebook_runs_with_nbclient_and_reports_the_planted_finding(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    before = freeze(magic_env)
    nb_path = tmp_path / "work" / "magics.ipynb"
    nb_path.parent.mkdir()
    shutil.copy(NOTEBOOKS / "magics.ipynb", nb_path)
    nb = _run_notebook(tmp_path, magic_env, nb_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    check_out = next(c for c in code if c.source.startswith("check = %envcheck"))
    html = next(o for o in check_out.outputs if o.output_type == "execute_result").data["text/html"]
    assert "broken-requirement" in html and "requests" in html
    printed = next(c for c in code if c.source.startswith("print(check.ok)"))
    text = "".join(o.get("text", "") for o in printed.outputs)
    assert "False" in text and "error broken-requirement requests" in text
    as_json = next(c for c in code if c.source.startswith("%envcheck --json"))
    data = json.loads("".join(o.get("text", "") for o in as_json.outputs))
    assert data["environment"]["prefix"] == str(magic_env.resolve())
    assert freeze(magic_env) == before


def test_strict_check_fails_an_nbclient_run(tmp_path: Path, magic_env: Path, isolated_home: Path) -> None:
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%envcheck --strict"),
        nbformat.v4.new_code_cell("print('not reached')"),
    ]
    nb_path = tmp_path / "ci.ipynb"
    nbformat.write(nb, nb_path)
    with pytest.raises(CellExecutionError) as info:
        _run_notebook(tmp_path, magic_env, nb_path)
    assert info.value.ename == "EnvironmentCheckFailed"
    assert "broken-requirement" in str(info.value)


def test_results_are_html_without_widgets_where_ipywidgets_is_missing(
    tmp_path: Path, kernel_env: Path, isolated_home: Path
) -> None:
    km, kc = start_kernel(tmp_path, kernel_env)
    try:
        kernel = LiveKernel(km, kc)
        content, outputs = kernel.execute(f"%envs --root {kernel_env.parent}")
        assert content["status"] == "ok", content
        [shown] = [o for o in outputs if o["type"] == "execute_result"]
        assert "text/html" in shown["data"] and "Environments" in shown["data"]["text/html"]
        assert "application/vnd.jupyter.widget-view+json" not in shown["data"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


OSV_DB = Path(__file__).parent / "data" / "osv"


def test_envaudit_in_kernel_links_advisories_and_names_the_fix(shared_kernel: LiveKernel) -> None:
    content, outputs = shared_kernel.execute(f"a = %envaudit --db {OSV_DB}\na")
    assert content["status"] == "ok", content
    vulns = shared_kernel.value("a.to_dict()['vulnerabilities']")
    ids = {v["id"] for v in vulns if v["package"] == "urllib3"}
    assert ids, vulns
    [shown] = [o for o in outputs if o["type"] == "execute_result"]
    html = shown["data"]["text/html"]
    some = sorted(ids)[0]
    assert f'href="https://osv.dev/vulnerability/{some}"' in html
    # the fix names the urllib3 release uv resolved (requests 2.32.3 allows it, so urllib3 moves alone)
    assert "uv pip install --python" in html and re.search(r"urllib3==(\d[^<\s]*)</code>", html), html
    assert shared_kernel.value("a.ok") is False


def test_imports_executed_in_the_kernel_reach_the_check(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    """The project declares requests only; the kernel imports ipywidgets in a cell that is not in the
    notebook file: the kernel's own history is what names it."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0"\ndependencies = ["requests"]\n'
    )
    nb_path = project / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb_path)
    km, kc = start_kernel(tmp_path, magic_env, cwd=project, extra_env={"JPY_SESSION_NAME": str(nb_path)})
    try:
        kernel = LiveKernel(km, kc)
        before = kernel.value(
            "[f.package for f in get_ipython().run_line_magic('envcheck', '').findings "
            "if f.code == 'undeclared-import']"
        )
        assert "ipywidgets" not in before
        kernel.execute("import ipywidgets")
        after = kernel.value(
            "[f.package for f in get_ipython().run_line_magic('envcheck', '').findings "
            "if f.code == 'undeclared-import']"
        )
        assert "ipywidgets" in after
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_worker_ends_with_its_kernel(tmp_path: Path, magic_env: Path, isolated_home: Path) -> None:
    import os
    import time

    km, kc = start_kernel(tmp_path, magic_env)
    try:
        kernel = LiveKernel(km, kc)
        kernel.execute(f"_ = %envs --root {magic_env.parent}")
        pid = kernel.value("get_ipython()._envkernels_magics.backend._backend._proc.pid")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # a zombie whose parent (the kernel) is gone is reaped by init; treat it as gone
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split()[2] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.2)
    raise AssertionError(f"the worker {pid} outlived its kernel")


@pytest.mark.slow
def test_interrupting_a_magic_keeps_the_worker_and_the_next_magic_gets_its_own_reply(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    """A kernel interrupt stops the waiting cell; the worker (its own session) finishes the request,
    and the late reply is not mistaken for the next magic's."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class SlowIndex(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(2)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowIndex)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    km, kc = start_kernel(tmp_path, magic_env)
    try:
        kernel = LiveKernel(km, kc)
        kernel.execute(f"_ = %envs --root {magic_env.parent}")
        pid = kernel.value("get_ipython()._envkernels_magics.backend._backend._proc.pid")
        index = f"http://127.0.0.1:{server.server_address[1]}/simple"
        msg_id = kc.execute(f"slow = %envlock -o slow.toml --index-url {index}")
        time.sleep(1.5)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        # After an error ipykernel aborts requests queued in a short window (stop_on_error); wait it out
        # as a user re-running a cell would, so the next request is really executed.
        for _ in range(20):
            if kernel.execute("pass")[0]["status"] == "ok":
                break
            time.sleep(0.25)
        data = kernel.value(f"get_ipython().run_line_magic('envs', '--root {magic_env.parent}').to_dict()")
        assert "environments" in data  # the envs reply, not the late lock reply
        assert kernel.value("get_ipython()._envkernels_magics.backend._backend._proc.pid") == pid
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        server.shutdown()


@pytest.mark.slow
def test_magics_work_in_an_environment_without_ipykernel(
    tmp_path: Path, small_env: Path, isolated_home: Path
) -> None:
    """The launcher lends ipykernel from an overlay outside the environment; the magics come
    along, and the environment's installed set is the same afterwards."""
    before = freeze(small_env)
    overlay = tmp_path / "overlay"
    km, kc = start_kernel(tmp_path, small_env, extra_env={"ENVKERNELS_OVERLAY_ROOT": str(overlay)})
    try:
        kernel = LiveKernel(km, kc)
        content, outputs = kernel.execute("r = %envcheck\nr")
        assert content["status"] == "ok", content
        assert kernel.value("r.environment['prefix']") == str(small_env.resolve())
        # ipykernel is not in the environment, so the check sees only what the user installed
        [shown] = [o for o in outputs if o["type"] == "execute_result"]
        assert "ipykernel" not in shown["data"]["text/plain"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert freeze(small_env) == before
