"""Benchmark: the Environments panel with 200 environments, in a real JupyterLab and Chromium.

    python benchmarks/bench_panel.py [--envs 200] [--runs 10] [--keystrokes 40]

A real ``jupyter lab`` (isolated HOME, 127.0.0.1) and Debian's Chromium through Playwright. The
listing the panel asks for (``GET``/``POST .../environments[/refresh]``) is answered in the browser
with ``--envs`` synthetic records (``page.route``; the server is not what is measured here: its
listing has its own benchmark, bench_discovery.py), mixed over every kind, group and badge. From
the extension's own performance marks:

- first paint: from ``envkernels:listed`` (the server's answer parsed) to ``envkernels:painted``
  (a task after the next animation frame, i.e. the frame that shows the rows), per Refresh click,
  median over ``--runs`` (budget: 300 ms);
- filter keystroke: one character into the filter box (the input event's handler and the style
  and layout it causes, forced by reading a layout property), median and 95th percentile over
  ``--keystrokes`` (budget: one 60 Hz frame, 16 ms);
- a warm check: then the route is dropped and the real server lists one real venv (made with uv);
  from the click on its row's Check button to the findings shown in the Environment view, after
  one warm-up, median over ``--runs`` (budget: 500 ms; the server's check is cached, so this is
  the round trip and the drawing).

Results go to ``benchmarks/results/bench_panel.json`` and a table on stdout, each figure with its
ratio to its budget. Nothing is asserted: tests never assert on wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CHROMIUM = os.environ.get("ENVKERNELS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TOKEN = "envkernels-bench-panel"
KINDS = ["uv", "venv", "poetry", "pdm", "hatch", "pipenv", "conda", "pixi", "pyenv", "system"]
PROBLEM = "the interpreter link `bin/python` points to `/usr/bin/python3.9`, which does not exist"
VERDICTS = ["unchecked", "ok", "warning", "error", "not-checked"]


def records(n: int) -> list[dict[str, Any]]:
    """``n`` environment records as the REST API sends them, over every kind, group and badge."""
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        minor = [6, 8, 9, 10, 11, 12, 13][i % 7]
        project = f"projects/proj-{i:03d}" if i % 3 == 0 else None
        broken = i % 25 == 7
        out.append(
            {
                "id": f"{i:012x}",
                "kind": kind,
                "name": f"env-{i:03d}",
                "prefix": f"/srv/envs/{kind}/env-{i:03d}",
                "python": f"/srv/envs/{kind}/env-{i:03d}/bin/python",
                "python_version": f"3.{minor}.{i % 20}",
                "implementation": "cpython",
                "free_threaded": False,
                "project": f"/srv/{project}" if project else None,
                "project_path": project,
                "lockfiles": [],
                "has_ipykernel": True,
                "kernel_name": f"envk-{kind}-env-{i:03d}-{i:08x}",
                "status": "broken" if broken else "ok",
                "problem": PROBLEM if broken else None,
                "hint": f"`uv venv --allow-existing /srv/envs/{kind}/env-{i:03d}` re-links it"
                if broken
                else None,
                "verdict": VERDICTS[i % len(VERDICTS)],
                "verdict_at": None,
                "verdict_stale": False,
            }
        )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_lab(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``jupyter lab`` on a free port with an empty root (the listing comes from the browser route)."""
    root = home / "root"
    root.mkdir()
    from envkernels.uvbin import uv_binary

    subprocess.run([uv_binary(), "venv", "--quiet", str(root / "bench-env")], check=True)
    cfg = home / "config"
    (cfg / "labconfig").mkdir(parents=True)
    (cfg / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "CONDA"))}
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(cfg),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        ENVKERNELS_CACHE_DIR=str(home / "cache"),
        ENVKERNELS_ROOTS=str(root),
    )
    port = free_port()
    argv = [
        sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser", f"--ServerApp.token={TOKEN}",
        f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
        "--EnvKernelsApp.default_roots=False",
        "--EnvKernelSpecManager.default_roots=False", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url + "api/status", headers={"Authorization": f"token {TOKEN}"})
            urllib.request.urlopen(req, timeout=5).close()
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("error: jupyter lab did not answer within 90 s\nhint: run it by hand to see why")


PAINT_JS = """async () => {
  const before = performance.getEntriesByName('envkernels:painted').length;
  performance.clearMarks('envkernels:listed');
  document.querySelector('#envkernels-panel .jp-EnvKernels-refresh').click();
  for (let i = 0; i < 400; i++) {
    await new Promise(r => setTimeout(r, 10));
    const listed = performance.getEntriesByName('envkernels:listed');
    const painted = performance.getEntriesByName('envkernels:painted').slice(before);
    if (listed.length && painted.length) {
      const after = painted.find(p => p.startTime >= listed[0].startTime);
      if (after) return after.startTime - listed[0].startTime;
    }
  }
  return null;
}"""

CHECK_JS = """async () => {
  const row = document.querySelector('#envkernels-panel .jp-EnvKernels-item[data-env-name="bench-env"]');
  const button = row.querySelector('[data-command="envkernels:check"]');
  const t0 = performance.now();
  button.click();
  await new Promise(r => setTimeout(r, 0));
  for (let i = 0; i < 2000; i++) {
    const view = '.jp-EnvKernels-envview:not(.lm-mod-hidden)';
    const panel = document.querySelector(view + ' .jp-EnvKernels-tabpanel-check');
    const done = panel && !panel.querySelector('.jp-EnvKernels-busy');
    if (done && panel.querySelector('.jp-EnvKernels-report')) {
      await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t0;
    }
    await new Promise(r => setTimeout(r, 2));
  }
  return null;
}"""

KEYS_JS = """(n) => {
  const input = document.querySelector('#envkernels-panel .jp-EnvKernels-filter-input');
  const list = document.querySelector('#envkernels-panel .jp-EnvKernels-list');
  const text = 'env-1 uv 3.1';
  const times = [];
  for (let i = 0; i < n; i++) {
    input.value = text.slice(0, (i % text.length) + 1);
    const t0 = performance.now();
    input.dispatchEvent(new Event('input', { bubbles: true }));
    void list.offsetHeight;  // the style and layout the keystroke causes
    times.push(performance.now() - t0);
  }
  input.value = '';
  input.dispatchEvent(new Event('input', { bubbles: true }));
  return times;
}"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--envs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keystrokes", type=int, default=40)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"error: no Chromium at {CHROMIUM}\nhint: apt-get install chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    body = json.dumps(records(args.envs))
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as tmp:
        proc, url = start_lab(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.route(
                    re.compile(r".*/envkernels/api/environments(/refresh)?/?(\?.*)?$"),
                    lambda route: route.fulfill(status=200, content_type="application/json", body=body),
                )
                page.goto(f"{url}lab/workspaces/bench?reset&token={TOKEN}")
                page.locator('.jp-SideBar [data-id="envkernels-panel"]').click()
                page.locator("#envkernels-panel .jp-EnvKernels-item").first.wait_for(timeout=60_000)
                page.evaluate(PAINT_JS)  # warm-up
                paints = [page.evaluate(PAINT_JS) for _ in range(args.runs)]
                paints = [p for p in paints if p is not None]
                keys = page.evaluate(KEYS_JS, args.keystrokes)
                rows = page.locator("#envkernels-panel .jp-EnvKernels-item").count()
                page.unroute_all()
                page.locator("#envkernels-panel .jp-EnvKernels-refresh").click()
                page.locator('#envkernels-panel .jp-EnvKernels-item[data-env-name="bench-env"]').wait_for()
                page.evaluate(CHECK_JS)  # warm-up: the server's first check of it
                checks = [c for c in (page.evaluate(CHECK_JS) for _ in range(args.runs)) if c is not None]
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    paint = statistics.median(paints)
    key_median = statistics.median(keys)
    key_p95 = sorted(keys)[int(0.95 * (len(keys) - 1))]
    check = statistics.median(checks)
    results = {
        "environments": args.envs,
        "warm_check_ms": {"median": check, "runs": checks, "budget": 500.0, "ratio_to_budget": check / 500.0},
        "rows_rendered": rows,
        "first_paint_ms": {
            "median": paint,
            "runs": paints,
            "budget": 300.0,
            "ratio_to_budget": paint / 300.0,
        },
        "filter_keystroke_ms": {
            "median": key_median,
            "p95": key_p95,
            "budget": 16.0,
            "ratio_to_budget": key_median / 16.0,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_panel.json").write_text(json.dumps(results, indent=2))
    print(f"{args.envs} environments, {rows} rows")
    print(f"{'measurement':<36}{'ms':>10}{'budget':>10}{'x budget':>10}")
    print(f"{'first paint after the answer (median)':<36}{paint:>10.1f}{300:>10}{paint / 300:>10.2f}")
    print(f"{'filter keystroke (median)':<36}{key_median:>10.2f}{16:>10}{key_median / 16:>10.2f}")
    print(f"{'filter keystroke (95th percentile)':<36}{key_p95:>10.2f}{16:>10}{key_p95 / 16:>10.2f}")
    print(f"{'warm check, click to findings shown':<36}{check:>10.1f}{500:>10}{check / 500:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
