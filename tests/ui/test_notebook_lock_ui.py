"""``%envlock --notebook`` in a live JupyterLab: the lock lands in the OPEN notebook, not in its file.

A real ``jupyter lab`` (the ``lab`` fixture) in Debian's Chromium: a notebook on the demo-proj
environment's envkernels kernel gets an unsaved edit, then runs ``%envlock --notebook``. The
extension's comm (``labextension/src/notebooklock.ts``) puts the lock into the model; the file
on disk must stay byte for byte as it was until the user saves, and the save must carry both
the lock and the edit. Marked ``browser`` and ``slow``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from lab_helpers import Lab, run_until_output, screenshot
from playwright.sync_api import expect

from envkernels.lockfiles import read_lock

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MARKER = "unsaved_edit_marker = 7"


def _env(lab: Lab, name: str) -> dict:
    envs = lab.api("envkernels/api/environments")
    assert isinstance(envs, list)
    return next(e for e in envs if e["name"] == name)


def _write_notebook(path: Path, kernel_name: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": kernel_name, "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("%envlock --notebook --no-hashes"),
        nbformat.v4.new_code_cell("print(sorted(get_ipython()._envkernels_magics.frontend.paths))"),
    ]
    nbformat.write(nb, path)
    return path.read_bytes()


def _run_cell(page, cell, expect_text: str) -> str:  # type: ignore[no-untyped-def]
    """Run ``cell`` in place until its output shows ``expect_text`` (a just-connected kernel's
    first execute is now and then dropped by the front end under load; run it again then)."""
    output = cell.locator(".jp-OutputArea-output", has_text=expect_text)
    run_until_output(page, cell.locator(".cm-content"), output.first)
    return str(cell.locator(".jp-OutputArea").inner_text())


def test_envlock_notebook_puts_the_lock_into_the_open_notebook_and_keeps_unsaved_edits(
    page, lab: Lab
) -> None:
    env = _env(lab, "demo-proj")
    nb_path = lab.root_dir / "demo-proj" / "lock-in-lab.ipynb"
    before = _write_notebook(nb_path, env["kernel_name"])
    page.goto(f"{lab.url}lab/workspaces/lock-in-lab/tree/demo-proj/lock-in-lab.ipynb?reset&token={lab.token}")
    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=120_000)
    # the extension opened its comm to the kernel (`hello` with the notebook's path)
    page.locator('.jp-NotebookPanel[data-envkernels-link="open"]').wait_for(timeout=60_000)
    cells = notebook.locator(".jp-CodeCell")

    # an edit the user has not saved
    first = cells.nth(0).locator(".cm-content")
    first.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(f"; {MARKER}")
    expect(first).to_contain_text(MARKER)

    shown = _run_cell(page, cells.nth(1), "Save the notebook to keep the lock")
    assert "demo-proj/lock-in-lab.ipynb" in shown
    page.locator(".Toastify__toast", has_text="Lock stored in the notebook's metadata").wait_for()
    screenshot(page, "notebook-lock-in-open-notebook")

    # (a) the file is as it was: no lock written under the open document, the edit not saved
    time.sleep(1.0)  # a late write by the kernel would land here
    assert nb_path.read_bytes() == before
    assert page.locator(".jp-Dialog", has_text="File Changed").count() == 0

    # (b) the user's save carries the lock and the edit together
    cells.nth(0).locator(".cm-content").click()
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while nb_path.read_bytes() == before and time.monotonic() < deadline:
        time.sleep(0.25)
    saved = json.loads(nb_path.read_text(encoding="utf-8"))
    assert MARKER in "".join(saved["cells"][0]["source"])
    meta = saved["metadata"]["envkernels"]
    assert meta["environment"]["locked_by"].startswith("envkernels ")
    lock = read_lock(nb_path)  # the notebook's own lock, parsed as a pylock
    assert lock.origin == "notebook"
    assert "six" in {p.name for p in lock.packages}
    assert meta["lock"].startswith("# Locked by envkernels")
    assert page.locator(".jp-Dialog", has_text="File Changed").count() == 0

    # after a kernel restart the extension opens the comm again: the kernel knows the notebook
    page.keyboard.press("Escape")
    page.keyboard.press("0")
    page.keyboard.press("0")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=120_000)
    third = _run_cell(page, cells.nth(2), "lock-in-lab.ipynb")
    assert "['demo-proj/lock-in-lab.ipynb']" in third
