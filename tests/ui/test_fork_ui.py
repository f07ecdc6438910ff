"""Team (shared) environments in the panel: the "team" marker, Sync disabled, and a real fork.

A ``jupyter lab`` of its own: ``ENVKERNELS_SHARED_ROOTS`` names a read-only root holding a uv-made
venv (six, idna), forks go to ``<server root>/forks`` (``ENVKERNELS_FORK_DIR``, scanned through
the roots as the default places are off) and are installed from the session's local index.
Marked ``browser`` and ``slow``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from lab_helpers import Lab, context_action, env_record, row, screenshot
from playwright.sync_api import expect

from envfactory import freeze, make_venv

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _listing(root: Path) -> list[tuple[str, int, int]]:
    """Every path under ``root`` with its mtime (ns) and mode: what a fork must not change."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out.append((os.path.relpath(os.path.join(dirpath, name), root), st.st_mtime_ns, st.st_mode))
    return sorted(out)


@pytest.fixture(scope="module")
def team_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The administrator's shared root: ``analytics``, a venv with six and idna (no ipykernel)."""
    root = tmp_path_factory.mktemp("ui-team-root")
    make_venv(root / "analytics", ["six==1.16.0", "idna==3.7"])
    return root


@pytest.fixture(scope="module")
def fork_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's server root, with an empty ``forks`` directory."""
    root = tmp_path_factory.mktemp("ui-fork-root")
    (root / "forks").mkdir()
    return root


@pytest.fixture(scope="module")
def lab(
    fork_root: Path,
    team_root: Path,
    local_index: str,
    lab_server: Callable[..., AbstractContextManager[Lab]],
) -> Iterator[Lab]:
    env = {
        "ENVKERNELS_SHARED_ROOTS": str(team_root),
        "ENVKERNELS_FORK_DIR": str(fork_root / "forks"),
        "UV_INDEX_URL": local_index,
    }
    with lab_server(fork_root, env=env) as lab:
        yield lab


def test_a_team_environment_is_marked_and_forked_from_the_panel(  # type: ignore[no-untyped-def]
    page, lab: Lab, team_root: Path, fork_root: Path
) -> None:
    before = _listing(team_root)
    team = row(page, "analytics")
    expect(team.locator(".jp-EnvKernels-team")).to_have_text("team")
    expect(team).to_have_attribute("aria-label", re.compile(r"^analytics, team environment, "))
    assert env_record(lab, "analytics")["shared"] is True
    screenshot(page, "team-row")

    # Sync is disabled for it, and the palette's caption says to fork it
    team.locator(".jp-EnvKernels-name").click()
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type("Sync Environment to a Lock")
    sync_item = page.locator(".lm-CommandPalette-item", has_text="Sync Environment to a Lock")
    expect(sync_item).to_have_class(re.compile(r"\blm-mod-disabled\b"))
    expect(sync_item.locator(".lm-CommandPalette-itemCaption")).to_contain_text("fork it")
    page.keyboard.press("Escape")

    # Fork Environment… asks first, with the focus on Cancel: Enter cancels, nothing is made
    context_action(page, "analytics", "Fork Environment")
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Fork analytics?")
    expect(dialog.locator("button.jp-mod-reject")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    assert list((fork_root / "forks").iterdir()) == []

    context_action(page, "analytics", "Fork Environment")
    dialog.locator("button", has_text="Fork").click()
    forked = row(page, "analytics-fork")
    expect(forked).to_be_visible(timeout=180_000)
    expect(forked.locator(".jp-EnvKernels-team")).to_have_count(0)
    expect(page.locator(".jp-toast-message", has_text="Forked analytics into analytics-fork")).to_be_visible()
    screenshot(page, "team-forked")
    dest = fork_root / "forks" / "analytics-fork"
    assert freeze(dest) == freeze(team_root / "analytics")
    record = env_record(lab, "analytics-fork")
    assert record["shared"] is False
    assert record["kernel_name"] in lab.api("api/kernelspecs")["kernelspecs"]  # type: ignore[index]
    assert _listing(team_root) == before, "the fork wrote under the shared root"

    # the fork is the user's: Fork is disabled on it, Sync is not
    forked.locator(".jp-EnvKernels-name").click(button="right", position={"x": 4, "y": 4})
    menu = page.locator(".lm-Menu")
    expect(menu.locator(".lm-Menu-item", has_text="Fork Environment")).to_have_class(
        re.compile(r"\blm-mod-disabled\b")
    )
    expect(menu.locator(".lm-Menu-item", has_text="Sync Environment to a Lock")).not_to_have_class(
        re.compile(r"\blm-mod-disabled\b")
    )
    page.keyboard.press("Escape")

    # a second fork into the same place fails: the server's error and hint in a dialog
    context_action(page, "analytics", "Fork Environment")
    dialog.locator("button", has_text="Fork").click()
    failure = page.locator(".jp-Dialog .jp-EnvKernels-forkfailure")
    expect(failure).to_contain_text("already exists")
    expect(failure).to_contain_text("another DEST")
    screenshot(page, "team-fork-failed")
    page.locator(".jp-Dialog button", has_text="Close").click()
    expect(page.locator(".jp-toast-message", has_text="Forking analytics")).to_have_count(
        0
    )  # no progress left
    assert _listing(team_root) == before
