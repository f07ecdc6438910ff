"""Input size limits on the command line: a file over its limit is `error:` + `hint:`, exit 2, unread.

The limits (``envkernels.limits``: 4 MiB for lockfiles and project files, 32 MiB for notebooks)
are lowered through their environment variables so small real files exceed them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

OSV_DB = Path(__file__).resolve().parent / "data" / "osv"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def test_a_lockfile_over_the_limit_is_exit_2_for_audit_sync_and_check(small_env, tmp_path, isolated_home):
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n" + "#" * 5000 + "\n")
    small = {"ENVKERNELS_MAX_LOCK_BYTES": "1000"}
    for args in (
        ("audit", str(lock), "--db", str(OSV_DB)),
        ("sync", str(lock), "--target", str(small_env), "--dry-run"),
        ("check", str(small_env), "--lock", str(lock)),
    ):
        proc = cli(*args, env=small)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "over the limit of 1000 bytes" in proc.stderr and "ENVKERNELS_MAX_LOCK_BYTES" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert cli("audit", str(lock), "--db", str(OSV_DB), env={}).returncode == 0  # within the default


def test_a_notebook_over_the_limit_is_exit_2(small_env, tmp_path, isolated_home):
    nb = tmp_path / "nb.ipynb"
    cell = {"cell_type": "code", "source": "import os\n" * 500, "metadata": {}, "outputs": []}
    nb.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    proc = cli("check", str(small_env), "--notebook", str(nb), env={"ENVKERNELS_MAX_NOTEBOOK_BYTES": "1000"})
    assert proc.returncode == 2
    assert "over the limit of 1000 bytes" in proc.stderr and "ENVKERNELS_MAX_NOTEBOOK_BYTES" in proc.stderr
