"""One overlay for everyone: `kernels prepare` builds it once; kernels start from it with no index at all."""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sharedhelpers import cli

from envkernels.discovery.probe import environment_from_prefix
from envkernels.kernels.overlay import OverlayUnavailableError, ensure_overlay, interpreter_tag

# uv with no usable index and an empty cache: nothing can be downloaded.
NO_INDEX = {"UV_INDEX_URL": "http://127.0.0.1:9/simple", "UV_HTTP_RETRIES": "0"}


def _tag(prefix: Path) -> str:
    env = environment_from_prefix(prefix)
    assert env.python_version
    return interpreter_tag(env.implementation, env.python_version, env.free_threaded)


def test_prepare_builds_one_readable_overlay_per_shared_python(
    prepared: Path, team_env: Path, untouched: None
) -> None:
    tag = _tag(team_env)
    assert (prepared / tag / "ipykernel" / "__init__.py").is_file()
    manifest = json.loads((prepared / "overlays.json").read_text())
    assert tag in manifest["overlays"]
    # and the discovery snapshot of the shared roots, which servers read instead of walking them
    snap = json.loads((prepared / "discovery.json").read_text())
    assert [e["prefix"] for e in snap["environments"]] == [str(team_env)] and snap["watched"]
    for dirpath, _dirnames, filenames in os.walk(prepared):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o755
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                assert os.stat(path).st_mode & 0o044 == 0o044, path  # group and others can read
    # a second run keeps what is there (running kernels import from it)
    python = str(team_env / "bin" / "python")
    for how in ((), ("--python", python)):
        kept = cli("kernels", "prepare", "--dest", str(prepared), *how, "--json")
        assert kept.returncode == 0, kept.stderr
        assert json.loads(kept.stdout) == [
            {"tag": tag, "python": python, "path": str(prepared / tag), "built": False}
        ]
    # no shared roots and no --python: nothing to prepare, said with a hint
    nothing = cli("kernels", "prepare", "--dest", str(prepared), env={"ENVKERNELS_SHARED_ROOTS": ""})
    assert nothing.returncode == 2 and nothing.stderr.startswith("error: ") and "hint: " in nothing.stderr


def test_a_prepared_overlay_is_used_and_nothing_is_downloaded(
    prepared: Path, team_env: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in NO_INDEX.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    env = environment_from_prefix(team_env)
    assert ensure_overlay(env, dirs=[str(tmp_path / "nothing-here"), str(prepared)]) == prepared / _tag(
        team_env
    )
    assert not (isolated_home / ".cache" / "envkernels" / "overlay").exists()


def test_an_overlay_that_cannot_be_built_names_the_cause_and_the_admin_fix(
    team_env: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    env = environment_from_prefix(team_env)
    monkeypatch.setenv("UV_OFFLINE", "1")
    with pytest.raises(OverlayUnavailableError) as offline:
        ensure_overlay(env, dirs=[])
    assert "offline" in offline.value.message and "kernels prepare" in (offline.value.hint or "")
    monkeypatch.delenv("UV_OFFLINE")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    with pytest.raises(OverlayUnavailableError) as closed:
        ensure_overlay(env, dirs=[])
    assert "`http://127.0.0.1:9` cannot be reached" in closed.value.message
    assert "UV_INDEX_URL" in (closed.value.hint or "") and "overlay_dirs" in (closed.value.hint or "")
    assert "exited with" not in closed.value.message  # not uv's raw message


@pytest.fixture
def untrusted_https(tmp_path: Path) -> Iterator[str]:
    """A real HTTPS server on 127.0.0.1 whose certificate no trust store knows (self-signed)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/simple"
    server.shutdown()


def test_a_tls_failure_says_tls_and_how_to_give_the_server_its_certificates(
    team_env: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, untrusted_https: str
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.setenv("UV_INDEX_URL", untrusted_https)
    with pytest.raises(OverlayUnavailableError) as tls:
        ensure_overlay(environment_from_prefix(team_env), dirs=[])
    assert "TLS certificate" in tls.value.message and untrusted_https.rsplit("/", 1)[0] in tls.value.message
    assert "SSL_CERT_FILE" in (tls.value.hint or "")


@pytest.mark.slow
def test_a_kernel_starts_from_the_prepared_overlay_with_the_index_unreachable(
    prepared: Path,
    team_env: Path,
    untouched: None,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from jupyter_client.manager import KernelManager

    from envkernels.kernels.manager import EnvKernelSpecManager

    for key, value in {
        **NO_INDEX,
        "UV_OFFLINE": "1",
        "UV_CACHE_DIR": str(tmp_path / "empty-uv-cache"),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # Python may write bytecode
    ksm = EnvKernelSpecManager(default_roots=False, overlay_dirs=[str(prepared)])
    env = environment_from_prefix(team_env)
    km = KernelManager(kernel_name=env.kernel_name, kernel_spec_manager=ksm)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        out: list[str] = []
        reply = kc.execute_interactive(
            "import sys, ipykernel, six; print(sys.prefix); print(ipykernel.__file__)",
            output_hook=lambda m: (
                out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
            ),
            timeout=60,
        )
        assert reply["content"]["status"] == "ok"
        prefix, ipk = "".join(out).split()
        assert prefix == str(team_env) and ipk.startswith(str(prepared))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert not (isolated_home / ".cache" / "envkernels" / "overlay").exists()  # nothing built per user
    # the bytecode of the shared environment's modules went to the user's cache, not beside them
    assert list((isolated_home / ".cache" / "envkernels" / "pycache").rglob("six*.pyc"))


def test_an_installed_kernelspec_carries_the_prepared_dirs(
    prepared: Path, team_env: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envkernels.kernels.installed import install_kernelspec

    monkeypatch.setenv("ENVKERNELS_OVERLAY_DIRS", str(prepared))
    spec_dir = install_kernelspec(environment_from_prefix(team_env))
    spec = json.loads((Path(spec_dir) / "kernel.json").read_text())
    assert spec["env"]["ENVKERNELS_OVERLAY_DIRS"] == str(prepared)
    assert not (isolated_home / ".cache" / "envkernels" / "overlay").exists()


def test_doctor_tells_the_administrator_what_is_not_prepared(
    team_env: Path, untouched: None, prepared: Path, tmp_path: Path
) -> None:
    def codes(**env: str) -> set[str]:
        out = cli("doctor", "--json", "--no-default-roots", env=env)
        assert out.returncode in (0, 1), out.stderr
        return {f["code"] for f in json.loads(out.stdout)["findings"]}

    assert "overlay-not-prepared" in codes(ENVKERNELS_OVERLAY_DIRS="")
    assert "overlay-not-prepared" not in codes(ENVKERNELS_OVERLAY_DIRS=str(prepared))
    assert "history-log-unwritable" in codes(ENVKERNELS_HISTORY_LOG="/nonexistent/dir/history.jsonl")
    assert "history-log-unwritable" not in codes(ENVKERNELS_HISTORY_LOG=str(tmp_path / "history.jsonl"))
