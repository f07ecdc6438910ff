"""``%envlock`` and ``%envsync`` in real kernels: a lock into the open notebook, a sync needing a restart."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from magic_kernels import LiveKernel, start_kernel

from envfactory import freeze, make_venv, uv, venv_python

NOTEBOOK_LOCK_MIMETYPE = "application/vnd.envkernels.notebook-lock+json"
SIX_CODES = (
    "[f.code for f in get_ipython().run_line_magic('envcheck', '--lock lock.toml').findings"
    " if f.package == 'six']"
)


def test_envlock_notebook_writes_the_lock_into_the_running_notebook(
    tmp_path: Path, magic_env: Path, isolated_home: Path
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("notes")]
    nb_path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, nb_path)
    cells_before = json.loads(nb_path.read_text())["cells"]
    km, kc = start_kernel(tmp_path, magic_env, extra_env={"JPY_SESSION_NAME": str(nb_path)})
    try:
        kernel = LiveKernel(km, kc)
        content, outputs = kernel.execute("r = %envlock --notebook --no-hashes\nr", timeout=300)
        assert content["status"] == "ok", content
        on_disk = json.loads(nb_path.read_text())
        assert on_disk["cells"] == cells_before
        lock_text = on_disk["metadata"]["envkernels"]["lock"]
        assert 'name = "requests"' in lock_text
        # A listening frontend gets the same lock, to put into the open notebook's model.
        [published] = [
            o for o in outputs if o["type"] == "display_data" and NOTEBOOK_LOCK_MIMETYPE in o["data"]
        ]
        assert published["data"][NOTEBOOK_LOCK_MIMETYPE]["notebook"] == str(nb_path)
        assert published["data"][NOTEBOOK_LOCK_MIMETYPE]["lock"] == lock_text
        [shown] = [o for o in outputs if o["type"] == "execute_result"]
        assert "do not save an older copy over it" in shown["data"]["text/plain"]
        assert str(nb_path) in shown["data"]["text/html"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_envsync_plans_applies_and_says_a_restart_is_needed(tmp_path: Path, isolated_home: Path) -> None:
    prefix = make_venv(tmp_path / "env", ["ipykernel", "six==1.16.0"])
    km, kc = start_kernel(tmp_path, prefix)
    try:
        kernel = LiveKernel(km, kc)
        content, _ = kernel.execute("import six\nr = %envlock -o lock.toml --no-hashes", timeout=300)
        assert content["status"] == "ok", content
        locked = freeze(prefix)
        assert kernel.value(SIX_CODES) == []
        # The environment drifts under the running kernel; the cached check notices.
        uv("pip", "install", "--python", str(venv_python(prefix)), "--quiet", "six==1.17.0")
        codes = kernel.value(SIX_CODES)
        assert codes == ["lock-version-mismatch"]
        content, outputs = kernel.execute("plan = %envsync lock.toml\nplan")
        assert content["status"] == "ok", content
        assert kernel.value("plan.ok") is False
        assert kernel.value("plan.to_dict()['downgrade']") == [
            {"name": "six", "from": "1.17.0", "to": "1.16.0"}
        ]
        assert kernel.value("len(plan)") == 1  # the plan's changes (it was always 0)
        assert freeze(prefix) != locked  # a plan changes nothing
        content, outputs = kernel.execute("done = %envsync lock.toml --apply\ndone", timeout=300)
        assert content["status"] == "ok", content
        assert freeze(prefix) == locked
        assert kernel.value("done.restart_needed") == ["six"]
        assert kernel.value("len(done)") == 1
        assert kernel.value("done.to_dict()['loaded_modules_changed']") == ["six"]
        [shown] = [o for o in outputs if o["type"] == "execute_result"]
        assert "Restart the kernel" in shown["data"]["text/plain"]
        assert kernel.value("get_ipython().run_line_magic('envsync', 'lock.toml').ok") is True
        assert kernel.value("len(get_ipython().run_line_magic('envsync', 'lock.toml'))") == 0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
