"""A hub's worth of user servers over one shared root: envkernels beside the same servers without it.

    python benchmarks/bench_hub.py [--envs 1000] [--users 20] [--warm 20] [--rounds 1]

What a JupyterHub does when a team starts work: ``--users`` single-user servers (``jupyter
server`` processes with JupyterLab and envkernels, each with its own HOME and root_dir, and
``ENVKERNELS_SHARED_ROOTS`` naming the shared root, as ``c.Spawner.environment`` sets it) are started at
once over a shared root of ``--envs`` environments. Each environment is a cheap on-disk venv
layout (``pyvenv.cfg``, ``bin/python`` linked to this Python, an empty ``site-packages``): discovery
reads exactly these files, and 1,000 real venvs would only cost disk. For each server:

- *first*: its first ``GET /api/kernelspecs``, sent as soon as it answers ``/api/status``, all
  servers at once (the machine is as busy as a hub at nine in the morning);
- *warm*: the median of the next ``--warm`` requests, server after server, once all have started;
- *CPU*: user + system CPU seconds of the server process (and its waited-for children) from its
  start to the end of the warm requests, from ``/proc/<pid>/stat``.

By default the administrator's ``envkernels kernels prepare --dest DIR`` runs first and the
servers get ``ENVKERNELS_OVERLAY_DIRS=DIR``, as docs/jupyterhub.md configures a hub: DIR's
discovery snapshot stands in for walking the shared root while it is current (``--no-prepare``:
every server walks it).

The same servers without envkernels (its server extension off, jupyter_client's own
KernelSpecManager) run in the same way, before each round of ours; the ratios are the figures to
trust. One untimed server of each kind runs first, so that bytecode is written before any timing
(the servers run without ``PYTHONDONTWRITEBYTECODE``, as an installed Jupyter does). The
environments are kept under ``$ENVKERNELS_BENCH_DIR`` (``~/.cache/envkernels-bench``); results go
to ``benchmarks/results/bench_hub.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(os.environ.get("ENVKERNELS_BENCH_DIR") or Path.home() / ".cache" / "envkernels-bench")
RESULTS = Path(__file__).resolve().parent / "results"
TOKEN = "bench-token"
# nb_venv_kernels may be installed beside envkernels (the bench extra): it is off in both modes.
WITHOUT = {
    "ServerApp": {
        "jpserver_extensions": {"envkernels": False, "nb_venv_kernels": False},
        "kernel_spec_manager_class": "jupyter_client.kernelspec.KernelSpecManager",
    }
}
WITH = {"ServerApp": {"jpserver_extensions": {"envkernels": True, "nb_venv_kernels": False}}}


def build_shared_root(count: int) -> Path:
    """``count`` venv layouts under one root (made once, kept): what discovery reads of a venv."""
    root = BENCH_DIR / f"hub-shared{count}"
    stamp = root / ".complete"
    if stamp.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    base = os.path.realpath(sys.executable)
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    version = ".".join(str(p) for p in sys.version_info[:3])
    for i in range(count):
        prefix = root / f"team-{i:04d}"
        (prefix / "bin").mkdir(parents=True)
        (prefix / "lib" / f"python{major_minor}" / "site-packages").mkdir(parents=True)
        (prefix / "pyvenv.cfg").write_text(
            f"home = {os.path.dirname(base)}\nimplementation = CPython\nversion_info = {version}\n"
            "include-system-site-packages = false\n"
        )
        (prefix / "bin" / "python").symlink_to(base)
        (prefix / "bin" / "python3").symlink_to("python")
    stamp.write_text("")
    return root


def prepare(shared_root: Path) -> Path:
    """``envkernels kernels prepare --dest DIR``, as the administrator runs it once: the ipykernel
    overlay of the shared roots' Python and the discovery snapshot (``discovery.json``) in DIR."""
    dest = BENCH_DIR / f"hub-prepared-{shared_root.name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVKERNELS_")}
    env["ENVKERNELS_SHARED_ROOTS"] = str(shared_root)
    subprocess.run(
        [sys.executable, "-m", "envkernels", "kernels", "prepare", "--dest", str(dest)],
        env=env,
        check=True,
        capture_output=True,
    )
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of a process, in seconds (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


class UserServer:
    """One user's ``jupyter server``: own HOME, root_dir and Jupyter dirs, the hub's environment."""

    def __init__(self, home: Path, config: dict[str, Any], shared_root: Path, prepared: Path | None) -> None:
        self.port = free_port()
        self.home = home
        (home / "config").mkdir(parents=True, exist_ok=True)
        (home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
        bindir = os.path.dirname(sys.executable)
        env = {
            "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "USER": home.name,
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "ENVKERNELS_SHARED_ROOTS": str(shared_root),  # what c.Spawner.environment sets on the hub
        }
        if prepared is not None:
            env["ENVKERNELS_OVERLAY_DIRS"] = str(prepared)
        argv = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            f"--ServerApp.token={TOKEN}",
            "--ServerApp.allow_root=True",
            f"--ServerApp.root_dir={home}",
        ]
        self.log = open(home / "server.log", "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=home)
        self.started = time.perf_counter()
        self.conn: http.client.HTTPConnection | None = None
        self.result: dict[str, Any] = {}

    def get(self, path: str) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        self.conn.request("GET", path, headers={"Authorization": f"token {TOKEN}"})
        response = self.conn.getresponse()
        return response.status, response.read()

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log.name}")
            try:
                if self.get("/api/status")[0] == 200:
                    return
            except OSError:
                self.conn = None
                time.sleep(0.05)
        raise RuntimeError(f"server did not start; see {self.log.name}")

    def first_listing(self) -> None:
        """Wait for the server, then time its first ``/api/kernelspecs`` (run in a thread per server)."""
        try:
            self.wait_ready()
            t0 = time.perf_counter()
            status, body = self.get("/api/kernelspecs")
            self.result["first_ms"] = (time.perf_counter() - t0) * 1e3
            self.result["ready_s"] = time.perf_counter() - self.started
            assert status == 200, body[:200]
            self.result["listed"] = len(json.loads(body)["kernelspecs"])
        except Exception as exc:  # reported by main, with the server's log
            self.result["error"] = repr(exc)

    def warm(self, count: int) -> None:
        samples = []
        for _ in range(count):
            t0 = time.perf_counter()
            status, _body = self.get("/api/kernelspecs")
            samples.append(time.perf_counter() - t0)
            assert status == 200
        self.result["warm_ms"] = statistics.median(samples) * 1e3
        self.result["cpu_s"] = cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def run_hub(
    label: str, config: dict[str, Any], shared_root: Path, prepared: Path | None, users: int, warm: int
) -> dict[str, Any]:
    """``users`` servers started at once; their first, warm and CPU figures."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-hub-{label}-"))
    servers = []
    try:
        servers = [UserServer(workdir / f"user{i:02d}", config, shared_root, prepared) for i in range(users)]
        threads = [threading.Thread(target=s.first_listing) for s in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed = [s for s in servers if "error" in s.result]
        if failed:
            log = failed[0].home / "server.log"
            raise RuntimeError(f"{label}: {failed[0].result['error']}\n{log.read_text()[-3000:]}")
        for server in servers:
            server.warm(warm)
        results = [s.result for s in servers]
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    firsts = sorted(r["first_ms"] for r in results)
    return {
        "first_ms_median": statistics.median(firsts),
        "first_ms_max": firsts[-1],
        "warm_ms_median": statistics.median(r["warm_ms"] for r in results),
        "warm_ms_max": max(r["warm_ms"] for r in results),
        "ready_s_median": statistics.median(r["ready_s"] for r in results),
        "ready_s_max": max(r["ready_s"] for r in results),
        "cpu_s_total": sum(r["cpu_s"] for r in results),
        "listed_min": min(r["listed"] for r in results),
        "servers": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--no-prepare",
        action="store_true",
        help="no `envkernels kernels prepare` directory: every server walks the shared root itself",
    )
    args = parser.parse_args()

    shared = build_shared_root(args.envs)
    prepared = None if args.no_prepare else prepare(shared)
    print(f"shared root: {shared} ({args.envs} environments); {args.users} user servers at once")
    print(f"prepared overlay and discovery snapshot: {prepared or 'none (--no-prepare)'}")
    # One untimed server of each kind first: Python writes the bytecode of every module both kinds
    # import (as an installed package has it), so no timed server pays for compiling.
    run_hub("warm-up-without", WITHOUT, shared, prepared, 1, 1)
    run_hub("warm-up-envkernels", WITH, shared, prepared, 1, 1)
    rounds: list[dict[str, Any]] = []
    for n in range(args.rounds):
        without = run_hub("without", WITHOUT, shared, prepared, args.users, args.warm)
        ours = run_hub("envkernels", WITH, shared, prepared, args.users, args.warm)
        if ours["listed_min"] < args.envs:
            print(f"warning: a server listed only {ours['listed_min']} kernels (expected {args.envs}+)")
        rounds.append({"without": without, "envkernels": ours})
        print(f"round {n + 1}: done (load average {os.getloadavg()[0]:.1f})")

    def med(mode: str, key: str) -> float:
        return statistics.median(r[mode][key] for r in rounds)

    rows = [
        ("first /api/kernelspecs, median of servers (ms)", "first_ms_median"),
        ("first /api/kernelspecs, slowest server (ms)", "first_ms_max"),
        ("warm /api/kernelspecs, median of servers (ms)", "warm_ms_median"),
        ("warm /api/kernelspecs, slowest server (ms)", "warm_ms_max"),
        ("process start -> first listing, median (s)", "ready_s_median"),
        ("process start -> first listing, slowest (s)", "ready_s_max"),
        ("CPU of all servers, start to end (s)", "cpu_s_total"),
    ]
    print("\n| figure | envkernels | without envkernels | ratio |\n|---|---|---|---|")
    for title, key in rows:
        ours, theirs = med("envkernels", key), med("without", key)
        print(f"| {title} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}x |")
    print(
        f"kernels listed per server: envkernels {rounds[0]['envkernels']['listed_min']}+, "
        f"without {rounds[0]['without']['listed_min']}"
    )
    RESULTS.mkdir(exist_ok=True)
    out = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "args": vars(args),
        "python": sysconfig.get_python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "rounds": rounds,
    }
    (RESULTS / "bench_hub.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
