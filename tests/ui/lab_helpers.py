"""What the UI tests share: the running Lab and screenshots (a module of its own: `conftest` clashes)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


@dataclass
class Lab:
    """A running JupyterLab: where it answers, its root dir, the env root it scans, its log."""

    url: str
    token: str
    root_dir: Path
    env_root: Path
    log: Path

    def api(self, path: str) -> object:
        """GET a server API path (JSON), authenticated with the token."""
        req = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save a screenshot under test-artifacts/ui/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def run_until_output(page, editor, output, *, timeout: int = 60_000, tries: int = 4) -> None:  # type: ignore[no-untyped-def]
    """Run the cell whose editor is ``editor`` (Ctrl+Enter) until the locator ``output`` shows.

    Under load, the first execute of a just-connected kernel is now and then dropped by the front
    end (the prompt stays `[ ]`); the cell is run in place again then, ``tries`` times at most.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _attempt in range(tries):
        editor.click()
        page.keyboard.press("Control+Enter")
        try:
            output.wait_for(timeout=timeout)
            return
        except PlaywrightTimeout:
            continue
    output.wait_for(timeout=5_000)
