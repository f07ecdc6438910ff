"""The JupyterLab side of envkernels in a real browser: panel, launcher kernel, status item, check.

Marked ``browser`` and ``slow``: each test drives the real ``jupyter lab`` of the ``lab`` fixture
in Debian's Chromium, and keeps a screenshot under ``test-artifacts/ui/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lab_helpers import Lab, run_until_output, screenshot
from playwright.sync_api import expect

from envfactory import freeze, make_venv

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _env(lab: Lab, name: str) -> dict:
    envs = lab.api("envkernels/api/environments")
    assert isinstance(envs, list)
    return next(e for e in envs if e["name"] == name)


def test_panel_lists_the_test_environments_grouped_by_project(page, lab: Lab) -> None:
    panel = page.locator("#envkernels-panel")
    demo = panel.locator('.jp-EnvKernels-item[data-env-name="demo-proj"]')
    broken = panel.locator('.jp-EnvKernels-item[data-env-name="broken-reqs"]')
    demo.wait_for()
    broken.wait_for()
    # the project's environment sits under its project's heading
    assert "demo-proj" in (demo.locator("xpath=ancestor::section/h3").text_content() or "")
    assert demo.locator(".jp-EnvKernels-python").inner_text().startswith("Py 3.")
    assert demo.locator(".jp-EnvKernels-kind").inner_text() == _env(lab, "demo-proj")["kind"]
    for label in ("Notebook", "Console", "Check", "Audit", "Lock", "Sync", "Tree", "Diff"):
        assert demo.locator(".jp-EnvKernels-action", has_text=label).count() == 1
    screenshot(page, "panel")


def test_kernel_starts_from_the_launcher_runs_a_cell_and_the_status_item_names_it(page, lab: Lab) -> None:
    env = _env(lab, "demo-proj")
    specs = lab.api("api/kernelspecs")
    assert isinstance(specs, dict)
    display = specs["kernelspecs"][env["kernel_name"]]["spec"]["display_name"]
    card = page.locator(f'.jp-LauncherCard[data-category="Notebook"][title="{display}"]')
    card.click()
    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=120_000)
    editor = notebook.locator(".jp-Cell .cm-content").first
    editor.click()
    page.keyboard.type("import sys, six; print(sys.prefix, 6 * 7)")
    expect(editor).to_contain_text("print(sys.prefix")
    output = notebook.locator(".jp-OutputArea-output").first
    run_until_output(page, editor, output, timeout=30_000)
    text = output.inner_text()
    assert text.strip().endswith("42"), text
    assert str(Path(env["prefix"])) in text  # the kernel runs inside the environment
    status = page.locator(".jp-EnvKernels-status")
    status.wait_for()
    assert "demo-proj" in status.inner_text()
    screenshot(page, "notebook-kernel-status")
    assert status.locator(".jp-EnvKernels-badge").count() == 0  # nothing to report yet

    # an import of something the environment lacks, saved: the item re-checks and shows drift
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("import idna")
    expect(editor).to_contain_text("import idna")
    page.keyboard.press("Control+s")
    rename = page.locator('.jp-Dialog input[type="text"]')  # JupyterLab asks for a name on the first save
    rename.fill("analysis.ipynb")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    status.locator(".jp-EnvKernels-badge-drift").wait_for()
    # clicking the item opens the details of the environment (its check, for this notebook)
    status.click()
    details = page.locator(".jp-EnvKernels-report", has_text="Details of demo-proj")
    expect(details.locator(".jp-EnvKernels-findings")).to_contain_text("idna")
    screenshot(page, "status-details")


def test_check_from_the_panel_shows_the_planted_broken_requirement(page) -> None:
    item = page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="broken-reqs"]')
    item.locator(".jp-EnvKernels-action", has_text="Check").click()
    row = page.locator('.jp-EnvKernels-report tr[data-code="broken-requirement"]').first
    row.wait_for()
    assert "requests" in row.inner_text()
    # the panel's badge follows the check
    item.locator(".jp-EnvKernels-badge-drift").wait_for()
    screenshot(page, "check-report")


def test_tree_and_diff_views_open_from_the_panel(page) -> None:
    item = page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="broken-reqs"]')
    item.locator(".jp-EnvKernels-action", has_text="Tree").click()
    page.locator(".jp-EnvKernels-tree .jp-EnvKernels-treelabel", has_text="requests").first.click()
    page.locator(".jp-EnvKernels-tree .jp-EnvKernels-unsatisfied", has_text="urllib3").first.wait_for()
    screenshot(page, "tree")
    item.locator(".jp-EnvKernels-action", has_text="Diff").click()
    page.locator(".jp-Dialog select").select_option(index=0)
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-EnvKernels-difftable").wait_for()
    assert page.locator(".jp-EnvKernels-difftable tr[data-status]").count() > 0
    screenshot(page, "diff")


def test_refresh_shows_a_new_environment_in_the_panel_and_launcher_without_reload(page, lab: Lab) -> None:
    make_venv(lab.env_root / "envs" / "late-env", ["six==1.16.0"])
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="late-env"]').wait_for()
    env = _env(lab, "late-env")
    display = lab.api("api/kernelspecs")["kernelspecs"][env["kernel_name"]]["spec"]["display_name"]  # type: ignore[index]
    page.locator(f'.jp-LauncherCard[title="{display}"]').first.wait_for()
    screenshot(page, "after-refresh")


def test_sync_from_the_panel_shows_the_plan_and_applies_it_only_after_confirmation(page, lab: Lab) -> None:
    target = make_venv(lab.env_root / "envs" / "sync-me", ["six==1.16.0"])
    (lab.root_dir / "sync-lock.txt").write_text("six==1.17.0\n")
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    item = page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="sync-me"]')
    item.wait_for()

    def ask_for_plan() -> None:
        item.locator(".jp-EnvKernels-action", has_text="Sync").click()
        page.locator(".jp-Dialog input").fill("sync-lock.txt")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        expect(page.locator(".jp-Dialog .jp-EnvKernels-plan")).to_contain_text("six")

    ask_for_plan()
    screenshot(page, "sync-plan")
    page.locator(".jp-Dialog button", has_text="Cancel").click()
    assert "six==1.16.0" in freeze(target).lower()  # cancelled: nothing changed

    ask_for_plan()
    page.locator(".jp-Dialog button", has_text="Apply").click()
    expect(page.locator(".jp-Dialog")).to_contain_text("Synced", timeout=120_000)
    assert "six==1.17.0" in freeze(target).lower()
    page.locator(".jp-Dialog .jp-mod-accept").click()


def test_audit_from_the_panel_marks_a_vulnerable_environment(page) -> None:
    item = page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="vuln-env"]')
    item.locator(".jp-EnvKernels-action", has_text="Audit").click()
    table = page.locator(".jp-EnvKernels-report .jp-EnvKernels-vulns")
    expect(table).to_contain_text("urllib3")
    item.locator(".jp-EnvKernels-badge-vulnerable").wait_for()
    screenshot(page, "audit-report")


def test_a_broken_environment_shows_its_problem_and_offers_no_kernel(page) -> None:
    item = page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="gone-python"]')
    item.locator(".jp-EnvKernels-badge-broken").wait_for()
    expect(item.locator(".jp-EnvKernels-problem")).to_contain_text("interpreter")
    expect(item.locator(".jp-EnvKernels-action", has_text="Notebook")).to_be_disabled()


def test_lock_from_the_panel_writes_a_pylock_in_the_project(page, lab: Lab) -> None:
    target = lab.root_dir / "demo-proj" / "pylock.toml"
    target.unlink(missing_ok=True)
    item = page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="demo-proj"]')
    item.locator(".jp-EnvKernels-action", has_text="Lock").click()
    expect(page.locator(".jp-Dialog input")).to_have_value("demo-proj/pylock.toml")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.locator(".jp-Dialog")).to_contain_text("written to demo-proj/pylock.toml", timeout=120_000)
    page.locator(".jp-Dialog .jp-mod-accept").click()
    assert 'name = "six"' in target.read_text()
