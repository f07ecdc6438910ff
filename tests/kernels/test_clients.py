"""The real Jupyter clients run notebooks on envkernels' kernels: nbclient, papermill, nbconvert, Voilà.

The clients come from PyPI into their own venv, made with uv once per session, with this
checkout installed there editable (``uv pip install -e``), exactly as a user would set them up;
every client runs as its own process (its command line, or a script on its Python API). The
environments are the session's ``kroot`` (real uv venvs), found through ``$ENVKERNELS_ROOTS``.
Each client executes a notebook whose one cell prints ``sys.prefix``, saved with:

- (a) ``local``: the local kernel name of ``withipk`` (ipykernel installed);
- (b) ``foreign``: the name the same environment had on another machine (same kind and slug,
  another hash, as ``tests/kernels/test_portable_names.py`` builds it);
- (c) ``overlay``: the local name of ``bare``, which has no ipykernel (started through the
  overlay, nothing installed into it);

and the printed prefix must be the expected environment's. A name nothing fits must fail with the
resolver's message naming the closest environments, never run on another Python.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from kernelhelpers import env_at

from envfactory import uv
from envkernels.kernels.resolve import parse_kernel_name

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CLIENTS = ("nbclient", "papermill", "nbconvert", "voila")
FOREIGN_HASH = "deadbeef"


@pytest.fixture(scope="session")
def clients_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the clients from PyPI and this checkout installed editable (made once per session)."""
    venv = tmp_path_factory.mktemp("clients") / "venv"
    uv("venv", str(venv), "--python", sys.executable, "--quiet")
    uv("pip", "install", "--python", str(venv / "bin" / "python"), "--quiet", *CLIENTS, "-e", str(REPO))
    return venv


@pytest.fixture(scope="session")
def names(kroot: Path) -> dict[str, tuple[str, str]]:
    """case -> (kernel name saved in the notebook, the prefix it must run in)."""
    local, bare = env_at(kroot / "withipk"), env_at(kroot / "bare")
    parts = parse_kernel_name(local.kernel_name)
    assert parts is not None and parts.hash8 != FOREIGN_HASH
    return {
        "local": (local.kernel_name, local.prefix),
        "foreign": (f"envk-{parts.kind}-{parts.slug}-{FOREIGN_HASH}", local.prefix),
        "overlay": (bare.kernel_name, bare.prefix),
    }


def unresolvable(names: dict[str, tuple[str, str]]) -> str:
    parts = parse_kernel_name(names["local"][0])
    assert parts is not None
    return f"envk-{parts.kind}-nosuchproject-{FOREIGN_HASH}"


def write_notebook(path: Path, kernel_name: str) -> Path:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys\nprint('PREFIX=' + sys.prefix)")],
        metadata={
            "kernelspec": {"name": kernel_name, "display_name": "saved elsewhere", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks(khome: Path, tmp_path: Path, names: dict[str, tuple[str, str]]) -> dict[str, Path]:
    """One notebook per case (plus ``nowhere``, a name nothing fits), in a directory of their own."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    made = {case: write_notebook(nbdir / f"{case}.ipynb", name) for case, (name, _) in names.items()}
    made["nowhere"] = write_notebook(nbdir / "nowhere.ipynb", unresolvable(names))
    return made


@pytest.fixture
def client_env(khome: Path, kroot: Path, clients_venv: Path) -> dict[str, str]:
    """The clients' environment: the isolated home, the session's roots, the clients venv first on PATH."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["ENVKERNELS_ROOTS"] = str(kroot)
    env["PATH"] = f"{clients_venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)


def printed_prefix(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    text = "".join(out.get("text", "") for out in nb.cells[0].outputs if out.get("output_type") == "stream")
    assert text.startswith("PREFIX="), nb.cells[0].outputs
    return text.strip().removeprefix("PREFIX=")


CASES = ("local", "foreign", "overlay")


# ---- nbclient -------------------------------------------------------------------------------------
NBCLIENT_SCRIPT = """
import sys, nbformat
from nbclient import NotebookClient
from envkernels.kernels.clients import AsyncEnvKernelManager
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    try:
        NotebookClient(nb, kernel_manager_class=AsyncEnvKernelManager, timeout=300,
                       startup_timeout=300).execute()
    except Exception as exc:
        print(f"FAILED {path}: {type(exc).__name__}: {exc}")
        continue
    nbformat.write(nb, path)
"""


def test_nbclient(
    clients_venv: Path, client_env: dict[str, str], notebooks: dict[str, Path], names: dict[str, Any]
) -> None:
    paths = [str(notebooks[c]) for c in (*CASES, "nowhere")]
    proc = run([str(clients_venv / "bin" / "python"), "-c", NBCLIENT_SCRIPT, *paths], client_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for case in CASES:
        assert printed_prefix(notebooks[case]) == names[case][1], case
    assert_refused(proc.stdout, names)


def assert_refused(output: str, names: dict[str, Any]) -> None:
    """The unresolvable name failed with the resolver's message naming the closest environment."""
    assert f"No such kernel named {unresolvable(names)}" in output, output[-3000:]
    assert "closest here:" in output and names["local"][0] in output, output[-3000:]


# ---- papermill ------------------------------------------------------------------------------------
PAPERMILL_SCRIPT = """
import sys, papermill
for path in sys.argv[1:]:
    try:
        papermill.execute_notebook(path, path, engine_name="envkernels", start_timeout=300)
    except Exception as exc:
        print(f"FAILED {path}: {type(exc).__name__}: {exc}")
"""


def test_papermill_api(
    clients_venv: Path, client_env: dict[str, str], notebooks: dict[str, Path], names: dict[str, Any]
) -> None:
    paths = [str(notebooks[c]) for c in (*CASES, "nowhere")]
    proc = run([str(clients_venv / "bin" / "python"), "-c", PAPERMILL_SCRIPT, *paths], client_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for case in CASES:
        assert printed_prefix(notebooks[case]) == names[case][1], case
    assert_refused(proc.stdout, names)


def test_papermill_cli(
    clients_venv: Path,
    client_env: dict[str, str],
    notebooks: dict[str, Path],
    names: dict[str, Any],
    tmp_path: Path,
) -> None:
    papermill = str(clients_venv / "bin" / "papermill")
    for case in CASES:
        out = tmp_path / f"{case}-out.ipynb"
        # -k names the kernel, as a CI job would; the notebook itself says `nowhere`'s name.
        proc = run(
            [
                papermill,
                str(notebooks["nowhere"]),
                str(out),
                "-k",
                names[case][0],
                "--engine",
                "envkernels",
                "--start-timeout",
                "300",
            ],
            client_env,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert printed_prefix(out) == names[case][1], case
    proc = run(
        [
            papermill,
            str(notebooks["local"]),
            str(tmp_path / "x.ipynb"),
            "-k",
            unresolvable(names),
            "--engine",
            "envkernels",
        ],
        client_env,
    )
    assert proc.returncode != 0
    assert_refused(proc.stdout + proc.stderr, names)


# ---- jupyter nbconvert --execute ----------------------------------------------------------------------
def test_nbconvert_execute(
    clients_venv: Path, client_env: dict[str, str], notebooks: dict[str, Path], names: dict[str, Any]
) -> None:
    jupyter = str(clients_venv / "bin" / "jupyter")
    manager = "--ExecutePreprocessor.kernel_manager_class=envkernels.kernels.clients.AsyncEnvKernelManager"
    for case in CASES:
        # One notebook per call: nbconvert keeps the first notebook's kernel name for every later
        # notebook of the same call (its ExecutePreprocessor is reused), whatever the kernels.
        proc = run(
            [
                jupyter,
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "--inplace",
                manager,
                "--ExecutePreprocessor.startup_timeout=300",
                str(notebooks[case]),
            ],
            client_env,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert printed_prefix(notebooks[case]) == names[case][1], case
    proc = run(
        [jupyter, "nbconvert", "--to", "notebook", "--execute", manager, str(notebooks["nowhere"])],
        client_env,
    )
    assert proc.returncode != 0
    assert_refused(proc.stdout + proc.stderr, names)


# ---- Voilà -----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(client_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Start a server process; yields ``start(argv, port)``; every process is stopped at the end."""
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(argv: list[str], port: int, ready: str) -> Path:
        log = tmp_path / f"server-{port}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=client_env, cwd=tmp_path)
        procs.append((proc, log))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=5).close()
                return log
            except urllib.error.HTTPError:
                return log  # it answers
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"server did not answer:\n{log.read_text()}")

    yield start
    for proc, _ in procs:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def render(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=600) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def assert_rendered(body: str, prefix: str) -> None:
    assert f"PREFIX={prefix}" in body.replace("&#x2F;", "/").replace("&#47;", "/"), body[-3000:]


def test_voila_standalone(
    clients_venv: Path, serve: Any, notebooks: dict[str, Path], names: dict[str, Any]
) -> None:
    port = free_port()
    log = serve(
        [
            str(clients_venv / "bin" / "voila"),
            str(notebooks["local"].parent),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--VoilaConfiguration.kernel_spec_manager_class=envkernels.kernels.manager.EnvKernelSpecManager",
        ],
        port,
        "/",
    )
    for case in CASES:
        status, body = render(port, f"/voila/render/{case}.ipynb")
        assert status == 200, (case, body[-2000:])
        assert_rendered(body, names[case][1])
    status, body = render(port, "/voila/render/nowhere.ipynb")
    text = log.read_text()
    assert "will use" not in text, text[-3000:]  # no fallback to another kernel
    assert status != 200 or "PREFIX=" not in body
    assert_refused(text, names)


def test_voila_server_extension(
    clients_venv: Path, serve: Any, notebooks: dict[str, Path], names: dict[str, Any]
) -> None:
    port = free_port()
    root = notebooks["local"].parent
    log = serve(
        [
            str(clients_venv / "bin" / "jupyter"),
            "server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--IdentityProvider.token=",
            f"--ServerApp.root_dir={root}",
        ],
        port,
        "/api/status",
    )
    status, body = render(port, "/api/kernelspecs")
    assert status == 200 and names["local"][0] in json.loads(body)["kernelspecs"]  # envkernels is serving
    for case in CASES:
        status, body = render(port, f"/voila/render/{case}.ipynb")
        assert status == 200, (case, body[-2000:])
        assert_rendered(body, names[case][1])
    status, body = render(port, "/voila/render/nowhere.ipynb")
    text = log.read_text()
    assert "will use" not in text, text[-3000:]
    assert status != 200 or "PREFIX=" not in body
    assert_refused(text, names)
