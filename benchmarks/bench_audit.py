"""`envkernels audit` side by side with pip-audit, in one run, on one ~300-distribution environment.

    python benchmarks/bench_audit.py [--runs 7] [--pip-audit-runs 1] [--latency 0.05] [--db DIR]

The environment (~290 distributions: jupyterlab, pandas, django 3.2.0, paramiko 2.10.0, ... some of
them old on purpose so that there is something to find) is built once with uv and kept under
``$ENVKERNELS_BENCH_DIR`` (default ``~/.cache/envkernels-bench/audit-300``); pip-audit is installed in
its own uv venv beside it. The advisory database is a copy of the PyPI advisory database in OSV
form (``--db DIR``; the default looks for ``shared/data/osv-pypi`` two levels above this script).

Measured:

- local database, in a fresh process (``audit_environment`` timed inside it, and the whole process):
  the first audit (index built), *cold* (index on disk, nothing in memory) and *warm* (repeated
  calls in one process, the kernel's ``%envaudit`` case);
- the API path against a real OSV-speaking server on 127.0.0.1 (tests/audit/osv_server.py) serving
  the same snapshot with ``--latency`` seconds added to every request: envkernels (one querybatch,
  records fetched concurrently) with an empty and with a filled answer cache, and pip-audit
  (``--osv-url``, one ``/v1/query`` per package) with an empty cache. pip-audit cannot read a local
  OSV directory, so the API path is where the two compare like for like.

Results go to ``benchmarks/results/bench_audit.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from envkernels.uvbin import uv_binary

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(os.environ.get("ENVKERNELS_BENCH_DIR") or Path.home() / ".cache" / "envkernels-bench")
RESULTS = ROOT / "benchmarks" / "results"
STACK = (
    *(
        "jupyterlab",
        "pandas",
        "matplotlib",
        "boto3",
        "django==3.2.0",
        "pillow==9.3.0",
        "cryptography==39.0.0",
    ),
    *("pyyaml==6.0.1", "sqlalchemy", "celery", "scrapy", "sphinx", "black", "pytest", "tox", "fastapi"),
    *("uvicorn", "httpx", "aiohttp==3.8.5", "requests==2.25.0", "urllib3==1.26.4", "flask", "dask"),
    *("distributed", "sympy", "networkx", "bokeh", "streamlit", "pydantic", "rich", "typer", "click"),
    *("mkdocs-material", "pylint", "flake8", "pre-commit", "ansible-core", "paramiko==2.10.0", "fabric"),
    *("twisted", "google-cloud-storage", "azure-storage-blob", "openpyxl", "lxml", "beautifulsoup4"),
    *("gunicorn", "redis", "pymongo", "psycopg2-binary", "sentry-sdk", "grpcio", "jupyter"),
)

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from envkernels.discovery.probe import environment_from_prefix
from envkernels.audit.run import audit_environment
env = environment_from_prefix(sys.argv[1])
kw = {"db": sys.argv[2]} if sys.argv[2] != "-" else {"api_url": sys.argv[3]}
t1 = time.perf_counter()
report = audit_environment(env, **kw)
t2 = time.perf_counter()
warm = []
for _ in range(int(sys.argv[4])):
    s = time.perf_counter(); audit_environment(env, **kw); warm.append((time.perf_counter() - s) * 1000)
print(json.dumps({"import_ms": (t1 - t0) * 1000, "audit_ms": (t2 - t1) * 1000, "warm_ms": warm,
                  "vulnerabilities": len(report.to_dict()["vulnerabilities"]),
                  "skipped": len(report.to_dict()["skipped"])}))
"""


def _uv(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    subprocess.run([uv_binary(), *args], check=True, env=env, capture_output=True)


def build_env() -> Path:
    """The ~300-distribution environment (built once; reused while its marker file is there)."""
    prefix = BENCH_DIR / "audit-300"
    if not (prefix / ".bench-complete").is_file():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        if not (prefix / "pyvenv.cfg").is_file():
            _uv("venv", "--quiet", str(prefix), "--python", sys.executable)
        _uv(
            "pip",
            "install",
            "--quiet",
            "--only-binary",
            ":all:",
            "--python",
            str(prefix / "bin" / "python"),
            *STACK,
        )
        (prefix / ".bench-complete").write_text("ok\n")
    return prefix


def build_pip_audit() -> Path:
    """pip-audit in its own uv venv (never in the main Python)."""
    venv = BENCH_DIR / "pip-audit-venv"
    exe = venv / "bin" / "pip-audit"
    if not exe.is_file():
        _uv("venv", "--quiet", str(venv), "--python", sys.executable)
        _uv("pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "pip-audit")
    return exe


def child(prefix: Path, db: str, api: str, warm: int, cache: str) -> tuple[dict[str, Any], float]:
    """Run one fresh interpreter auditing ``prefix``; its own timings and its wall time (ms)."""
    env = {**os.environ, "ENVKERNELS_CACHE_DIR": cache}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(prefix), db, api, str(warm)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = (time.perf_counter() - start) * 1000
    return json.loads(proc.stdout), wall


def pip_audit(exe: Path, site_packages: Path, url: str) -> tuple[float, int]:
    """One pip-audit run against the server with an empty cache: wall ms and vulnerabilities found."""
    with tempfile.TemporaryDirectory(prefix="pip-audit-cache-") as cache:
        start = time.perf_counter()
        proc = subprocess.run(
            [
                str(exe),
                "--path",
                str(site_packages),
                "-s",
                "osv",
                "--osv-url",
                f"{url}/v1/query",
                "--cache-dir",
                cache,
                "-f",
                "json",
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = (time.perf_counter() - start) * 1000
    try:
        data = json.loads(proc.stdout)
    except ValueError as exc:
        raise SystemExit(f"pip-audit failed ({proc.returncode}): {proc.stderr[-2000:]}") from exc
    return wall, sum(len(d.get("vulns", [])) for d in data["dependencies"])


def med(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per envkernels case")
    parser.add_argument("--warm", type=int, default=30, help="warm calls inside one process")
    parser.add_argument(
        "--pip-audit-runs", type=int, default=1, help="pip-audit runs (slow: one request each)"
    )
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every API request")
    parser.add_argument(
        "--db",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "osv-pypi"),
        help="the OSV snapshot (default: shared/data/osv-pypi beside the repository)",
    )
    args = parser.parse_args()

    prefix = build_env()
    site_packages = next(prefix.glob("lib/python3*/site-packages"))
    n = sum(1 for p in site_packages.iterdir() if p.name.endswith(".dist-info"))
    pip_audit_exe = build_pip_audit()
    rows: list[tuple[str, float, str]] = []
    results: dict[str, Any] = {"distributions": n, "db": args.db, "latency_s": args.latency}

    # Local database: first use (index built), cold (index on disk), warm (in one process).
    cache = tempfile.mkdtemp(prefix="envk-bench-audit-")
    first, first_wall = child(prefix, args.db, "-", 0, cache)
    cold = [child(prefix, args.db, "-", 0, cache) for _ in range(args.runs)]
    reread = []
    for _ in range(max(1, args.runs // 2)):
        shutil.rmtree(Path(cache) / "check", ignore_errors=True)  # the inventory cache: METADATA read again
        reread.append(child(prefix, args.db, "-", 0, cache))
    warm, _ = child(prefix, args.db, "-", args.warm, cache)
    results["local"] = {
        "first_use_ms": first["audit_ms"],
        "first_use_process_ms": first_wall,
        "cold_ms": med([c[0]["audit_ms"] for c in cold]),
        "cold_process_ms": med([c[1] for c in cold]),
        "cold_metadata_reread_ms": med([c[0]["audit_ms"] for c in reread]),
        "warm_ms": med(warm["warm_ms"]),
        "vulnerabilities": first["vulnerabilities"],
    }
    rows += [
        ("envkernels, local db, first use (index built)", first["audit_ms"], "in process"),
        ("envkernels, local db, cold (index on disk)", results["local"]["cold_ms"], "in process"),
        ("envkernels, local db, cold, whole CLI-like process", results["local"]["cold_process_ms"], "wall"),
        (
            "envkernels, local db, cold, METADATA re-read too",
            results["local"]["cold_metadata_reread_ms"],
            "in process",
        ),
        ("envkernels, local db, warm (%envaudit again)", results["local"]["warm_ms"], "in process"),
    ]

    # API path, against one server for both tools.
    sys.path.insert(0, str(ROOT / "tests" / "audit"))
    from osv_server import serve_osv

    with serve_osv(Path(args.db) / "vulns") as (url, state):
        state.latency = args.latency
        api_cold = []
        fresh = tempfile.mkdtemp(prefix="envk-bench-api-")
        child(prefix, "-", url, 0, fresh)  # warm the server itself (its own parsing) before timing anyone
        for _ in range(max(1, args.runs // 2)):
            shutil.rmtree(Path(fresh) / "osv-api", ignore_errors=True)  # empty answer cache, inventory kept
            state.requests.clear()
            out, wall = child(prefix, "-", url, 0, fresh)
            api_cold.append((out, wall, len(state.requests)))
        api_warm, _ = child(prefix, "-", url, 3, fresh)  # the answers are cached now
        state.requests.clear()
        pa = [pip_audit(pip_audit_exe, site_packages, url) for _ in range(args.pip_audit_runs)]
        pa_requests = len(state.requests) // max(1, args.pip_audit_runs)
    ours_cold = med([c[0]["audit_ms"] for c in api_cold])
    ours_cold_wall = med([c[1] for c in api_cold])
    pa_wall = med([p[0] for p in pa])
    results["api"] = {
        "envkernels_cold_ms": ours_cold,
        "envkernels_cold_process_ms": ours_cold_wall,
        "envkernels_requests": api_cold[-1][2],
        "envkernels_cached_ms": med(api_warm["warm_ms"]),
        "envkernels_vulnerabilities": api_cold[-1][0]["vulnerabilities"],
        "pip_audit_process_ms": pa_wall,
        "pip_audit_vulnerabilities": pa[-1][1],
        "pip_audit_requests_per_run": pa_requests,
        "ratio_pip_audit_over_envkernels": round(pa_wall / ours_cold_wall, 1),
    }
    rows += [
        (f"envkernels, OSV API (+{args.latency * 1000:g} ms/request), empty cache", ours_cold, "in process"),
        ("envkernels, OSV API, empty cache, whole process", ours_cold_wall, "wall"),
        ("envkernels, OSV API, answers cached", results["api"]["envkernels_cached_ms"], "in process"),
        (f"pip-audit --osv-url (+{args.latency * 1000:g} ms/request), empty cache", pa_wall, "wall"),
    ]

    for tmp in (cache, fresh):
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_audit.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{n} distributions, snapshot {args.db}")
    width = max(len(r[0]) for r in rows)
    for label, ms, kind in rows:
        print(f"{label.ljust(width)}  {ms:10.1f} ms  ({kind})")
    api = results["api"]
    print(
        f"API path: pip-audit / envkernels = {api['ratio_pip_audit_over_envkernels']}x "
        f"({api['pip_audit_requests_per_run']} vs {api['envkernels_requests']} requests; "
        f"{api['pip_audit_vulnerabilities']} vs {api['envkernels_vulnerabilities']} vulnerabilities reported)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
