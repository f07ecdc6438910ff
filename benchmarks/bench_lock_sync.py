"""Benchmark: `envkernels lock` / `envkernels sync --yes` side by side with uv on one environment.

    python benchmarks/bench_lock_sync.py [--repeat N] [--packages "numpy pandas ..."]

1. lock: ``envkernels lock ENV -o pylock.toml`` vs ``uv pip freeze`` + ``uv pip compile
   --generate-hashes --format pylock.toml`` of that freeze (what a user would run with uv alone);
   target ratio <= 1.5.
2. sync: ``envkernels sync pylock.toml --target NEW --yes`` vs ``uv pip sync pylock.toml --python NEW``
   into fresh empty venvs, from the same lock and a warm uv cache; target overhead < 10%.

Each command runs once to warm caches, then ``--repeat`` times; the median counts. The environment
lives under ``$ENVKERNELS_BENCH_DIR`` (default ``~/.cache/envkernels-bench``). Results go to
``benchmarks/results/bench_lock_sync.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from envkernels.uvbin import uv_binary

HERE = Path(__file__).resolve().parent
DEFAULT_PACKAGES = "numpy pandas matplotlib scikit-learn ipykernel"


# Extra environment for every command run (set in main): where Python keeps envkernels' bytecode.
RUN_ENV: dict[str, str] = {}


def sh(*argv: str, cwd: Path | None = None) -> float:
    """Run argv; its wall time in seconds (raises on failure)."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    if RUN_ENV:
        # An installed envkernels has .pyc files; PYTHONDONTWRITEBYTECODE (set on this machine) would
        # make every run compile all its modules from source, which no user pays.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(RUN_ENV)
    start = time.perf_counter()
    proc = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    return took


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Warm once, then the median of ``repeat`` runs of ``fn() -> seconds``."""
    fn()
    return statistics.median(fn() for _ in range(repeat))


def main() -> int:
    """Run both comparisons and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--packages", default=DEFAULT_PACKAGES)
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE as set (envkernels then compiles its modules on every run)",
    )
    args = parser.parse_args()
    uv = uv_binary()
    work = (
        Path(os.environ.get("ENVKERNELS_BENCH_DIR", Path.home() / ".cache" / "envkernels-bench"))
        / "lock_sync"
    )
    work.mkdir(parents=True, exist_ok=True)
    if not args.no_bytecode:
        RUN_ENV["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env = work / "env"
    if not (env / "pyvenv.cfg").exists():
        sh(uv, "venv", str(env), "--python", sys.executable, "--quiet")
        sh(uv, "pip", "install", "--python", str(env / "bin" / "python"), "--quiet", *args.packages.split())
    py = str(env / "bin" / "python")
    envk = [sys.executable, "-m", "envkernels"]
    ours_lock = work / "pylock.toml"
    uv_lock = work / "uv" / "pylock.toml"
    uv_lock.parent.mkdir(exist_ok=True)
    freeze_file = work / "uv" / "requirements.txt"

    def lock_ours() -> float:
        return sh(*envk, "lock", str(env), "-o", str(ours_lock))

    def lock_uv() -> float:
        start = time.perf_counter()
        out = subprocess.run(
            [uv, "pip", "freeze", "--python", py], capture_output=True, text=True, check=True
        )
        freeze_file.write_text(out.stdout)
        sh(
            uv,
            "pip",
            "compile",
            str(freeze_file),
            "--generate-hashes",
            "--format",
            "pylock.toml",
            "--python",
            py,
            "--quiet",
            "-o",
            str(uv_lock),
        )
        return time.perf_counter() - start

    def fresh(name: str) -> Path:
        target = work / name
        shutil.rmtree(target, ignore_errors=True)
        sh(uv, "venv", str(target), "--python", sys.executable, "--quiet")
        return target

    def timed_sync(kind: str) -> float:
        target = fresh(f"sync-{kind}")
        if kind == "ours":
            return sh(*envk, "sync", str(ours_lock), "--target", str(target), "--yes")
        return sh(uv, "pip", "sync", "--python", str(target / "bin" / "python"), "--quiet", str(ours_lock))

    # Interleave so machine load affects both sides alike.
    lock_runs: dict[str, list[float]] = {"ours": [], "uv": []}
    sync_runs: dict[str, list[float]] = {"ours": [], "uv": []}
    lock_ours(), lock_uv()
    timed_sync("ours"), timed_sync("uv")
    for _ in range(args.repeat):
        lock_runs["ours"].append(lock_ours())
        lock_runs["uv"].append(lock_uv())
        sync_runs["ours"].append(timed_sync("ours"))
        sync_runs["uv"].append(timed_sync("uv"))
    # The CLI's own start-up (every command module is imported), part of both envkernels figures.
    startup = statistics.median(sh(*envk, "--version") for _ in range(args.repeat))
    packages = ours_lock.read_text().count("[[packages]]")
    rows = []
    for what, runs, target in (("lock", lock_runs, 1.5), ("sync --yes", sync_runs, 1.10)):
        ours, peer = statistics.median(runs["ours"]), statistics.median(runs["uv"])
        rows.append(
            {
                "operation": what,
                "envkernels_s": round(ours, 3),
                "uv_s": round(peer, 3),
                "ratio": round(ours / peer, 3),
                "target_ratio": target,
                "runs": runs,
            }
        )
    result = {
        "packages": packages,
        "python": sys.version.split()[0],
        "repeat": args.repeat,
        "uv": subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.strip(),
        "load_average": os.getloadavg(),
        "bytecode_cache": RUN_ENV.get("PYTHONPYCACHEPREFIX"),
        "rows": rows,
    }
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench_lock_sync.json").write_text(json.dumps(result, indent=2))
    print(f"{packages} packages, {result['uv']}, median of {args.repeat} (after a warm-up run)")
    print(f"bytecode: {RUN_ENV.get('PYTHONPYCACHEPREFIX') or 'not written (PYTHONDONTWRITEBYTECODE kept)'}")
    print(f"envkernels CLI start-up alone (`envkernels --version`): {startup:.3f}s")
    print(f"{'operation':<12} {'envkernels':>11} {'uv':>9} {'ratio':>7} {'target':>7}")
    for r in rows:
        print(
            f"{r['operation']:<12} {r['envkernels_s']:>10.3f}s {r['uv_s']:>8.3f}s {r['ratio']:>7.2f} "
            f"{r['target_ratio']:>7.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
