"""`envkernels check` side by side with `uv pip check` and `pip check`, in one run, on one real env.

    python benchmarks/bench_check.py [--runs 15] [--pip-runs 3] [--inproc 200]

The environment is the conformance suite's data-science + Jupyter stack (the 301 pins of
``tests/conformance/data/ds-stack.txt``: jupyterlab, pandas, scikit-learn, matplotlib, dask, ...)
installed with uv, seeded with pip so that `pip check` can run inside it. It is built once and
kept under ``$ENVKERNELS_BENCH_DIR`` (default ``~/.cache/envkernels-bench``).

Measured, as whole processes (wall time, median and min of ``--runs``):
- ``uv pip check --python <env>``;
- ``<env>/bin/python -m pip check``;
- ``envkernels check --json <env>`` with a warm cache (the case a repeated CLI run or CI step
  hits), and cold (``ENVKERNELS_NO_CACHE=1``: every METADATA read and parsed again);
- ``python -c pass`` with envkernels' interpreter: the floor any Python CLI pays here.
In-process: ``check_environment(env)`` warm (memo), warm from the on-disk cache, and cold.

Results go to ``benchmarks/results/bench_check.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from envkernels.uvbin import uv_binary

BENCH_DIR = Path(os.environ.get("ENVKERNELS_BENCH_DIR") or Path.home() / ".cache" / "envkernels-bench")
RESULTS = Path(__file__).resolve().parent / "results"
# The conformance suite's pinned data-science + Jupyter stack (303 distributions with pip): the
# environment the agreement figures are measured on is the one the speed is measured on.
PINS = Path(__file__).resolve().parents[1] / "tests" / "conformance" / "data" / "ds-stack.txt"


def _uv(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    subprocess.run([uv_binary(), *args], check=True, env=env, capture_output=True)


def build_env() -> Path:
    """The ~300-distribution environment (built once, reused while its marker file is there)."""
    prefix = BENCH_DIR / "check-ds-pinned"
    if (prefix / ".bench-complete").is_file():
        return prefix
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    _uv("venv", "--seed", "--quiet", "--clear", str(prefix), "--python", sys.executable)
    python = str(prefix / "bin" / "python")
    _uv("pip", "install", "--quiet", "--python", python, "--only-binary", ":all:", "-r", str(PINS))
    (prefix / ".bench-complete").write_text("ok\n")
    return prefix


BYTECODE_ENV: dict[str, str] = {}


def time_process(argv: Sequence[str], runs: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall times of ``runs`` executions of ``argv`` (output discarded), in ms."""
    full_env = {**os.environ, **BYTECODE_ENV, **(env or {})}
    # An installed envkernels (and pip) has .pyc files; PYTHONDONTWRITEBYTECODE (set on this machine)
    # would make every Python run here compile its modules from source, which no user pays.
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    code = None
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            argv,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            cwd=tempfile.gettempdir(),
        )
        times.append((time.perf_counter() - start) * 1000)
        code = proc.returncode
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": runs, "exit_code": code}


def time_call(fn: Callable[[], object], runs: int) -> dict[str, Any]:
    """Times of ``runs`` in-process calls, in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": runs}


def _toggle_package(prefix: Path) -> None:
    """Install or uninstall one small package (``cowsay``: nothing in the stack needs it): a changed env."""
    python = str(prefix / "bin" / "python")
    sp = next(prefix.glob("lib/python3*/site-packages"))
    if any(p.name.startswith("cowsay-") for p in sp.iterdir()):
        _uv("pip", "uninstall", "--quiet", "--python", python, "cowsay")
    else:
        _uv("pip", "install", "--quiet", "--python", python, "cowsay")


def after_install(prefix: Path, envk: list[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    """``envkernels check`` right after a package was installed or removed (caches partly stale)."""
    times = []
    for _ in range(runs):
        _toggle_package(prefix)
        times.append(time_process([*envk, "check", "--json", str(prefix)], 1, env)["median_ms"])
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": runs}


def count_distributions(prefix: Path) -> int:
    """How many ``*.dist-info`` the environment holds."""
    sp = next(prefix.glob("lib/python3*/site-packages"))
    return sum(1 for p in sp.iterdir() if p.name.endswith(".dist-info"))


def main() -> int:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--runs", type=int, default=15, help="process runs per tool")
    parser.add_argument("--pip-runs", type=int, default=3, help="runs of pip check (slow)")
    parser.add_argument("--inproc", type=int, default=200, help="in-process warm calls")
    args = parser.parse_args()

    prefix = build_env()
    n = count_distributions(prefix)
    python = str(prefix / "bin" / "python")
    console = Path(sys.executable).parent / "envkernels"  # the real entry script, not a pyenv shim
    envk = [str(console)] if console.exists() else [sys.executable, "-m", "envkernels"]
    BYTECODE_ENV["PYTHONPYCACHEPREFIX"] = str(BENCH_DIR / "pycache")
    cache_dir = tempfile.mkdtemp(prefix="envk-bench-cache-")
    cache_env = {"ENVKERNELS_CACHE_DIR": cache_dir}

    results: dict[str, Any] = {"distributions": n, "prefix": str(prefix), "python": sys.version.split()[0]}
    # Warm the caches every tool keeps (uv's interpreter cache, the OS page cache, envkernels' cache).
    time_process([uv_binary(), "pip", "check", "--python", python], 2)
    time_process([*envk, "check", "--json", str(prefix)], 2, cache_env)
    rows: list[tuple[str, dict[str, Any]]] = []
    rows.append(("python -c pass (floor)", time_process([sys.executable, "-c", "pass"], args.runs)))
    rows.append(("uv pip check", time_process([uv_binary(), "pip", "check", "--python", python], args.runs)))
    rows.append(
        (
            "envkernels check --json (warm)",
            time_process([*envk, "check", "--json", str(prefix)], args.runs, cache_env),
        )
    )
    rows.append(
        (
            "envkernels check --json (cold)",
            time_process(
                [*envk, "check", "--json", str(prefix)],
                max(3, args.runs // 3),
                {**cache_env, "ENVKERNELS_NO_CACHE": "1"},
            ),
        )
    )
    rows.append(("pip check", time_process([python, "-m", "pip", "check"], args.pip_runs)))
    rows.append(("envkernels check --json (after install)", after_install(prefix, envk, cache_env, 4)))

    os.environ["ENVKERNELS_CACHE_DIR"] = cache_dir
    from envkernels.discovery.probe import environment_from_prefix
    from envkernels.inspect import check as check_module
    from envkernels.inspect import inventory as inventory_module
    from envkernels.inspect.check import check_environment

    env = environment_from_prefix(str(prefix))
    check_environment(env)
    rows.append(("check_environment() warm (memo)", time_call(lambda: check_environment(env), args.inproc)))

    def from_disk() -> None:
        check_module.forget()
        inventory_module.forget()
        check_environment(env)

    rows.append(("check_environment() warm (disk)", time_call(from_disk, 20)))
    rows.append(("check_environment() cold", time_call(lambda: check_environment(env, use_cache=False), 3)))

    def toggled() -> None:
        _toggle_package(prefix)
        start = time.perf_counter()
        check_environment(env)
        toggled.times.append((time.perf_counter() - start) * 1000)  # type: ignore[attr-defined]

    toggled.times = []  # type: ignore[attr-defined]
    for _ in range(4):  # an even count leaves the environment as it was
        toggled()
    times = toggled.times  # type: ignore[attr-defined]
    rows.append(
        (
            "check_environment() after install",
            {"median_ms": statistics.median(times), "min_ms": min(times), "runs": len(times)},
        )
    )

    timings = dict(rows)
    uvm = timings["uv pip check"]["median_ms"]
    warm = timings["envkernels check --json (warm)"]["median_ms"]
    pipm = timings["pip check"]["median_ms"]
    floor = timings["python -c pass (floor)"]["median_ms"]
    ratios = {
        "envkernels_warm_over_uv": warm / uvm,
        "pip_over_envkernels_warm": pipm / warm,
        "envkernels_warm_minus_floor_over_uv": (warm - floor) / uvm,
        "pip_over_envkernels_cold": pipm / timings["envkernels check --json (cold)"]["median_ms"],
    }
    results["timings"] = timings
    results["ratios"] = ratios
    results["targets"] = {
        "envkernels <= 1.5x uv pip check": ratios["envkernels_warm_over_uv"] <= 1.5,
        "envkernels >= 5x faster than pip check": ratios["pip_over_envkernels_warm"] >= 5,
        "warm check_environment < 30 ms": timings["check_environment() warm (memo)"]["median_ms"] < 30,
    }
    if hasattr(os, "getloadavg"):
        results["load_average"] = os.getloadavg()

    print(f"environment: {prefix} ({n} distributions), Python {results['python']}")
    print(f"{'what':36} {'median ms':>10} {'min ms':>10}")
    for name, t in rows:
        print(f"{name:36} {t['median_ms']:10.3f} {t['min_ms']:10.3f}")
    print()
    for name, value in ratios.items():
        print(f"{name:36} {value:10.2f}")
    for name, ok in results["targets"].items():
        print(f"{'met' if ok else 'NOT met':8} {name}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_check.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
