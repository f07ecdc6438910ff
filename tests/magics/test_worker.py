"""The host-side worker: its JSON-lines protocol as a real process, its errors, its cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from envfactory import make_venv, uv, venv_python
from envkernels import api
from envkernels.kernel_side import envkernels_kernel
from envkernels.worker import Worker


def _talk(lines: list[str]) -> list[dict]:
    """Feed ``lines`` to a real ``python -m envkernels.worker`` and read every reply."""
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels.worker"],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_worker_process_answers_each_request_by_id_and_survives_bad_lines(small_env: Path) -> None:
    replies = _talk(
        [
            "this is not json",
            json.dumps(
                {
                    "id": 7,
                    "op": "envs",
                    "args": {"roots": [str(small_env.parent)]},
                    "facts": {"prefix": str(small_env)},
                }
            ),
            json.dumps({"id": 8, "op": "rm -rf /", "args": {}, "facts": {}}),
            json.dumps({"id": 9, "op": "check", "args": {}, "facts": {"prefix": "/nonexistent/env"}}),
        ]
    )
    assert [r["id"] for r in replies] == [None, 7, 8, 9]
    assert replies[0]["ok"] is False and "not a JSON object" in replies[0]["error"]["message"]
    envs = replies[1]["result"]
    assert replies[1]["ok"] and envs["kind"] == "environments"
    prefixes = [e["prefix"] for e in envs["data"]["environments"]]
    assert str(small_env.resolve()) in prefixes
    assert envs["data"]["current"] == str(small_env.resolve())
    assert "<table>" in envs["html"] and "small" in envs["text"]
    assert replies[2]["ok"] is False
    assert replies[2]["error"]["message"] == "unknown operation `rm -rf /`"
    assert "envs" in replies[2]["error"]["hint"]
    assert replies[3]["ok"] is False and "/nonexistent/env" in replies[3]["error"]["message"]
    assert replies[3]["error"]["hint"]


def test_output_printed_by_engine_code_does_not_corrupt_replies(small_env: Path) -> None:
    """Anything written to fd 1 by the engine (or a child process) goes to stderr, not into the protocol."""
    code = (
        "import os, sys, json, envkernels.worker as w\n"
        "orig = w.Worker._envs\n"
        "def noisy(self, *a):\n"
        "    print('library chatter'); os.write(1, b'raw chatter\\n'); return orig(self, *a)\n"
        "w.Worker._envs = noisy\n"
        "sys.exit(w.main())\n"
    )
    req = json.dumps(
        {
            "id": 1,
            "op": "envs",
            "args": {"roots": [str(small_env.parent)]},
            "facts": {"prefix": str(small_env)},
        }
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=req + "\n", capture_output=True, text=True, timeout=60
    )
    assert [json.loads(x)["id"] for x in proc.stdout.splitlines()] == [1]
    assert "library chatter" in proc.stderr and "raw chatter" in proc.stderr


def test_the_worker_serves_exactly_the_ops_the_kernel_sends() -> None:
    """Worker and kernel side ship in one wheel: every op the kernel may send has its engine call."""
    assert tuple(Worker()._ops) == envkernels_kernel.OPS


def test_an_internal_bug_becomes_one_error_line_and_the_worker_goes_on(small_env: Path) -> None:
    w = Worker()
    bad = w.handle({"id": 1, "op": "envs", "args": {"roots": 5}, "facts": {"prefix": str(small_env)}})
    assert bad["ok"] is False and bad["error"]["message"].startswith("internal error in `envs`: TypeError")
    good = w.handle({"id": 2, "op": "envs", "args": {}, "facts": {"prefix": str(small_env)}})
    assert good["ok"] is True


def test_modules_a_sync_changes_come_from_the_distributions_own_files(magic_env: Path) -> None:
    """`%envsync --apply` names the loaded modules to restart for from the inventory (top_level.txt,
    else RECORD), the reading every other rule uses."""
    top = {d.name: d.top_level for d in api.installed(api.resolve(str(magic_env)))}
    assert top["requests"] == ("requests",)
    assert "ipywidgets" in top["ipywidgets"]


def test_check_answers_come_from_the_engines_cache_until_site_packages_change(tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    w = Worker()
    facts = {"prefix": str(prefix), "cwd": str(tmp_path)}
    first = w.run("check", {}, facts, lambda _m: None)
    assert w.run("check", {}, facts, lambda _m: None) is first  # the same report: the same answer
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "--no-deps", "requests==2.32.3")
    changed = w.run("check", {}, facts, lambda _m: None)
    assert changed is not first
    assert {f["package"] for f in changed["data"]["findings"] if f["code"] == "broken-requirement"} == {
        "requests"
    }
    # an answer of the API's, to the same question: the worker adds rendering, nothing else
    env = api.kernel_environment(str(prefix))
    assert changed["data"] == api.check(env, imports=()).to_dict()
    with_cell = w.run(
        "check", {}, dict(facts, cells={"start": 0, "sources": ["import mod0"]}), lambda _m: None
    )
    assert "mod0" in json.dumps(with_cell["data"]["findings"])


def test_the_worker_reads_the_kernels_cells_with_the_notebook_rules_and_asks_for_missing_ones() -> None:
    w = Worker()
    w.cells.take({"start": 0, "sources": ["", "%pip install x\nimport numpy"]})
    w.cells.take({"start": 2, "sources": ["try:\n    import ujson\nexcept ImportError:\n    ujson = None"]})
    w.cells.take({"start": 3, "sources": ["%time import scipy\nfrom . import local\nimport a.b"]})
    assert w.cells.imports == ("a", "numpy", "scipy")  # `ujson` is guarded: optional, never a finding
    w.cells.take({"start": 3, "sources": ["import pandas"]})  # a resend from 3 replaces what follows
    assert w.cells.imports == ("numpy", "pandas")
    reply = w.handle({"id": 1, "op": "envs", "args": {}, "facts": {"cells": {"start": 9, "sources": []}}})
    assert reply["ok"] is False and reply["error"]["reason"] == "cells-missing"
