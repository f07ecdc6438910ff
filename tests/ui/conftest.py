"""A real ``jupyter lab`` with envkernels, and a real headless Chromium driven by Playwright.

The server runs in a subprocess on 127.0.0.1 with HOME and every Jupyter directory in a tmp
dir, its roots on environments made with uv for these tests, and the default places off.
Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser.
Screenshots go to ``test-artifacts/ui/`` at the repository root.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from lab_helpers import ARTIFACTS, Lab, build_ui_root, screenshot

from envfactory import UV_CACHE_DIR

CHROMIUM = os.environ.get("ENVKERNELS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TOKEN = "envkernels-ui-test-token"
# Real PyPA advisories (tests/data/osv): audits run offline, as no OSV API is reachable here.
OSV_DB = Path(__file__).resolve().parents[1] / "data" / "osv"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def ui_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The UI tests' server root (``lab_helpers.build_ui_root``); tests may add environments to it."""
    return build_ui_root(tmp_path_factory.mktemp("ui-root"))


@pytest.fixture(scope="session")
def lab_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., AbstractContextManager[Lab]]:
    """``lab_server(root, env={...})``: a context manager running ``jupyter lab`` on ``root``."""

    @contextmanager
    def run(root: Path, env: dict[str, str] | None = None) -> Iterator[Lab]:
        yield from _run_lab(root, tmp_path_factory.mktemp("ui-home"), env or {})

    return run


@pytest.fixture(scope="module")
def lab(ui_envs: Path, lab_server: Callable[..., AbstractContextManager[Lab]]) -> Iterator[Lab]:
    """``jupyter lab`` in a subprocess, isolated, scanning ``ui_envs``; stopped after the module."""
    with lab_server(ui_envs) as lab:
        yield lab


def _run_lab(ui_envs: Path, home: Path, extra_env: dict[str, str]) -> Iterator[Lab]:
    """Run ``jupyter lab`` with HOME ``home`` on root ``ui_envs`` (plus ``extra_env``) while in use."""
    for stale in ARTIFACTS.glob("FAILED-*.png"):
        stale.unlink()  # the artifacts describe this run only
    cfg = home / "jupyter-config"
    (cfg / "labconfig").mkdir(parents=True)
    # No "would you like news?" toast over the screenshots.
    (cfg / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    # envkernels' own settings come only from here and extra_env, never from the test process
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "CONDA", "ENVKERNELS_"))
        or k in ("ENVKERNELS_CHROMIUM",)
    }
    env.update(
        {
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(cfg),
            "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "ENVKERNELS_CACHE_DIR": str(home / ".cache" / "envkernels"),
            "UV_CACHE_DIR": UV_CACHE_DIR,
            "ENVKERNELS_ROOTS": str(ui_envs),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env)
    port = _free_port()
    argv = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--allow-root",
        "--no-browser",
        f"--ServerApp.token={TOKEN}",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.root_dir={ui_envs}",
        # no --ServerApp.kernel_spec_manager_class: the installed extension adopts the manager, as for users
        "--EnvKernelsApp.default_roots=False",
        f"--EnvKernelsApp.audit_db={OSV_DB}",
        f"--EnvKernelSpecManager.roots={ui_envs}",
        "--EnvKernelSpecManager.default_roots=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = home / "jupyter-lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ui_envs)
    url = f"http://127.0.0.1:{port}/"
    lab = Lab(url=url, token=TOKEN, root_dir=ui_envs, env_root=ui_envs, log=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                lab.api("api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within 90 s:\n{log.read_text()[-4000:]}")
                time.sleep(0.5)
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "jupyter-lab.log")


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Debian's headless Chromium through Playwright (no download, no video)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Remember each phase's outcome on the item, so the page fixture can keep a failure's screenshot."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser, lab: Lab, request):  # type: ignore[no-untyped-def]
    """A fresh page with JupyterLab loaded and the Environments panel open."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    # A workspace of its own per test: JupyterLab opens on the launcher, not on what the last test left.
    page.goto(f"{lab.url}lab/workspaces/{request.node.name[:40]}?reset&token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel", state="attached")
    page.locator('.jp-SideBar [data-id="envkernels-panel"]').click()
    page.wait_for_selector("#envkernels-panel .jp-EnvKernels-item")
    try:
        yield page
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            screenshot(page, f"FAILED-{request.node.name}")
    finally:
        context.close()
