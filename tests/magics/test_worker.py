"""The host-side worker: its JSON-lines protocol as a real process, its errors, its cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envfactory import make_venv, uv, venv_python
from envkernels.worker import Worker, _top_level_modules


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


def test_missing_engine_op_is_a_clear_error_not_a_fake_result(
    monkeypatch: pytest.MonkeyPatch, small_env: Path
) -> None:
    import envkernels.worker as worker_mod

    real_engine = worker_mod._engine

    def gone(module: str, name: str, op: str):
        return real_engine("envkernels.no_such_module", name, op)

    monkeypatch.setattr(worker_mod, "_engine", gone)
    reply = Worker().handle({"id": 1, "op": "audit", "args": {}, "facts": {"prefix": str(small_env)}})
    assert reply["ok"] is False
    assert reply["error"]["message"].startswith("`audit` is not available in this envkernels installation")
    assert "ENVKERNELS_HOST_PYTHON" in reply["error"]["hint"]


def test_an_internal_bug_becomes_one_error_line_and_the_worker_goes_on(small_env: Path) -> None:
    w = Worker()
    bad = w.handle({"id": 1, "op": "envs", "args": {"roots": 5}, "facts": {"prefix": str(small_env)}})
    assert bad["ok"] is False and bad["error"]["message"].startswith("internal error in `envs`: TypeError")
    good = w.handle({"id": 2, "op": "envs", "args": {}, "facts": {"prefix": str(small_env)}})
    assert good["ok"] is True


def test_top_level_modules_of_distributions_come_from_their_files(magic_env: Path) -> None:
    assert _top_level_modules(str(magic_env), {"requests"}) == {"requests"}
    assert "ipywidgets" in _top_level_modules(str(magic_env), {"ipywidgets"})
    assert _top_level_modules(str(magic_env), set()) == set()


def test_environment_record_is_reread_when_site_packages_change(tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    w = Worker()
    first = w._environment({"prefix": str(prefix)})
    assert w._environment({"prefix": str(prefix)}) is first
    # ipykernel arrives (without its dependencies: only the record's `has_ipykernel` matters here)
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "--no-deps", "ipykernel")
    again = w._environment({"prefix": str(prefix)})
    assert again is not first and again.has_ipykernel and not first.has_ipykernel


def test_check_answers_are_cached_until_site_packages_change_and_the_cache_is_bounded(tmp_path: Path) -> None:
    import envkernels.worker as worker_mod

    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    w = Worker()
    facts = {"prefix": str(prefix), "cwd": str(tmp_path)}
    first = w.run("check", {}, facts, lambda _m: None)
    assert w.run("check", {}, facts, lambda _m: None) is first
    uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "--no-deps", "requests==2.32.3")
    changed = w.run("check", {}, facts, lambda _m: None)
    assert changed is not first
    assert {f["package"] for f in changed["data"]["findings"] if f["code"] == "broken-requirement"} == {
        "requests"
    }
    for i in range(worker_mod.CACHE_ENTRIES + 5):
        # each run brings one more executed cell, so one more import: a new answer each time
        w.run("check", {}, dict(facts, cells={"start": i, "sources": [f"import mod{i}"]}), lambda _m: None)
    assert len(w._cache) == worker_mod.CACHE_ENTRIES


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
