"""The lock rule in a live kernel: `%envcheck` (through the worker) does not apply a pylock written
for another environment beside the notebook, and `%envsync` without LOCK does not sync to it."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from magic_kernels import LiveKernel, start_kernel, stdout_of

from envkernels.discovery.probe import environment_from_prefix
from envkernels.lockfiles.writer import lock_environment

LOCK_CODES = {"lock-missing", "lock-extra", "lock-version-mismatch", "python-mismatch"}


def test_envcheck_and_envsync_leave_another_environments_pylock_alone(
    tmp_path: Path, magic_env: Path, small_env: Path, isolated_home: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    nb_path = work / "analysis.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import os"))
    nbformat.write(nb, nb_path)
    other = environment_from_prefix(small_env)
    lock_environment(other, output=str(work / "pylock.toml"), hashes=False)  # what %envlock writes
    km, kc = start_kernel(tmp_path, magic_env, cwd=work, extra_env={"JPY_SESSION_NAME": str(nb_path)})
    try:
        kernel = LiveKernel(km, kc)
        content, outputs = kernel.execute("%envcheck --json")
        assert content["status"] == "ok", content
        data = json.loads(stdout_of(outputs))
        assert data["environment"]["prefix"] == str(magic_env.resolve())
        codes = {f["code"] for f in data["findings"]}
        assert not codes & LOCK_CODES, data["findings"]
        [note] = [f for f in data["findings"] if f["code"] == "lock-not-used"]
        assert note["message"] == (
            f"pylock.toml beside the notebook was written for `{other.name}` ({other.prefix}); not used"
        )
        # The broken requirements planted in magic_env are still found: the check did run.
        assert "broken-requirement" in codes
        content, outputs = kernel.execute("%envsync")
        shown = json.dumps(outputs)
        assert "no lock to sync to" in shown and "was written for" in shown and "not used" in shown
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
