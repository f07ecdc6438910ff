"""What the UI tests share: the running Lab and screenshots (a module of its own: `conftest` clashes)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from envfactory import make_venv

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


def env_record(lab: Lab, name: str) -> dict:
    """The REST record of the environment called ``name``."""
    envs = lab.api("envkernels/api/environments")
    assert isinstance(envs, list)
    return next(e for e in envs if e["name"] == name)


def row(page, name: str):  # type: ignore[no-untyped-def]
    """The Environments panel's row of the environment called ``name``."""
    return page.locator(f'#envkernels-panel .jp-EnvKernels-item[data-env-name="{name}"]')


def row_action(page, name: str, command: str) -> None:  # type: ignore[no-untyped-def]
    """Click a button of a row's toolbar (it shows on hover/selection): ``command`` is its command id."""
    item = row(page, name)
    item.hover()
    item.locator(f'.jp-EnvKernels-rowbutton[data-command="{command}"]').click()


def context_action(page, name: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """Right-click a row and choose the context menu item ``label``."""
    row(page, name).locator(".jp-EnvKernels-name").click(button="right", position={"x": 4, "y": 4})
    page.locator(".lm-Menu-item", has_text=label).first.click()


def env_view(page, name: str):  # type: ignore[no-untyped-def]
    """The open Environment view of ``name`` (its tab panels are `.jp-EnvKernels-tabpanel-<tab>`)."""
    return page.locator(
        ".jp-EnvKernels-envview:visible", has=page.locator(".jp-EnvKernels-envtitle", has_text=name)
    )


def build_ui_root(root: Path) -> Path:
    """A server root holding a project with a kernel-ready ``.venv``, a venv with a broken requirement,
    one with known-vulnerable releases, and one whose interpreter is gone."""
    proj = root / "demo-proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "demo-proj"\nversion = "0.1"\nrequires-python = ">=3.10"\ndependencies = ["six"]\n'
    )
    make_venv(proj / ".venv", ["ipykernel", "six==1.16.0"])
    # requests without its dependencies: `check` must report broken-requirement for it
    make_venv(root / "envs" / "broken-reqs", ["requests==2.32.3", "six==1.16.0"], no_deps=True)
    # releases with advisories in tests/data/osv: an audit must mark it vulnerable
    make_venv(root / "envs" / "vuln-env", ["urllib3==1.24.1"], no_deps=True)
    # a venv whose interpreter was removed (its base Python uninstalled): discovery says broken
    gone = make_venv(root / "envs" / "gone-python")
    (gone / "bin" / "python").unlink()
    (gone / "bin" / "python").symlink_to(root / "no-such-python3.11")
    return root
