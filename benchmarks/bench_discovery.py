"""Discovery speed, side by side with `find` (the floor) and nb-venv-kernels (the peer), in one run.

    python benchmarks/bench_discovery.py [--sizes 100 500] [--repeat 15]
    python benchmarks/bench_discovery.py --big-root [--repeat 15]
    python benchmarks/bench_discovery.py --serve-big-root [--repeat 5]

``--big-root`` measures what a server's root_dir costs: one root of 20,000 directories (20 projects,
each with a ``.venv`` made by ``python -m venv`` and a source tree of ~1,000 directories), walked by
``discover([ROOT], default_roots=False)`` cold and warm, against ``find ROOT -name pyvenv.cfg`` over
the same tree (targets: cold at most 3x find, warm under 1 ms).

``--serve-big-root`` starts a real ``jupyter server`` (the envkernels extension on, a scratch HOME)
with that root as its ``root_dir`` and asks ``GET /api/kernelspecs`` over and over from the moment
the server answers, while envkernels walks the root in the background, until the 20 environments
are listed (and 20 requests more). Each request's time is kept with how many of the root's
environments it listed. Target: every answer within 150 ms, from what is known. ``--repeat``
server starts, each with a fresh HOME and cache.

Builds N real venvs with `uv venv` (each with ipykernel, so nb-venv-kernels' KernelSpecManager has a
kernelspec to list for every one) under one root per size, cached in
``$ENVKERNELS_BENCH_CACHE`` (default ``~/.cache/envkernels-bench/discovery``) so re-runs are quick.
nb-venv-kernels is installed from PyPI with uv into its own venv there. Then, per size:

* ``find ROOT -maxdepth 2 -name pyvenv.cfg`` — the floor (a process that only finds the marker
  files where environments live; the unbounded ``find`` is timed too, for reference);
* envkernels ``discover([ROOT], default_roots=False)`` cold (cache cleared), its first cache hit
  (every signature checked with ``stat``, inotify armed) and warm (later hits), timing the call in
  this process (HOME pointed at a scratch dir); plus cold and warm with the default places
  (registries, tool dirs, PATH) included;
* nb-venv-kernels: ``scan_directory(ROOT)`` registers the environments (its own scan, timed once),
  then ``VEnvKernelSpecManager().get_all_specs`` lists them — a fresh manager per repetition so its
  60 s timer cache does not answer — in a child process of its venv, timing the listing.

The measurements are interleaved round by round (find, ours, peer, find, ...) so that load from
other processes falls on each alike; medians and minimums of ``--repeat`` rounds are reported
with the ratios the targets are stated in. JSON goes to ``benchmarks/results/discovery.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from envkernels.uvbin import uv_binary

CACHE = Path(
    os.environ.get("ENVKERNELS_BENCH_CACHE") or Path.home() / ".cache" / "envkernels-bench" / "discovery"
)
RESULTS = Path(__file__).resolve().parent / "results"

# Runs inside nb-venv-kernels' venv with HOME pointed at a scratch dir: register the root's
# environments once (its own scan), then answer "list" requests on stdin with the time one
# listing took, so the parent can interleave it with the other measurements.
PEER = r"""
import json, sys, time, logging
logging.disable(logging.CRITICAL)
from nb_venv_kernels.registry import scan_directory
from nb_venv_kernels import VEnvKernelSpecManager
t = time.perf_counter()
result = scan_directory(sys.argv[1], max_depth=3)
scan_ms = (time.perf_counter() - t) * 1000
print(json.dumps({"scan_ms": scan_ms, "registered": len(result["registered"])}), flush=True)
for line in sys.stdin:
    t = time.perf_counter()
    specs = VEnvKernelSpecManager().get_all_specs  # a fresh manager: its 60 s timer cache is empty
    specs = specs() if callable(specs) else specs
    ms = (time.perf_counter() - t) * 1000
    count = sum(1 for s in specs.values() if s["spec"].get("metadata", {}).get("venv_env_path"))
    print(json.dumps({"ms": ms, "count": count}), flush=True)
"""


def uv(*args: str) -> None:
    """Run uv quietly; raise on failure."""
    subprocess.run([uv_binary(), *args, "--quiet"], check=True)


def build_root(n: int) -> Path:
    """N real venvs (uv venv + ipykernel) under one root, built once and kept in the cache."""
    root = CACHE / f"venvs-{n}"
    if (root / ".complete").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for i in range(n):
        prefix = root / f"env-{i:03d}"
        if (prefix / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").exists():
            continue
        uv("venv", "--clear", "--python", sys.executable, str(prefix))
        uv("pip", "install", "--python", str(prefix / "bin" / "python"), "ipykernel")
    (root / ".complete").write_text("ok\n")
    print(f"built {n} venvs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return root


def peer_python() -> Path:
    """nb-venv-kernels from PyPI in its own venv (never in the main Python)."""
    prefix = CACHE / "nbvk"
    python = prefix / "bin" / "python"
    if not python.exists():
        uv("venv", "--python", sys.executable, str(prefix))
        uv("pip", "install", "--python", str(python), "nb-venv-kernels")
    return python


def isolated_env(home: Path) -> dict[str, str]:
    """Environment for the children: a scratch HOME so no registry or kernelspec of this machine leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "CONDA", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        JUPYTER_PATH=str(home / "jupyter-path"),
        NO_COLOR="1",
    )
    return env


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    """Milliseconds one call of ``fn`` took."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def process_ms(root: Path, env: dict[str, str], repeat: int) -> list[float]:
    """Wall time of a whole `python -c 'discover(...)'` process (start-up and import included)."""
    code = (
        "import sys; from envkernels.discovery import discover; discover([sys.argv[1]], default_roots=False)"
    )
    return [
        timed(lambda: subprocess.run([sys.executable, "-c", code, str(root)], check=True, env=env))
        for _ in range(repeat)
    ]


def med(values: list[float]) -> float:
    return statistics.median(values)


def bench(n: int, repeat: int, peer: Path) -> dict:
    """All timings for one size, interleaved round by round so machine load hits each alike."""
    from envkernels.discovery import discover
    from envkernels.discovery.scan import clear_cache

    root = build_root(n)
    home = CACHE / f"home-{n}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = isolated_env(home)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # our discover() in this process sees the same scratch HOME
    find_floor = ["find", str(root), "-maxdepth", "2", "-name", "pyvenv.cfg"]
    find_all = ["find", str(root), "-name", "pyvenv.cfg"]
    peer_proc = subprocess.Popen(
        [str(peer), "-c", PEER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert peer_proc.stdin is not None and peer_proc.stdout is not None
    scan = json.loads(peer_proc.stdout.readline())
    keys = ("find", "cold", "first_hit", "warm", "cold_default", "warm_default", "peer")
    t: dict[str, list[float]] = {k: [] for k in keys}
    peer_count = found = 0
    try:
        for _ in range(2):  # warm the page cache and imports
            subprocess.run(find_floor, stdout=subprocess.DEVNULL, check=True)
            discover([root], default_roots=False, use_cache=False)
        for _ in range(repeat):
            t["find"].append(timed(lambda: subprocess.run(find_floor, stdout=subprocess.DEVNULL, check=True)))
            clear_cache()
            started = time.perf_counter()
            found = len(discover([root], default_roots=False))
            t["cold"].append((time.perf_counter() - started) * 1000)
            # the first hit checks every signature with stat and arms inotify; later hits read inotify
            t["first_hit"].append(timed(lambda: discover([root], default_roots=False)))
            t["warm"].append(timed(lambda: discover([root], default_roots=False)))
            clear_cache()
            t["cold_default"].append(timed(lambda: discover([root])))
            discover([root])
            t["warm_default"].append(timed(lambda: discover([root])))
            peer_proc.stdin.write("list\n")
            peer_proc.stdin.flush()
            answer = json.loads(peer_proc.stdout.readline())
            t["peer"].append(answer["ms"])
            peer_count = answer["count"]
        full_find = [
            timed(lambda: subprocess.run(find_all, stdout=subprocess.DEVNULL, check=True)) for _ in range(3)
        ]
        whole = process_ms(root, env, 5)
        # The two command lines, start-up included: their `list` reads the registry it wrote.
        ours_cli = [
            sys.executable,
            "-m",
            "envkernels",
            "list",
            "--json",
            "--no-default-roots",
            "--root",
            str(root),
        ]
        peer_cli = [str(peer.parent / "nb_venv_kernels"), "list"]
        cli_ours = [
            timed(lambda: subprocess.run(ours_cli, env=env, capture_output=True, check=True))
            for _ in range(3)
        ]
        cli_peer = [
            timed(lambda: subprocess.run(peer_cli, env=env, capture_output=True, check=True))
            for _ in range(3)
        ]
    finally:
        peer_proc.stdin.close()
        peer_proc.wait(timeout=60)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)
    row: dict[str, float | int] = {
        "n": n,
        "found_by_envkernels": found,
        "listed_by_nb_venv_kernels": peer_count,
        "nb_venv_kernels_scan_ms": scan["scan_ms"],
        "find_unbounded_ms": med(full_find),
        "envkernels_whole_process_ms": med(whole),
        "envkernels_cli_list_ms": med(cli_ours),
        "nb_venv_kernels_cli_list_ms": med(cli_peer),
    }
    for key, values in t.items():
        row[f"{key}_median_ms"] = med(values)
        row[f"{key}_min_ms"] = min(values)
    for stat in ("median", "min"):
        row[f"speedup_vs_nb_venv_kernels_{stat}"] = row[f"peer_{stat}_ms"] / row[f"cold_{stat}_ms"]
        row[f"cold_over_find_floor_{stat}"] = row[f"cold_{stat}_ms"] / row[f"find_{stat}_ms"]
    return row


def build_big_root(projects: int = 20, modules: int = 200, leaves: int = 4) -> tuple[Path, int]:
    """``projects`` projects, each a ``.venv`` and ``src/mod*/{a,b,...}``: about 20,000 directories."""
    root = CACHE / f"big-root-{projects}x{modules}x{leaves}"
    if not (root / ".complete").exists():
        for p in range(projects):
            proj = root / f"proj{p:02d}"
            (proj / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
            (proj / "pyproject.toml").write_text(f'[project]\nname = "proj{p:02d}"\nversion = "0.1"\n')
            if not (proj / ".venv" / "pyvenv.cfg").exists():
                venv = [sys.executable, "-m", "venv", "--without-pip", str(proj / ".venv")]
                subprocess.run(venv, check=True)
            for m in range(modules):
                for leaf in range(leaves):
                    (proj / "src" / f"mod{m:03d}" / chr(ord("a") + leaf)).mkdir(parents=True, exist_ok=True)
        (root / ".complete").write_text("ok\n")
    dirs = sum(len(d) for _, d, _ in os.walk(root))
    return root, dirs


def bench_big_root(repeat: int) -> dict:
    """A server root of ~20,000 directories with 20 environments: cold and warm against `find`."""
    from envkernels.discovery import discover
    from envkernels.discovery.scan import clear_cache

    root, dirs = build_big_root()
    home = CACHE / "home-big"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ.clear()
    os.environ.update(isolated_env(home))
    find = ["find", str(root), "-name", "pyvenv.cfg"]
    t: dict[str, list[float]] = {"find": [], "cold": [], "warm": []}
    found = 0
    for _ in range(2):
        subprocess.run(find, stdout=subprocess.DEVNULL, check=True)
        discover([root], default_roots=False, use_cache=False)
    for _ in range(repeat):
        t["find"].append(timed(lambda: subprocess.run(find, stdout=subprocess.DEVNULL, check=True)))
        clear_cache()
        started = time.perf_counter()
        found = len(discover([root], default_roots=False))
        t["cold"].append((time.perf_counter() - started) * 1000)
        discover([root], default_roots=False)  # the first hit arms the watcher
        t["warm"].append(timed(lambda: discover([root], default_roots=False)))
    return {
        "directories": dirs,
        "environments_found": found,
        **{f"{k}_median_ms": med(v) for k, v in t.items()},
        **{f"{k}_min_ms": min(v) for k, v in t.items()},
        "cold_over_find_median": med(t["cold"]) / med(t["find"]),
    }


def _serve(root: Path, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A ``jupyter server`` on ``root`` with the envkernels extension, HOME and caches under ``home``."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = isolated_env(home)
    env["ENVKERNELS_CACHE_DIR"] = str(home / "cache")
    env.pop("PYTHONPATH", None)
    config = home / "jupyter-config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"envkernels": True}}})
    )
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--ServerApp.token=bench",
        "--ServerApp.allow_root=True",
        f"--ServerApp.root_dir={root}",
    ]
    log = open(home / "server.log", "wb")  # noqa: SIM115 (the child holds it; closed with the run)
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT), port


def _get(conn: object, path: str) -> tuple[int, bytes]:
    conn.request("GET", path, headers={"Authorization": "token bench"})  # type: ignore[attr-defined]
    response = conn.getresponse()  # type: ignore[attr-defined]
    return response.status, response.read()


def serve_once(root: Path, home: Path, expect: int, patience: float = 180.0) -> dict:
    """One server start: ``(ms, listed)`` of each ``/api/kernelspecs`` until ``expect`` are listed."""
    import http.client

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    proc, port = _serve(root, home)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    samples: list[tuple[float, int]] = []
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited; see {home / 'server.log'}")
            try:
                if _get(conn, "/api/status")[0] == 200:
                    break
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                time.sleep(0.02)
            if time.monotonic() - started > patience:
                raise RuntimeError("the server did not start")
        ready = time.monotonic()
        prefix = str(root) + os.sep
        complete_at = None
        extra = 0
        while extra < 20 and time.monotonic() - ready < patience:
            t0 = time.perf_counter()
            status, body = _get(conn, "/api/kernelspecs")
            ms = (time.perf_counter() - t0) * 1000
            assert status == 200, body[:200]
            specs = json.loads(body)["kernelspecs"]
            listed = sum(
                1
                for m in specs.values()
                if str(
                    ((m["spec"].get("metadata") or {}).get("envkernels") or {}).get("prefix", "")
                ).startswith(prefix)
            )
            samples.append((ms, listed))
            if listed >= expect:
                if complete_at is None:
                    complete_at = time.monotonic() - ready
                extra += 1
    finally:
        conn.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    walking = [ms for ms, listed in samples if listed < expect]
    return {
        "requests": len(samples),
        "requests_while_walking": len(walking),
        "max_ms_while_walking": max(walking) if walking else None,
        "median_ms_while_walking": med(walking) if walking else None,
        "max_ms": max(ms for ms, _ in samples),
        "median_ms_after": med([ms for ms, listed in samples if listed >= expect] or [0.0]),
        "all_listed_after_s": complete_at,
        "listed_at_first": samples[0][1] if samples else 0,
    }


def bench_serve_big_root(repeat: int) -> dict:
    """``GET /api/kernelspecs`` of a real server while its big root_dir is walked in the background."""
    root, dirs = build_big_root()
    subprocess.run(["find", str(root), "-name", "pyvenv.cfg"], stdout=subprocess.DEVNULL, check=True)
    runs = [serve_once(root, CACHE / "home-serve", expect=20) for _ in range(repeat)]
    worst = max(r["max_ms"] for r in runs)
    return {
        "directories": dirs,
        "runs": runs,
        "max_ms": worst,
        "max_ms_while_walking": max((r["max_ms_while_walking"] or 0.0) for r in runs),
        "requests_while_walking": sum(r["requests_while_walking"] for r in runs),
        "median_all_listed_after_s": med([r["all_listed_after_s"] or float("nan") for r in runs]),
        "load_average": os.getloadavg(),
        "target_met": worst <= 150.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--big-root", action="store_true", help="only the 20,000-directory root")
    parser.add_argument(
        "--serve-big-root",
        action="store_true",
        help="GET /api/kernelspecs of a real server while it walks the 20,000-directory root",
    )
    args = parser.parse_args()
    if args.serve_big_root:
        served = bench_serve_big_root(args.repeat if args.repeat != 15 else 5)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "discovery-serve-big-root.json").write_text(json.dumps(served, indent=2) + "\n")
        for r in served["runs"]:
            print(
                f"{r['requests']} requests ({r['requests_while_walking']} while walking, the first listing "
                f"{r['listed_at_first']} of 20): max {r['max_ms']:.1f} ms, max while walking "
                f"{r['max_ms_while_walking'] or 0:.1f} ms, median after {r['median_ms_after']:.1f} ms; "
                f"all 20 listed after {r['all_listed_after_s'] or float('nan'):.2f} s"
            )
        print(
            f"root of {served['directories']} directories: every answer within {served['max_ms']:.1f} ms "
            f"(target <= 150 ms: {'met' if served['target_met'] else 'NOT met'}); "
            f"load {served['load_average']}"
        )
        return 0
    if args.big_root:
        big = bench_big_root(args.repeat)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "discovery-big-root.json").write_text(json.dumps(big, indent=2) + "\n")
        print(
            f"root of {big['directories']} directories, {big['environments_found']} environments found: "
            f"find {big['find_median_ms']:.1f} ms, ours cold {big['cold_median_ms']:.1f} ms "
            f"({big['cold_over_find_median']:.2f}x find; target <= 3x), warm {big['warm_median_ms']:.3f} ms "
            "(target < 1 ms); medians"
        )
        return 0
    peer = peer_python()
    rows = [bench(n, args.repeat, peer) for n in args.sizes]
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (RESULTS / "discovery.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    header = (
        "envs",
        "stat",
        "find floor",
        "ours cold",
        "1st hit",
        "ours warm",
        "cold+defaults",
        "warm+defaults",
        "nbvk listing",
        "vs nbvk",
        "vs floor",
    )
    print(" | ".join(header))
    for r in rows:
        for stat in ("median", "min"):
            print(
                " | ".join(
                    [
                        str(r["n"]),
                        stat,
                        f"{r[f'find_{stat}_ms']:.1f} ms",
                        f"{r[f'cold_{stat}_ms']:.1f} ms",
                        f"{r[f'first_hit_{stat}_ms']:.2f} ms",
                        f"{r[f'warm_{stat}_ms']:.3f} ms",
                        f"{r[f'cold_default_{stat}_ms']:.1f} ms",
                        f"{r[f'warm_default_{stat}_ms']:.3f} ms",
                        f"{r[f'peer_{stat}_ms']:.1f} ms",
                        f"{r[f'speedup_vs_nb_venv_kernels_{stat}']:.1f}x faster",
                        f"{r[f'cold_over_find_floor_{stat}']:.2f}x floor",
                    ]
                )
            )
        print(
            f"  {r['n']}: nb-venv-kernels' own scan (registering) {r['nb_venv_kernels_scan_ms']:.0f} ms; "
            f"unbounded find {r['find_unbounded_ms']:.0f} ms; a whole `python -c discover()` process "
            f"{r['envkernels_whole_process_ms']:.0f} ms; CLI `envkernels list --json` "
            f"{r['envkernels_cli_list_ms']:.0f} ms vs `nb_venv_kernels list` "
            f"{r['nb_venv_kernels_cli_list_ms']:.0f} ms"
        )
        if r["found_by_envkernels"] != r["n"] or r["listed_by_nb_venv_kernels"] != r["n"]:
            print(
                f"  note: envkernels found {r['found_by_envkernels']}, nb-venv-kernels listed "
                f"{r['listed_by_nb_venv_kernels']} of {r['n']}"
            )
    print(f"results: {RESULTS / 'discovery.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
