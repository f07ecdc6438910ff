"""One visual language, seen and scanned: screenshots against baselines in Light and Dark, an
accessibility scan (axe-core) in Light, Dark and High Contrast, and a notebook's check output.

Marked ``browser`` and ``slow``. Screenshots go to ``tests/ui/artifacts/`` and are compared with
``tests/ui/baselines/`` (see ``pixeldiff.py``; ``ENVKERNELS_UPDATE_BASELINES=1`` rewrites them and
the README's images in ``docs/img/``). Paths that differ per run (tmp dirs) are masked.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from lab_helpers import Lab, build_ui_root, env_record, env_view, row, row_action, run_until_output
from pixeldiff import check_screenshot
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def ui_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root of this module's own: other UI tests add environments to the shared one, and the
    pictures must show the same four environments whatever ran before them."""
    return build_ui_root(tmp_path_factory.mktemp("visual-root"))


LIGHT, DARK, HIGH_CONTRAST = "JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast"


def set_theme(page, theme: str) -> None:  # type: ignore[no-untyped-def]
    """Choose ``theme`` in the Settings menu, as a user does, and wait until it applies."""
    if page.locator(f'body[data-jp-theme-name="{theme}"]').count():
        return
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=theme).first.click()
    page.locator(f'body[data-jp-theme-name="{theme}"]').wait_for(state="attached")
    page.mouse.move(700, 800)  # no hover state in the pictures
    page.wait_for_timeout(300)  # the theme's stylesheet settles


def serious_violations(page, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical violations inside ``selector``, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=selector)
    out = []
    for v in results.response["violations"]:
        if v.get("impact") in ("serious", "critical"):
            targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])][:5]
            out.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return out


def _open_check(page) -> object:  # type: ignore[no-untyped-def]
    row_action(page, "broken-reqs", "envkernels:check")
    view = env_view(page, "broken-reqs")
    view.locator('.jp-EnvKernels-tabpanel-check tr[data-code="broken-requirement"]').first.wait_for()
    return view


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_panel_and_environment_view_look_as_their_baselines(page, theme: str) -> None:
    set_theme(page, theme)
    slug = "light" if theme == LIGHT else "dark"
    panel = page.locator("#envkernels-panel")
    row(page, "gone-python").locator(".jp-EnvKernels-problem").wait_for()
    check_screenshot(
        panel,
        f"panel-{slug}",
        mask=[panel.locator(".jp-EnvKernels-problem")],  # tmp paths
        doc_image="panel.png" if theme == LIGHT else None,
    )
    view = _open_check(page)
    page.mouse.move(700, 850)
    check_screenshot(
        view,
        f"environment-view-{slug}",
        mask=[
            view.locator(".jp-EnvKernels-envhead .jp-EnvKernels-muted"),
            view.locator("td.jp-EnvKernels-fix"),
        ],
    )


def test_axe_finds_no_serious_violation_in_the_panel_the_view_and_the_sync_dialog(page, lab: Lab) -> None:
    (lab.root_dir / "axe-lock.txt").write_text("six==1.17.0\n")
    for theme in (LIGHT, DARK, HIGH_CONTRAST):
        set_theme(page, theme)
        assert serious_violations(page, "#envkernels-panel") == [], theme
        view = _open_check(page)
        assert serious_violations(page, ".jp-EnvKernels-envview") == [], theme
        view.locator('.jp-EnvKernels-tab[data-tab="sync"]').click()
        tab = view.locator(".jp-EnvKernels-tabpanel-sync")
        tab.locator(".jp-EnvKernels-sync-lock").fill("axe-lock.txt")
        tab.locator(".jp-EnvKernels-sync-plan").click()
        tab.locator(".jp-EnvKernels-sync-apply").click()
        page.locator(".jp-Dialog .jp-EnvKernels-plantable").wait_for()
        assert serious_violations(page, ".jp-Dialog") == [], theme
        page.keyboard.press("Escape")
        expect(page.locator(".jp-Dialog")).to_have_count(0)
        view.locator('.jp-EnvKernels-tab[data-tab="overview"]').click()


def test_a_notebook_check_output_speaks_the_same_language(page, lab: Lab) -> None:
    # demo-proj's notebook imports what the environment lacks: the check reports it with its fix
    env = env_record(lab, "demo-proj")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": env["kernel_name"],
        "display_name": env["name"],
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell("%envcheck"), nbformat.v4.new_code_cell("import idna, certifi")]
    nbformat.write(nb, lab.root_dir / "demo-proj" / "check-output.ipynb")
    page.goto(
        f"{lab.url}lab/workspaces/check-output/tree/demo-proj/check-output.ipynb?reset&token={lab.token}"
    )
    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=180_000)
    cell = notebook.locator(".jp-CodeCell").first
    output = cell.locator(".jp-OutputArea-output .envk").first
    run_until_output(page, cell.locator(".cm-content"), output, timeout=120_000)
    fix = output.locator("code.fix").first
    fix.wait_for()
    # left-aligned cells (JupyterLab's rendered tables are right-aligned), no literal backticks,
    # a copy button beside every fix command (the extension adds them), monospace package names
    align = output.locator("td").first.evaluate("el => getComputedStyle(el).textAlign")
    assert align in ("left", "start"), align
    expect(output).to_contain_text("idna")
    assert "`" not in output.inner_text()
    commands = output.locator("code.fix").evaluate_all(
        "cs => cs.filter(c => /\\s/.test(c.textContent.trim())).length"
    )
    assert commands > 0
    expect(output.locator(".envk-copy")).to_have_count(commands)
    mono = output.locator("td.m").first.evaluate("el => getComputedStyle(el).fontFamily")
    assert "mono" in mono.lower(), mono
    for theme in (LIGHT, DARK):
        set_theme(page, theme)
        slug = "light" if theme == LIGHT else "dark"
        check_screenshot(
            output,
            f"notebook-check-{slug}",
            mask=[output.locator("code.fix"), output.locator(".muted")],  # tmp paths
            doc_image="notebook-check.png" if theme == LIGHT else None,
        )
    set_theme(page, LIGHT)
