"""The JupyterLab side of envkernels in a real browser: the Environments panel, the Environment
view, the launcher kernel and the status item.

Marked ``browser`` and ``slow``: each test drives the real ``jupyter lab`` of the ``lab`` fixture
in Debian's Chromium, and keeps a screenshot under ``test-artifacts/ui/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lab_helpers import (
    Lab,
    context_action,
    env_record,
    env_view,
    row,
    row_action,
    run_until_output,
    screenshot,
)
from playwright.sync_api import expect

from envfactory import freeze, make_venv

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_panel_rows_are_grouped_compact_and_unchecked_until_checked(page, lab: Lab) -> None:
    panel = page.locator("#envkernels-panel")
    demo = row(page, "demo-proj")
    broken = row(page, "broken-reqs")
    demo.wait_for()
    broken.wait_for()
    # this folder's projects first, then the tool-managed environments
    groups = panel.locator(".jp-EnvKernels-group").evaluate_all("ss => ss.map(s => s.dataset.group)")
    assert groups[0] == "projects", groups
    assert demo.locator("xpath=ancestor::section").get_attribute("data-group") == "projects"
    assert broken.locator("xpath=ancestor::section").get_attribute("data-group") == "tools"
    record = env_record(lab, "demo-proj")
    assert demo.locator(".jp-EnvKernels-python").inner_text() == record["python_version"]
    assert demo.get_attribute("data-kind") == record["kind"]
    # one row each, no wall of buttons: the row toolbar shows only on hover or selection
    assert panel.locator(".jp-EnvKernels-rowbutton:visible").count() == 0
    demo.hover()
    assert demo.locator(".jp-EnvKernels-rowbutton:visible").count() == 4
    # never checked: `unchecked`, not a green `ok`
    assert row(page, "vuln-env").get_attribute("data-badge") == "unchecked"
    expect(row(page, "vuln-env").locator(".jp-EnvKernels-badge")).to_have_text("unchecked")
    screenshot(page, "panel")


def test_filter_box_and_collapsible_groups(page) -> None:
    panel = page.locator("#envkernels-panel")
    panel.locator(".jp-EnvKernels-filter-input").fill("vuln")
    expect(row(page, "vuln-env")).to_be_visible()
    expect(row(page, "demo-proj")).to_be_hidden()
    expect(panel.locator('.jp-EnvKernels-group[data-group="projects"]')).to_be_hidden()
    expect(panel.locator(".jp-EnvKernels-count")).to_contain_text("1 of")
    panel.locator(".jp-EnvKernels-filter-input").fill("no-such-thing")
    expect(panel.locator(".jp-EnvKernels-count")).to_have_text("No environment matches “no-such-thing”")
    panel.locator(".jp-EnvKernels-filter-input").fill("")
    toggle = panel.locator('.jp-EnvKernels-group[data-group="tools"] .jp-EnvKernels-group-toggle')
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(row(page, "vuln-env")).to_be_hidden()
    toggle.click()
    expect(row(page, "vuln-env")).to_be_visible()


def test_versions_sort_naturally_and_groups_follow_the_kind(page, lab: Lab) -> None:
    """3.6 < 3.10 (not text order); interpreters after tool-managed environments."""
    real = lab.api("envkernels/api/environments")
    assert isinstance(real, list)
    template = real[0]
    fake = [
        {
            **template,
            "id": f"py{v}",
            "name": "python3",
            "kind": "pyenv",
            "python_version": v,
            "project": None,
            "project_path": None,
            "kernel_name": f"envk-pyenv-{v}",
            "status": "ok",
            "problem": None,
            "hint": None,
            "verdict": "unchecked",
        }
        for v in ("3.10.4", "3.6.15", "3.9.1", "3.12.0")
    ]
    # the server answers with these (only the browser's copy of the listing is replaced)
    page.route(
        re.compile(r".*/envkernels/api/environments/refresh(\?.*)?$"),  # JupyterLab adds a cache-buster
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(real + fake)
        ),
    )
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    group = page.locator('#envkernels-panel .jp-EnvKernels-group[data-group="interpreters"]')
    group.wait_for()
    versions = group.locator(".jp-EnvKernels-python").all_inner_texts()
    assert versions == ["3.12.0", "3.10.4", "3.9.1", "3.6.15"], versions  # newest first, naturally
    groups = page.locator("#envkernels-panel .jp-EnvKernels-group").evaluate_all(
        "ss => ss.map(s => s.dataset.group)"
    )
    assert groups == ["projects", "tools", "interpreters"], groups


def test_kernel_starts_from_the_launcher_runs_a_cell_and_the_status_item_names_it(page, lab: Lab) -> None:
    env = env_record(lab, "demo-proj")
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

    # an import of something the environment lacks, saved: the item re-checks and shows it
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("import idna")
    expect(editor).to_contain_text("import idna")
    page.keyboard.press("Control+s")
    rename = page.locator('.jp-Dialog input[type="text"]')  # JupyterLab asks for a name on the first save
    rename.fill("analysis.ipynb")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    status.locator('.jp-EnvKernels-badge:not([data-badge="ok"])').wait_for()
    # clicking the item opens the Environment view on its Check tab, for this notebook
    status.click()
    view = env_view(page, "demo-proj")
    expect(view.locator(".jp-EnvKernels-tab.jp-mod-current")).to_have_text("Check")
    expect(view.locator(".jp-EnvKernels-tabpanel-check .jp-EnvKernels-findings")).to_contain_text("idna")
    expect(view.locator(".jp-EnvKernels-tabpanel-check")).to_contain_text("analysis.ipynb")
    screenshot(page, "status-details")


def test_check_from_the_row_toolbar_opens_the_environment_view(page) -> None:
    row_action(page, "broken-reqs", "envkernels:check")
    view = env_view(page, "broken-reqs")
    finding = view.locator('.jp-EnvKernels-tabpanel-check tr[data-code="broken-requirement"]').first
    finding.wait_for()
    assert "requests" in finding.inner_text()
    # the hint's command is code with a copy button, never literal backticks
    fix = finding.locator(".jp-EnvKernels-fix")
    assert "`" not in fix.inner_text()
    assert fix.locator(".jp-EnvKernels-command .jp-EnvKernels-copy").count() >= 1
    # the panel's badge follows the check; one view per environment, reused
    expect(row(page, "broken-reqs")).to_have_attribute("data-badge", "error")
    row_action(page, "broken-reqs", "envkernels:check")
    assert page.locator(".jp-EnvKernels-envview").count() == 1
    screenshot(page, "check-report")


def test_tree_and_diff_open_from_the_context_menu_in_the_same_view(page) -> None:
    context_action(page, "broken-reqs", "Show Dependency Tree")
    view = env_view(page, "broken-reqs")
    tree = view.locator(".jp-EnvKernels-tabpanel-tree")
    tree.locator(".jp-EnvKernels-treelabel", has_text="requests").first.click()
    tree.locator(".jp-EnvKernels-unsatisfied", has_text="urllib3").first.wait_for()
    screenshot(page, "tree")
    context_action(page, "broken-reqs", "Compare Environment")
    diff = view.locator(".jp-EnvKernels-tabpanel-diff")
    diff.locator("select").select_option(
        label=next(o for o in diff.locator("select option").all_inner_texts() if o.startswith("vuln-env"))
    )
    diff.locator("button", has_text="Compare").click()
    diff.locator(".jp-EnvKernels-difftable").wait_for()
    assert diff.locator(".jp-EnvKernels-difftable tr[data-status]").count() > 0
    assert page.locator(".jp-EnvKernels-envview").count() == 1  # tabs of one view, not new windows
    screenshot(page, "diff")


def test_identical_environments_say_so(page, lab: Lab) -> None:
    make_venv(lab.env_root / "envs" / "twin-a", ["six==1.16.0"])
    make_venv(lab.env_root / "envs" / "twin-b", ["six==1.16.0"])
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    row(page, "twin-b").wait_for()
    context_action(page, "twin-a", "Compare Environment")
    diff = env_view(page, "twin-a").locator(".jp-EnvKernels-tabpanel-diff")
    diff.locator("select").select_option(
        label=next(o for o in diff.locator("select option").all_inner_texts() if o.startswith("twin-b"))
    )
    diff.locator("button", has_text="Compare").click()
    expect(diff.locator(".jp-EnvKernels-empty")).to_contain_text("Identical environments")
    assert diff.locator(".jp-EnvKernels-difftable").count() == 0


def test_refresh_shows_a_new_environment_in_the_panel_and_launcher_without_reload(page, lab: Lab) -> None:
    make_venv(lab.env_root / "envs" / "late-env", ["six==1.16.0"])
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    row(page, "late-env").wait_for()
    env = env_record(lab, "late-env")
    display = lab.api("api/kernelspecs")["kernelspecs"][env["kernel_name"]]["spec"]["display_name"]  # type: ignore[index]
    page.locator(f'.jp-LauncherCard[title="{display}"]').first.wait_for()
    screenshot(page, "after-refresh")


def test_sync_shows_the_plan_and_applies_only_after_confirmation_focus_on_cancel(page, lab: Lab) -> None:
    target = make_venv(lab.env_root / "envs" / "sync-me", ["six==1.16.0"])
    (lab.root_dir / "sync-lock.txt").write_text("six==1.17.0\n")
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    row(page, "sync-me").wait_for()
    context_action(page, "sync-me", "Sync Environment to a Lock")
    tab = env_view(page, "sync-me").locator(".jp-EnvKernels-tabpanel-sync")
    tab.locator(".jp-EnvKernels-sync-lock").fill("sync-lock.txt")
    tab.locator(".jp-EnvKernels-sync-plan").click()
    plan_row = tab.locator('.jp-EnvKernels-plantable tr[data-change="upgrade"]')
    expect(plan_row).to_contain_text("six")
    expect(plan_row).to_contain_text("1.17.0")

    tab.locator(".jp-EnvKernels-sync-apply").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-EnvKernels-plantable")).to_contain_text("six")
    # a change to an environment is never the default: the focus is on Cancel
    expect(dialog.locator("button.jp-mod-reject")).to_be_focused()
    screenshot(page, "sync-plan")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    assert "six==1.16.0" in freeze(target).lower()  # cancelled: nothing changed

    tab.locator(".jp-EnvKernels-sync-apply").click()
    dialog.locator("button", has_text="Apply").click()
    expect(tab.locator(".jp-EnvKernels-done")).to_contain_text("Synced", timeout=120_000)
    assert "six==1.17.0" in freeze(target).lower()


def test_audit_marks_a_vulnerable_environment(page) -> None:
    context_action(page, "vuln-env", "Audit Environment")
    tab = env_view(page, "vuln-env").locator(".jp-EnvKernels-tabpanel-audit")
    expect(tab.locator(".jp-EnvKernels-vulns")).to_contain_text("urllib3")
    expect(row(page, "vuln-env")).to_have_attribute("data-badge", "error")
    screenshot(page, "audit-report")


def test_a_broken_environment_shows_its_whole_problem_and_fix_and_is_not_offered(page, lab: Lab) -> None:
    item = row(page, "gone-python")
    expect(item).to_have_attribute("data-badge", "broken")
    problem = item.locator(".jp-EnvKernels-problem")
    expect(problem).to_contain_text("interpreter")
    # all of it visible: nothing clipped
    clipped = problem.evaluate(
        "el => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1"
    )
    assert not clipped
    item.hover()
    expect(item.locator('.jp-EnvKernels-rowbutton[data-command="envkernels:open-notebook"]')).to_be_disabled()
    # not in the kernelspecs, so not in the launcher
    env = env_record(lab, "gone-python")
    assert env["kernel_name"] not in lab.api("api/kernelspecs")["kernelspecs"]  # type: ignore[index]
    assert page.locator(".jp-LauncherCard", has_text="gone-python").count() == 0


def test_lock_tab_writes_a_pylock_in_the_project(page, lab: Lab) -> None:
    target = lab.root_dir / "demo-proj" / "pylock.toml"
    target.unlink(missing_ok=True)
    context_action(page, "demo-proj", "Lock Environment")
    tab = env_view(page, "demo-proj").locator(".jp-EnvKernels-tabpanel-lock")
    expect(tab.locator(".jp-EnvKernels-lock-path")).to_have_value("demo-proj/pylock.toml")
    tab.locator(".jp-EnvKernels-lock-write").click()
    expect(tab.locator(".jp-EnvKernels-done")).to_contain_text(
        "written to demo-proj/pylock.toml", timeout=120_000
    )
    assert 'name = "six"' in target.read_text()


def test_the_panel_works_from_the_keyboard_alone(page) -> None:
    # the command palette (Ctrl+Shift+C) → "Filter Environments" puts the cursor in the filter box
    page.locator("#jp-main-dock-panel").click()
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type("Filter Environments")
    page.keyboard.press("Enter")
    filt = page.locator("#envkernels-panel .jp-EnvKernels-filter-input")
    expect(filt).to_be_focused()
    page.keyboard.type("broken")
    page.keyboard.press("ArrowDown")
    expect(row(page, "broken-reqs")).to_be_focused()
    # arrows move into the row's toolbar; Enter on its Check button checks
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(row(page, "broken-reqs").locator('[data-command="envkernels:check"]')).to_be_focused()
    page.keyboard.press("Enter")
    env_view(page, "broken-reqs").locator(
        '.jp-EnvKernels-tabpanel-check tr[data-code="broken-requirement"]'
    ).first.wait_for()
    # back in the panel: Enter on a row opens its view; the context menu key opens its menu
    row(page, "broken-reqs").focus()
    page.keyboard.press("Shift+F10")
    menu = page.locator(".lm-Menu")
    expect(menu).to_be_visible()
    expect(menu).to_contain_text("Audit Environment")
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    row(page, "broken-reqs").focus()
    page.keyboard.press("Enter")
    view = env_view(page, "broken-reqs")
    expect(view.locator(".jp-EnvKernels-tab.jp-mod-current")).to_have_text("Overview")
    # the tabs: arrow keys move between them
    view.locator(".jp-EnvKernels-tab.jp-mod-current").focus()
    page.keyboard.press("ArrowRight")
    expect(view.locator(".jp-EnvKernels-tab.jp-mod-current")).to_have_text("Check")


def test_a_failed_start_shows_the_whole_problem_and_leaves_no_notebook(page, lab: Lab) -> None:
    env = make_venv(lab.env_root / "envs" / "fragile-env", ["six==1.16.0"])
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    row(page, "fragile-env").wait_for()
    # listed as fine; then its interpreter goes away before the user opens a notebook on it
    (env / "bin" / "python").unlink()
    (env / "bin" / "python").symlink_to(lab.env_root / "no-such-python-anywhere")
    notebooks_before = page.locator(".jp-NotebookPanel").count()
    row_action(page, "fragile-env", "envkernels:open-notebook")
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("cannot start")
    failure = dialog.locator(".jp-EnvKernels-startfailure")
    expect(failure).to_be_visible()
    assert "`" not in failure.inner_text()
    clipped = failure.evaluate(
        "el => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1"
    )
    assert not clipped  # the whole problem, not cut off
    copy = failure.locator(".jp-EnvKernels-fix .jp-EnvKernels-copy svg")
    assert (copy.bounding_box() or {"width": 0})["width"] > 0  # the fix's copy button shows
    screenshot(page, "start-failure")
    dialog.locator("button", has_text="Close").click()
    assert page.locator(".jp-NotebookPanel").count() == notebooks_before  # no empty notebook left
    assert not list(lab.root_dir.glob("Untitled*.ipynb"))


def test_the_sync_plan_marks_a_direct_source(page, lab: Lab) -> None:
    make_venv(lab.env_root / "envs" / "direct-env")
    local = lab.root_dir / "localpkg"
    (local / "src" / "localpkg").mkdir(parents=True, exist_ok=True)
    (local / "src" / "localpkg" / "__init__.py").write_text("")
    (local / "pyproject.toml").write_text(
        '[project]\nname = "localpkg"\nversion = "0.1"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    (lab.root_dir / "direct-lock.txt").write_text(f"six==1.16.0\nlocalpkg @ {local.as_uri()}\n")
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    row(page, "direct-env").wait_for()
    context_action(page, "direct-env", "Sync Environment to a Lock")
    tab = env_view(page, "direct-env").locator(".jp-EnvKernels-tabpanel-sync")
    tab.locator(".jp-EnvKernels-sync-lock").fill("direct-lock.txt")
    tab.locator(".jp-EnvKernels-sync-plan").click()
    direct = tab.locator('.jp-EnvKernels-plantable tr[data-change="install"]', has_text="localpkg")
    expect(direct.locator(".jp-EnvKernels-source-direct")).to_contain_text("direct: url")
    plain = tab.locator('.jp-EnvKernels-plantable tr[data-change="install"]', has_text="six")
    expect(plain).to_contain_text("index")
    assert plain.locator(".jp-EnvKernels-source").count() == 0
    # this server installs only from its index: the plan says so before anyone applies it
    expect(tab.locator(".jp-EnvKernels-warning")).to_contain_text("refuses")
    screenshot(page, "sync-plan-direct-source")


def test_an_interrupted_sync_shows_with_its_rollback(page, lab: Lab) -> None:
    env = make_venv(lab.env_root / "envs" / "half-synced", ["six==1.16.0"])
    # what a sync killed while uv runs leaves in the environment (sync/history.py's pending mark)
    mark = env / ".envkernels" / "pending.json"
    mark.parent.mkdir(exist_ok=True)
    snapshot = lab.root_dir / "half-synced-snapshot.toml"
    mark.write_text(
        json.dumps({"started": "2026-12-02T10:00:00Z", "snapshot": str(snapshot), "lock": "pylock.toml"})
    )
    page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
    item = row(page, "half-synced")
    expect(item).to_have_attribute("data-badge", "broken")
    problem = item.locator(".jp-EnvKernels-problem")
    expect(problem).to_contain_text("was interrupted")
    # the rollback command, whole, with its copy button
    fix = problem.locator(".jp-EnvKernels-fix .jp-EnvKernels-command")
    expect(fix).to_contain_text(f"envkernels sync {snapshot}")
    expect(fix.locator(".jp-EnvKernels-copy")).to_have_count(1)
    screenshot(page, "interrupted-sync")
