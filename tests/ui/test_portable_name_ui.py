"""A notebook saved on another machine opens in JupyterLab on the local environment, no dialog.

The notebook's ``metadata.kernelspec.name`` is demo-proj's kernel name with its hash replaced by
``deadbeef`` (what the same project's ``.venv`` is called on another machine). That name is not
in ``/api/kernelspecs``, so stock JupyterLab would open "Select Kernel" (several Python kernels
are listed here); the extension (``labextension/src/portable.ts``) asks the server, which resolves
it, and starts the session with it. A real ``jupyter lab`` in Debian's Chromium. Marked
``browser`` and ``slow``.
"""

from __future__ import annotations

import nbformat
import pytest
from lab_helpers import Lab, run_until_output, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _env(lab: Lab, name: str) -> dict:
    envs = lab.api("envkernels/api/environments")
    assert isinstance(envs, list)
    return next(e for e in envs if e["name"] == name)


def test_notebook_with_another_machines_kernel_name_starts_on_the_local_env_without_a_dialog(
    page, lab: Lab
) -> None:
    env = _env(lab, "demo-proj")
    local = env["kernel_name"]
    foreign = local[: -len("12345678")] + "deadbeef"
    assert foreign != local and foreign.startswith(f"envk-{env['kind']}-")
    listed = lab.api("api/kernelspecs")
    assert isinstance(listed, dict)
    assert foreign not in listed["kernelspecs"]  # Lab alone would not find it
    pythons = [k for k, s in listed["kernelspecs"].items() if s["spec"]["language"] == "python"]
    assert len(pythons) > 1  # ... nor pick the only Python kernel

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": foreign, "display_name": "Python (demo-proj)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import sys; print('PREFIX=' + sys.prefix)")]
    nbformat.write(nb, lab.root_dir / "demo-proj" / "from-elsewhere.ipynb")

    page.goto(f"{lab.url}lab/workspaces/portable/tree/demo-proj/from-elsewhere.ipynb?reset&token={lab.token}")
    notebook = page.locator(".jp-NotebookPanel:visible")
    page.locator('.jp-NotebookPanel[data-envkernels-portable="started"]').wait_for(timeout=120_000)
    notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=120_000)
    assert page.locator(".jp-Dialog", has_text="Select Kernel").count() == 0

    cell = notebook.locator(".jp-CodeCell").first
    output = cell.locator(".jp-OutputArea-output", has_text="PREFIX=")
    run_until_output(page, cell.locator(".cm-content"), output.first)
    printed = output.first.inner_text().strip()
    assert printed == f"PREFIX={env['prefix']}"
    assert page.locator(".jp-Dialog", has_text="Select Kernel").count() == 0
    screenshot(page, "portable-kernel-name")

    # the session runs under the name the notebook came with (it saves without churn)
    sessions = lab.api("api/sessions")
    assert isinstance(sessions, list)
    mine = [s for s in sessions if s["path"].endswith("demo-proj/from-elsewhere.ipynb")]
    assert [s["kernel"]["name"] for s in mine] == [foreign]
