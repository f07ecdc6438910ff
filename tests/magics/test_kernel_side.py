"""The stdlib-only kernel-side module alone: what it may import, the facts it gathers, its result objects."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from magic_kernels import KERNEL_SIDE

from envkernels.kernel_side import envkernels_kernel as ks


@pytest.mark.parametrize("module", ["envkernels_kernel.py", "envkernels_widgets.py"])
def test_kernel_side_modules_import_only_stdlib_ipython_and_ipywidgets(module: str) -> None:
    tree = ast.parse((KERNEL_SIDE / module).read_text())
    allowed = set(sys.stdlib_module_names) | {"IPython", "ipywidgets", "envkernels_widgets", "__future__"}
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    # `envkernels` appears only as the fallback for in-process use, guarded by ImportError.
    assert imported - allowed <= {"envkernels"}, imported - allowed


def test_kernel_side_holds_no_import_rules() -> None:
    """The host reads the cells (``inspect/imports.py``); the kernel side only sends them."""
    source = (KERNEL_SIDE / "envkernels_kernel.py").read_text()
    assert "ast" not in {
        a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names
    }
    assert not hasattr(ks, "imports_of") and not hasattr(ks, "ImportTracker")


def test_cell_feed_sends_each_cell_once_and_everything_after_a_reset() -> None:
    feed = ks.CellFeed()
    cells = ["", "import numpy"]
    assert ks.send_cells(feed, {"cells": cells})["cells"] == {"start": 0, "sources": ["", "import numpy"]}
    feed.sent = len(cells)
    cells += ["%pip install x", "%envcheck"]
    assert feed.delta(cells) == {"start": 2, "sources": ["%pip install x", "%envcheck"]}
    assert feed.delta(cells[:1]) == {"start": 0, "sources": [""]}  # `In` was replaced: all again
    feed.reset()
    assert feed.delta(cells)["start"] == 0


def test_executed_cells_are_the_raw_sources_not_ipythons_translation() -> None:
    class History:
        def __init__(self) -> None:
            self.input_hist_raw = ["", "%pip install requests", "x = 1"]

    class Shell:
        def __init__(self) -> None:
            self.history_manager = History()
            self.user_ns = {"In": ["", "get_ipython().run_line_magic('pip', 'install requests')", "x = 1"]}

    assert ks.executed_cells(Shell()) == ["", "%pip install requests", "x = 1"]
    assert ks.executed_cells(None) == []


def test_notebook_path_comes_from_the_session_and_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = tmp_path / "analysis.ipynb"
    monkeypatch.delenv("ENVKERNELS_NOTEBOOK", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    assert ks.notebook_path(None) is None  # not there yet
    nb.write_text("{}")
    assert ks.notebook_path(None) == str(nb)

    class Shell:
        def __init__(self) -> None:
            self.user_ns = {"__session__": str(nb)}

    monkeypatch.delenv("JPY_SESSION_NAME")
    assert ks.notebook_path(Shell()) == str(nb)


def _result(findings: list[dict]) -> ks.EnvResult:
    """The kernel's result object for the worker's reply to a check that found ``findings``."""
    from envkernels.model import Environment, Finding, Report
    from envkernels.worker import Worker

    env = Environment(id="x", kind="venv", name="x", prefix="/x", python=None, python_version=None)
    report = Report(env, tuple(Finding.from_dict(f) for f in findings))
    payload = Worker()._report(report)
    return ks.EnvResult("check", dict(payload, html="<b>h</b>", text="t"))


def test_result_is_ok_unless_a_warning_or_error_is_found() -> None:
    info = {
        "code": "undeclared-import",
        "severity": "info",
        "package": "numpy",
        "message": "m",
        "hint": None,
        "vulnerability": None,
    }
    warn = dict(info, severity="warning")
    assert _result([]).ok and _result([info]).ok
    assert not _result([info, warn]).ok
    r = _result([warn])
    assert r.findings[0].code == "undeclared-import" and r.findings[0].to_dict() == warn
    assert json.loads(r.to_json()) == r.to_dict() and len(r) == 1
    assert repr(r) == "t" and r._repr_html_() == "<b>h</b>"


def test_strict_failure_names_the_codes_and_renders_without_traceback() -> None:
    warn = {"code": "lock-missing", "severity": "warning", "package": "six", "message": "m", "hint": None}
    err = ks.EnvironmentCheckFailed(_result([warn]))
    assert "1 problem(s) at warning or above (lock-missing)" in err.message
    assert err._render_traceback_()[0].startswith("error: the environment check found")
    assert isinstance(err, ks.EnvKernelsMagicError)


def test_worker_backend_without_host_python_says_how_to_get_the_magics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENVKERNELS_HOST_PYTHON", raising=False)
    with pytest.raises(ks.EnvKernelsMagicError, match="not started by envkernels") as info:
        ks.default_backend()
    assert "%load_ext envkernels" in (info.value.hint or "")


def test_worker_backend_reports_a_worker_that_cannot_start(tmp_path: Path) -> None:
    backend = ks.WorkerBackend(str(tmp_path / "no-python"))
    with pytest.raises(ks.EnvKernelsMagicError, match="cannot start the envkernels worker"):
        backend.request("envs", {}, {"prefix": sys.prefix})


def test_worker_backend_reports_a_worker_that_dies(tmp_path: Path) -> None:
    """A host interpreter without envkernels: the worker exits at once; the error names its last words."""
    fake_host = tmp_path / "python"
    fake_host.write_text(
        f"#!/bin/sh\nexec {sys.executable} -I -c 'import sys; sys.exit(\"no envkernels here\")'\n"
    )
    fake_host.chmod(0o755)
    backend = ks.WorkerBackend(str(fake_host))
    with pytest.raises(ks.EnvKernelsMagicError, match=r"worker stopped .*no envkernels here"):
        backend.request("envs", {}, {"prefix": sys.prefix})


def test_worker_backend_reuses_one_process(small_env: Path) -> None:
    backend = ks.WorkerBackend(sys.executable)
    try:
        facts = {"prefix": str(small_env)}
        first = backend.request("envs", {"roots": [str(small_env.parent)]}, facts)
        pid = backend._proc.pid
        second = backend.request("envs", {"roots": [str(small_env.parent)]}, facts)
        assert backend._proc.pid == pid
        assert first["data"] == second["data"]
        with pytest.raises(ks.EnvKernelsMagicError, match="unknown operation"):
            backend.request("frobnicate", {}, facts)
        assert backend._proc.pid == pid  # an error reply does not cost the worker
    finally:
        backend.close()
    assert backend._proc is None


def _older_pythons() -> list[Path]:
    """Interpreters older than 3.10 installed beside this one (pyenv's layout), oldest first."""
    found = []
    for cand in Path(sys.base_prefix).parent.glob("3.*/bin/python3"):
        parts = cand.parent.parent.name.split(".")
        if len(parts) >= 2 and parts[1].isdigit() and 7 <= int(parts[1]) < 10:
            found.append((int(parts[1]), cand))
    return [c for _, c in sorted(found)]


def test_kernel_side_modules_load_in_an_old_python() -> None:
    """Kernels run the environment's own interpreter, which may be older than envkernels' own."""
    olds = _older_pythons()
    if not olds:
        pytest.skip("no Python older than 3.10 on this machine")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import envkernels_kernel as k, envkernels_widgets\n"
        "assert k.CellFeed().delta(['', 'import numpy']) == {'start': 0, 'sources': ['', 'import numpy']}\n"
        "assert k._parsers()['envcheck'].parse_args(['--strict']).strict\n"
        "assert not k.EnvResult('check', {'kind': 'report', 'ok': False, 'data': {'findings': [\n"
        "    {'code': 'c', 'severity': 'error', 'package': None, 'message': 'm'}]}}).ok\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [str(olds[0]), "-c", code, str(KERNEL_SIDE)], capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "ok", proc.stderr


def test_worker_backend_skips_stray_lines_and_late_replies_and_shows_progress(tmp_path: Path) -> None:
    """A stand-in host whose worker answers in the protocol's awkward ways: a library's stray output,
    the late reply of an interrupted earlier request, progress lines, then the reply."""
    worker = tmp_path / "worker.py"
    worker.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    req = json.loads(line)\n"
        "    print('Downloading something...', flush=True)\n"
        "    print(json.dumps({'id': req['id'] - 1, 'ok': True, 'result': {'kind': 'stale'}}), flush=True)\n"
        "    print(json.dumps({'id': req['id'], 'progress': 'halfway'}), flush=True)\n"
        "    reply = {'id': req['id'], 'ok': True, 'result': {'kind': 'report', 'data': req}}\n"
        "    print(json.dumps(reply), flush=True)\n"
    )
    host = tmp_path / "python"
    host.write_text(f"#!/bin/sh\nexec {sys.executable} {worker}\n")
    host.chmod(0o755)
    backend = ks.WorkerBackend(str(host))
    seen: list[str] = []
    try:
        result = backend.request("check", {"lock": None}, {"prefix": "/p"}, seen.append)
        again = backend.request("check", {}, {"prefix": "/p"}, seen.append)
    finally:
        backend.close()
    assert result["kind"] == "report" and result["data"]["op"] == "check" and result["data"]["id"] == 1
    assert again["data"]["id"] == 2
    assert seen == ["halfway", "halfway"]


def test_len_of_a_sync_result_is_its_number_of_changes(
    small_env: Path, tmp_path: Path, isolated_home: Path
) -> None:
    """`len(%envsync ...)` counts the changes the host sends: planned, then made, then none left."""
    from envfactory import make_venv
    from envkernels import api
    from envkernels.worker import Worker

    lock = tmp_path / "pylock.toml"
    api.lock(api.resolve(str(small_env)), output=str(lock), hashes=False)
    target = make_venv(tmp_path / "target", ["six==1.15.0"])
    worker, facts = Worker(), {"prefix": str(target), "cwd": str(tmp_path)}

    def ask(op: str) -> ks.EnvResult:
        return ks.EnvResult(op, worker.run(op, {"lock": str(lock)}, facts, lambda _m: None))

    planned = ask("plan_sync")
    assert len(planned) == 2 and not planned.ok
    assert [(c["action"], c["name"], c["to"]) for c in planned.changes] == [
        ("install", "idna", "3.7"),
        ("upgrade", "six", "1.16.0"),
    ]
    applied = ask("apply_sync")
    assert len(applied) == 2 and applied.ok and applied.changes == planned.changes
    empty = ask("plan_sync")
    assert len(empty) == 0 and empty.ok and empty.changes == []
    locked = ks.EnvResult(
        "lock", worker.run("lock", {"output": "pylock.copy.toml", "hashes": False}, facts, lambda _m: None)
    )
    assert len(locked) == 2
