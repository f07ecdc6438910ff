"""Kernel listing and kernel start: envkernels side by side with nb-venv-kernels, in one run.

    python benchmarks/bench_kernels.py [--envs 200] [--warm 50] [--trials 3] [--kernel-trials 15]

1. ``GET /api/kernelspecs`` of a real ``jupyter server`` process over the same N uv-made venvs
   (each with ipykernel's wheel, so both tools list all of them), for:
   - envkernels (``EnvKernelSpecManager``, default settings: a listing younger than
     ``refresh_interval`` = 2 s is served from memory);
   - envkernels with ``refresh_interval = 0`` (every request asks discovery again, off the loop);
   - envkernels with ``prewarm = False`` (the first request builds the first listing itself);
   - nb-venv-kernels (PyPI; its own uv venv and server process; the N venvs in its registry).
   *cold* = the first request after the server answers ``/api/status``; *warm* = the median of
   the next ``--warm`` requests on one keep-alive connection; *ready* = from process start until
   the first listing is answered.
2. Kernel start (``start_kernel`` until ``kernel_info`` answers) of one environment, through
   envkernels (launcher + provisioner + extension) and by hand (``python -m ipykernel_launcher``
   from a plain kernel.json), alternating (the order rotates each round), median of
   ``--kernel-trials``; the environment's bytecode is compiled first, as after its first use.

Environments and the peer's venv are kept under ``$ENVKERNELS_BENCH_DIR`` (default
``~/.cache/envkernels-bench``); results go to ``benchmarks/results/bench_kernels.json``.
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
import tempfile
import time
from pathlib import Path
from typing import Any

from envkernels.uvbin import uv_binary

BENCH_DIR = Path(os.environ.get("ENVKERNELS_BENCH_DIR") or Path.home() / ".cache" / "envkernels-bench")
RESULTS = Path(__file__).resolve().parent / "results"
TOKEN = "bench-token"
PEER_CLASS = "nb_venv_kernels.VEnvKernelSpecManager"


def uv(*args: str) -> None:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    subprocess.run([uv_binary(), *args], check=True, env=env, capture_output=True)


def build_envs(count: int) -> Path:
    """N venvs under one root, each with ipykernel's wheel (no deps: only the listing is measured)."""
    root = BENCH_DIR / f"envs{count}"
    stamp = root / ".complete"
    if stamp.is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        prefix = root / f"env-{i:03d}"
        if not (prefix / "share" / "jupyter" / "kernels").is_dir():
            uv("venv", "--quiet", "--allow-existing", str(prefix), "--python", sys.executable)
            uv(
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--python",
                str(prefix / "bin" / "python"),
                "ipykernel",
            )
    stamp.write_text("ok\n")
    return root


def build_kernel_env() -> Path:
    """One complete environment (ipykernel with its dependencies) for the kernel start timing."""
    prefix = BENCH_DIR / "kernel-env"
    python = str(prefix / "bin" / "python")
    if not (prefix / "share" / "jupyter" / "kernels").is_dir():
        uv("venv", "--quiet", "--allow-existing", str(prefix), "--python", sys.executable)
        uv("pip", "install", "--quiet", "--python", python, "ipykernel")
    # uv writes no .pyc and PYTHONDONTWRITEBYTECODE may be set: without this, every kernel start
    # compiles ~600 modules (~1 s of CPU, +-200 ms of noise), hiding what is being measured.
    # An environment that has run once has its bytecode; compileall skips what is current.
    code = "import compileall, sysconfig; compileall.compile_dir(sysconfig.get_path('purelib'), quiet=1)"
    subprocess.run([python, "-c", code], check=True, capture_output=True)
    return prefix


def build_peer() -> Path:
    """nb-venv-kernels and jupyter_server in their own uv venv (never in the main Python)."""
    prefix = BENCH_DIR / "peer-venv"
    python = prefix / "bin" / "python"
    if not python.exists():
        uv("venv", "--quiet", str(prefix), "--python", sys.executable)
    uv("pip", "install", "--quiet", "--python", str(python), "nb-venv-kernels", "jupyter_server")
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``jupyter server`` subprocess with its own HOME and Jupyter dirs."""

    def __init__(self, python: str, home: Path, config: dict[str, Any]) -> None:
        self.port = free_port()
        home.mkdir(parents=True, exist_ok=True)
        (home / "config").mkdir(exist_ok=True)
        (home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
        env = dict(
            os.environ,
            HOME=str(home),
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            ENVKERNELS_CACHE_DIR=str(home / "cache"),
        )
        env.pop("PYTHONPATH", None)
        argv = [
            python,
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
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        self.conn.request("GET", path, headers={"Authorization": f"token {TOKEN}"})
        response = self.conn.getresponse()
        return response.status, response.read()

    def wait_ready(self, timeout: float = 120) -> None:
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
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def time_listing(python: str, home: Path, config: dict[str, Any], warm: int, expect: int) -> dict[str, Any]:
    """Start a server, time its first and then ``warm`` more ``GET /api/kernelspecs``."""
    server = Server(python, home, config)
    try:
        server.wait_ready()
        t0 = time.perf_counter()
        status, body = server.get("/api/kernelspecs")
        cold = time.perf_counter() - t0
        ready = time.perf_counter() - server.started
        assert status == 200, body[:200]
        listed = len(json.loads(body)["kernelspecs"])
        samples = []
        for _ in range(warm):
            t0 = time.perf_counter()
            server.get("/api/kernelspecs")
            samples.append(time.perf_counter() - t0)
    finally:
        server.stop()
    if listed < expect:
        print(f"warning: only {listed} kernelspecs listed (expected {expect}+); see {home / 'server.log'}")
    samples.sort()
    return {
        "cold_ms": cold * 1e3,
        "warm_ms": statistics.median(samples) * 1e3,
        "warm_p90_ms": samples[int(len(samples) * 0.9) - 1] * 1e3,
        "ready_s": ready,
        "listed": listed,
    }


def median_of(trials: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("cold_ms", "warm_ms", "warm_p90_ms", "ready_s")
    out = {k: statistics.median(t[k] for t in trials) for k in keys}
    out["listed"] = trials[0]["listed"]
    return out


def time_kernel_starts(prefix: Path, trials: int) -> dict[str, Any]:
    """Median kernel start through envkernels and by hand, alternating."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    from envkernels.discovery import environment_from_prefix
    from envkernels.kernels.manager import EnvKernelSpecManager

    env = environment_from_prefix(prefix)
    tmp = Path(tempfile.mkdtemp(prefix="bench-kernels-"))
    os.environ["ENVKERNELS_CACHE_DIR"] = str(tmp / "cache")
    os.environ.pop("PYTHONPATH", None)
    plain_dir = tmp / "kernels" / "by-hand"
    plain_dir.mkdir(parents=True)
    (plain_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [  # what `ipykernel install` writes
                    str(prefix / "bin" / "python"),
                    "-Xfrozen_modules=off",
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "by hand",
                "language": "python",
            }
        )
    )
    ours = EnvKernelSpecManager(roots=[str(prefix.parent)], default_roots=False)
    ours.get_all_specs()
    # As installed by pip, the magics extension has its .pyc for this (the host's) Python; an
    # editable checkout run with PYTHONDONTWRITEBYTECODE would compile it on every start instead.
    side = Path(ours.launch_settings().launcher).parent
    subprocess.run([str(prefix / "bin" / "python"), "-m", "compileall", "-q", str(side)], check=True)
    # The launcher alone: a copy of launch.py without the magics extension beside it, same env block.
    bare_launcher = tmp / "launcher-only" / "launch.py"
    bare_launcher.parent.mkdir()
    shutil.copy2(Path(ours.launch_settings().launcher), bare_launcher)
    launcher_dir = tmp / "kernels" / "launcher-only"
    launcher_dir.mkdir()
    full = ours.get_kernel_spec(env.kernel_name)
    (launcher_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [*full.argv[:-3], str(bare_launcher), "-f", "{connection_file}"],
                "env": full.env,
                "display_name": "launcher only",
                "language": "python",
            }
        )
    )
    plain = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])

    def cpu_seconds(pid: int) -> float:
        """User + system CPU the kernel process has used (Linux /proc): far less noisy than wall time."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def one(ksm: KernelSpecManager, name: str) -> tuple[float, float]:
        km = KernelManager(kernel_name=name, kernel_spec_manager=ksm)
        t0 = time.perf_counter()
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(km.provisioner.process.pid)  # type: ignore[union-attr]
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        return elapsed, cpu

    one(plain, "by-hand")  # warm the OS caches for both
    one(ours, env.kernel_name)
    runs: dict[str, list[tuple[float, float]]] = {"by_hand": [], "launcher_only": [], "envkernels": []}
    variants = [("by_hand", plain, "by-hand"), ("launcher_only", plain, "launcher-only")]
    variants.append(("envkernels", ours, env.kernel_name))
    for trial in range(trials):
        # Rotate the order: a fixed one gives each variant the same position in every round.
        for label, ksm, name in variants[trial % 3 :] + variants[: trial % 3]:
            runs[label].append(one(ksm, name))
    shutil.rmtree(tmp, ignore_errors=True)
    out: dict[str, Any] = {}
    for label, samples in runs.items():
        out[f"{label}_ms"] = statistics.median(w for w, _ in samples) * 1e3
        out[f"{label}_cpu_ms"] = statistics.median(c for _, c in samples) * 1e3
        out[f"{label}_all_ms"] = [w * 1e3 for w, _ in samples]
        out[f"{label}_all_cpu_ms"] = [c * 1e3 for _, c in samples]
    for what in ("ms", "cpu_ms"):
        out[f"overhead_{what}"] = out[f"envkernels_{what}"] - out[f"by_hand_{what}"]
        out[f"launcher_overhead_{what}"] = out[f"launcher_only_{what}"] - out[f"by_hand_{what}"]
    return out


def magics_import_ms(prefix: Path, repeat: int = 7) -> float:
    """Median time to import the magics extension in the env's interpreter once ipykernel is loaded."""
    from envkernels.kernels.paths import launcher_script

    code = (
        "import sys, time; import ipykernel.kernelapp; sys.path.append(sys.argv[1]); "
        "t = time.perf_counter(); import envkernels_kernel; print((time.perf_counter() - t) * 1e3)"
    )
    side = str(launcher_script().parent)
    samples = [
        float(
            subprocess.run(
                [str(prefix / "bin" / "python"), "-c", code, side], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeat)
    ]
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=200)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--trials", type=int, default=3, help="server starts per configuration")
    parser.add_argument("--kernel-trials", type=int, default=15, help="below ~15 the noise wins")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()

    print(f"building {args.envs} environments under {BENCH_DIR} (kept between runs) ...", file=sys.stderr)
    root = build_envs(args.envs)
    kernel_env = build_kernel_env()
    peer_python = None if args.skip_peer else build_peer()

    ours_cfg = {
        "ServerApp": {"kernel_spec_manager_class": "envkernels.kernels.manager.EnvKernelSpecManager"},
        "EnvKernelSpecManager": {"roots": [str(root)], "default_roots": False},
    }
    eager_cfg = json.loads(json.dumps(ours_cfg))
    eager_cfg["EnvKernelSpecManager"]["refresh_interval"] = 0.0
    cold_cfg = json.loads(json.dumps(ours_cfg))
    cold_cfg["EnvKernelSpecManager"]["prewarm"] = False
    configs: list[tuple[str, str, dict[str, Any]]] = [
        ("envkernels", sys.executable, ours_cfg),
        ("envkernels (refresh_interval=0)", sys.executable, eager_cfg),
        ("envkernels (prewarm off)", sys.executable, cold_cfg),
    ]
    if peer_python is not None:
        peer_home = BENCH_DIR / "peer-home"
        registry = peer_home / ".venv" / "environments.txt"
        registry.parent.mkdir(parents=True, exist_ok=True)
        registry.write_text("".join(f"{p}\n" for p in sorted(root.glob("env-*"))))
        configs.append(
            ("nb-venv-kernels", str(peer_python), {"ServerApp": {"kernel_spec_manager_class": PEER_CLASS}})
        )
    listing: dict[str, Any] = {}
    for label, python, cfg in configs:
        home = BENCH_DIR / ("peer-home" if label == "nb-venv-kernels" else "envk-home")
        trials = [time_listing(python, home, cfg, args.warm, args.envs) for _ in range(args.trials)]
        listing[label] = median_of(trials)
        print(f"  {label}: {listing[label]}", file=sys.stderr)
    kernel = time_kernel_starts(kernel_env, args.kernel_trials)
    kernel["magics_import_ms"] = magics_import_ms(kernel_env)

    result = {
        "envs": args.envs,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg": os.getloadavg()},
        "listing": listing,
        "kernel_start": kernel,
    }
    if "nb-venv-kernels" in listing:
        peer, ours = listing["nb-venv-kernels"], listing["envkernels"]
        result["ratios"] = {k: peer[k] / ours[k] for k in ("cold_ms", "warm_ms", "ready_s") if ours[k]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_kernels.json").write_text(json.dumps(result, indent=2))

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nGET /api/kernelspecs, {args.envs} environments (median of {args.trials} server starts; "
        f"load average {load} on {os.cpu_count()} CPUs)"
    )
    print(f"{'server':34} {'listed':>6} {'cold ms':>9} {'warm ms':>9} {'warm p90':>9} {'ready s':>8}")
    for label, r in listing.items():
        print(
            f"{label:34} {r['listed']:6d} {r['cold_ms']:9.1f} {r['warm_ms']:9.2f} {r['warm_p90_ms']:9.2f} "
            f"{r['ready_s']:8.2f}"
        )
    for k, v in result.get("ratios", {}).items():
        print(f"nb-venv-kernels / envkernels, {k}: {v:.1f}x")
    print(
        f"\nkernel start, start_kernel() until kernel_info answers "
        f"(median of {args.kernel_trials}, alternating):"
    )
    print(f"{'variant':28} {'wall ms':>9} {'kernel CPU ms':>14}")
    for label, name in (
        ("by_hand", "by hand (-m ipykernel_launcher)"),
        ("launcher_only", "launch.py, no magics"),
        ("envkernels", "envkernels (launch.py+magics)"),
    ):
        print(f"{name:28} {kernel[label + '_ms']:9.0f} {kernel[label + '_cpu_ms']:14.0f}")
    print(
        f"overhead vs by hand: wall {kernel['overhead_ms']:+.0f} ms, "
        f"kernel CPU {kernel['overhead_cpu_ms']:+.0f} ms (launcher alone: "
        f"{kernel['launcher_overhead_ms']:+.0f} / {kernel['launcher_overhead_cpu_ms']:+.0f} ms)"
    )
    print(f"import of the magics extension once ipykernel is loaded: {kernel['magics_import_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
