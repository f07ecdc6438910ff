"""Benchmark: a warm ``%envcheck`` in a live kernel, side by side with the checks a user could run instead.

    python benchmarks/bench_magics.py [--runs 30] [--small]

A real kernel is started on a real data-science environment (about 300 distributions, built
once with uv under ``$ENVKERNELS_BENCH_DIR`` or ``~/.cache/envkernels-bench``) exactly as envkernels'
kernelspecs start it (``<env python> kernel_side/launch.py -f {connection_file}``). Measured in
the kernel, median over ``--runs``:

- ``%envcheck`` warm: the worker is running and the answer is cached (target: under 30 ms);
- ``%envcheck`` after a change: site-packages' mtime bumped before each run, so the worker recomputes;
- the peers, run from the same kernel on the same environment: ``uv pip check`` and ``pip check``
  (subprocesses, as ``!uv pip check`` would run them), and ``envkernels check --json`` as a process;
- the cell round trip of a warm ``%envcheck`` as the client sees it (ZMQ included), beside the
  round trip of an empty cell (what any cell costs in that kernel).

Results go to ``benchmarks/results/bench_magics.json`` and a table on stdout.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KERNEL_SIDE = ROOT / "src" / "envkernels" / "kernel_side"
RESULTS = ROOT / "benchmarks" / "results"
# A data-science stack with notebooks, plotting, ML, data access and docs tooling: ~300 distributions.
DS_STACK = [
    "ipykernel",
    "ipywidgets",
    "jupyterlab",
    "pandas",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "statsmodels",
    "scipy",
    "sympy",
    "plotly",
    "bokeh",
    "altair",
    "dask[complete]",
    "polars",
    "pyarrow",
    "sqlalchemy",
    "requests",
    "httpx",
    "boto3",
    "fastapi",
    "uvicorn",
    "pydantic",
    "black",
    "pytest",
    "mypy",
    "sphinx",
    "nltk",
    "networkx",
    "openpyxl",
    "beautifulsoup4",
    "lxml",
    "pillow",
    "scikit-image",
    "tqdm",
    "rich",
    "typer",
    "streamlit",
    "great-tables",
    "duckdb",
    "xarray",
    "netcdf4",
    "h5py",
    "tables",
    "numba",
    "prefect",
    "mlflow-skinny",
    "optuna",
    "shap",
    "lightgbm",
]
SMALL_STACK = ["ipykernel", "pandas", "requests"]


def bench_dir() -> Path:
    """Where the benchmark's environments live between runs."""
    return Path(os.environ.get("ENVKERNELS_BENCH_DIR") or Path.home() / ".cache" / "envkernels-bench")


def uv_bin() -> str:
    from envkernels.uvbin import uv_binary

    return uv_binary()


def ensure_env(small: bool) -> Path:
    """The benchmark environment, built once with uv (PyPI downloads come from uv's cache)."""
    prefix = bench_dir() / ("magics-small" if small else "magics-ds")
    stack = SMALL_STACK if small else DS_STACK
    stamp = prefix / ".bench-stack"
    if stamp.is_file() and stamp.read_text() == "\n".join(stack):
        return prefix
    subprocess.run(
        [uv_bin(), "venv", str(prefix), "--python", sys.executable, "--quiet", "--clear"], check=True
    )
    subprocess.run(
        [uv_bin(), "pip", "install", "--python", str(prefix / "bin" / "python"), "--quiet", *stack],
        check=True,
    )
    stamp.write_text("\n".join(stack))
    return prefix


def count_distributions(prefix: Path) -> int:
    from envkernels.core.distributions import installed_distributions

    return len(installed_distributions(prefix))


def start_kernel(prefix: Path, workdir: Path) -> tuple[Any, Any]:
    """A kernel on ``prefix`` through a real kernelspec that runs envkernels' launcher."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = workdir / "kernels" / "envk-bench"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [str(prefix / "bin" / "python"), str(KERNEL_SIDE / "launch.py"), "-f", "{connection_file}"],
        "display_name": "envkernels bench",
        "language": "python",
        "env": {
            "ENVKERNELS_ENV_ID": "bench",
            "ENVKERNELS_ENV_PREFIX": str(prefix),
            "ENVKERNELS_HOST_PYTHON": sys.executable,
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    ksm = KernelSpecManager(kernel_dirs=[str(workdir / "kernels")], ensure_native_kernel=False)
    km = KernelManager(kernel_name="envk-bench", kernel_spec_manager=ksm)
    km.start_kernel(cwd=str(workdir))
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


def run_cell(kc: Any, code: str, timeout: float = 600) -> tuple[str, float]:
    """Execute ``code``; returns (stdout, client-side seconds from request to idle)."""
    start = time.perf_counter()
    msg_id = kc.execute(code)
    out = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    elapsed = time.perf_counter() - start
    kc.get_shell_msg(timeout=timeout)
    return "".join(out), elapsed


def timed_in_kernel(kc: Any, setup: str, stmt: str, runs: int) -> list[float]:
    """Seconds of ``stmt`` per run, measured inside the kernel with perf_counter."""
    code = (
        f"import time as _t, json as _j\n{setup}\n_times = []\n"
        f"for _i in range({runs}):\n"
        f"    _s = _t.perf_counter()\n"
        + "".join(f"    {line}\n" for line in stmt.splitlines())
        + "    _times.append(_t.perf_counter() - _s)\n"
        "print(_j.dumps(_times))\n"
    )
    out, _ = run_cell(kc, code)
    return list(json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--small", action="store_true", help="a 3-package stack, for a quick look")
    args = parser.parse_args()

    prefix = ensure_env(args.small)
    dists = count_distributions(prefix)
    uv = uv_bin()
    peer_runs = max(3, args.runs // 5)
    results: dict[str, Any] = {"distributions": dists, "runs": args.runs, "prefix": str(prefix)}
    with tempfile.TemporaryDirectory() as tmp:
        km, kc = start_kernel(prefix, Path(tmp))
        try:
            _out, cold = run_cell(kc, "_ = get_ipython().run_line_magic('envcheck', '')")
            results["envcheck_first_s"] = cold
            warm = timed_in_kernel(kc, "", "_ = get_ipython().run_line_magic('envcheck', '')", args.runs)
            sp = next((prefix / "lib").glob("python*/site-packages"))
            changed = timed_in_kernel(
                kc,
                f"import os as _os\n_sp = {str(sp)!r}",
                "_os.utime(_sp)\n_ = get_ipython().run_line_magic('envcheck', '')",
                peer_runs,
            )
            trips = [run_cell(kc, "_ = %envcheck")[1] for _ in range(args.runs)]
            empty = [run_cell(kc, "pass")[1] for _ in range(args.runs)]
            uv_check = timed_in_kernel(
                kc,
                "import subprocess as _sp, sys as _sys",
                f"_sp.run([{uv!r}, 'pip', 'check', '--python', _sys.executable], capture_output=True)",
                peer_runs,
            )
            pip_check = timed_in_kernel(
                kc,
                "import subprocess as _sp, sys as _sys",
                f"_sp.run([{sys.executable!r}, '-m', 'pip', '--python', _sys.executable, 'check'], "
                "capture_output=True)",
                peer_runs,
            )
            cli_check = timed_in_kernel(
                kc,
                "import subprocess as _sp, sys as _sys",
                f"_sp.run([{sys.executable!r}, '-m', 'envkernels', 'check', _sys.prefix, '--json'], "
                "capture_output=True)",
                peer_runs,
            )
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    rows = [
        ("%envcheck warm (in kernel)", statistics.median(warm)),
        ("%envcheck warm (cell round trip)", statistics.median(trips)),
        ("empty cell round trip (kernel baseline)", statistics.median(empty)),
        ("%envcheck after site-packages change", statistics.median(changed)),
        ("uv pip check (subprocess from kernel)", statistics.median(uv_check)),
        ("pip check (subprocess from kernel)", statistics.median(pip_check)),
        ("envkernels check --json (process)", statistics.median(cli_check)),
    ]
    base = rows[0][1]
    results["median_s"] = {name: secs for name, secs in rows}
    results["ratios_vs_warm_envcheck"] = {name: secs / base for name, secs in rows}
    results["target_warm_ms"] = 30
    results["warm_under_target"] = base * 1000 < 30
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_magics.json").write_text(json.dumps(results, indent=2))

    print(f"environment: {prefix} ({dists} distributions); runs: {args.runs} (peers: {peer_runs})")
    print(f"first %envcheck (starts the worker, computes): {cold * 1000:.0f} ms")
    print(f"{'measurement':44} {'median ms':>10} {'x warm':>8}")
    for name, secs in rows:
        print(f"{name:44} {secs * 1000:10.1f} {secs / base:8.1f}")
    verdict = "meets" if results["warm_under_target"] else "MISSES"
    print(f"warm %envcheck {base * 1000:.1f} ms {verdict} the 30 ms target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
