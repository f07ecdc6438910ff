"""A server's first look at the shared roots: walking them vs. the administrator's prepared snapshot.

    python benchmarks/bench_shared_snapshot.py [--envs 1000] [--repeat 15]

Builds N real venvs with ``uv venv`` under one shared root (cached in
``$ENVKERNELS_BENCH_CACHE``, default ``~/.cache/envkernels-bench/shared``), writes the snapshot
``envkernels kernels prepare`` writes (``discovery.json``), then times, interleaved round by round
so load falls on each alike, in a fresh process each time (what a user's server starting cold
does): ``find ROOT -maxdepth 2 -name pyvenv.cfg`` (the floor), envkernels' ``discover()`` walking
the shared root, and ``discover()`` answered from the snapshot (every recorded path ``stat``ed).
Medians and minimums, and the ratios to ``find``; JSON to ``benchmarks/results/shared_snapshot.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from envkernels.uvbin import uv_binary

CHILD = """
import os, sys, time
t = time.perf_counter()
from envkernels.discovery.scan import discover
envs = discover(default_roots=False, use_cache=False)
print(time.perf_counter() - t, len(envs))
"""


def build(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        prefix = root / f"env{i:04d}"
        if not (prefix / "pyvenv.cfg").is_file():
            subprocess.run(
                [uv_binary(), "venv", str(prefix), "--python", sys.executable, "--quiet"], check=True
            )


def timed_child(env: dict[str, str]) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    seconds, count = out.stdout.split()
    return float(seconds), int(count)


def timed_find(root: Path) -> float:
    import time

    t = time.perf_counter()
    subprocess.run(
        ["find", str(root), "-maxdepth", "2", "-name", "pyvenv.cfg"], capture_output=True, check=True
    )
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--envs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    cache = Path(
        os.environ.get("ENVKERNELS_BENCH_CACHE") or Path.home() / ".cache" / "envkernels-bench" / "shared"
    )
    root = cache / f"root-{args.envs}"
    build(root, args.envs)
    admin = Path(tempfile.mkdtemp(prefix="envk-admin-"))
    os.chmod(admin, 0o755)
    home = Path(tempfile.mkdtemp(prefix="envk-home-"))
    base = {
        **os.environ,
        "HOME": str(home),
        "ENVKERNELS_SHARED_ROOTS": str(root),
        "ENVKERNELS_NO_INOTIFY": "1",
    }
    for var in ("ENVKERNELS_ROOTS", "ENVKERNELS_OVERLAY_DIRS", "XDG_CACHE_HOME", "ENVKERNELS_CACHE_DIR"):
        base.pop(var, None)
    os.environ.update({"ENVKERNELS_SHARED_ROOTS": str(root)})
    from envkernels.discovery import snapshot
    from envkernels.discovery.context import ScanContext
    from envkernels.discovery.scan import scan_roots
    from envkernels.shared import shared_roots

    ctx = ScanContext()
    snapshot.write(admin, shared_roots(), scan_roots(shared_roots(), ctx), ctx.watched)
    times: dict[str, list[float]] = {"find": [], "walk": [], "snapshot": []}
    for _ in range(args.repeat):
        times["find"].append(timed_find(root))
        seconds, count = timed_child(base)
        assert count == args.envs, count
        times["walk"].append(seconds)
        seconds, count = timed_child({**base, "ENVKERNELS_OVERLAY_DIRS": str(admin)})
        assert count == args.envs, count
        times["snapshot"].append(seconds)
    result = {
        k: {"median_ms": round(statistics.median(v) * 1000, 2), "min_ms": round(min(v) * 1000, 2)}
        for k, v in times.items()
    }
    result["ratios"] = {
        "walk/find": round(statistics.median(times["walk"]) / statistics.median(times["find"]), 2),
        "snapshot/find": round(statistics.median(times["snapshot"]) / statistics.median(times["find"]), 2),
        "snapshot/walk": round(statistics.median(times["snapshot"]) / statistics.median(times["walk"]), 2),
    }
    result["envs"] = args.envs
    result["load_average"] = os.getloadavg()[0]
    out = Path(__file__).resolve().parent / "results" / "shared_snapshot.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
