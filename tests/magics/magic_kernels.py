"""Real kernels for the magics' tests, started as envkernels' kernelspecs start them."""

from __future__ import annotations

import json
import queue
import sys
from pathlib import Path
from typing import Any

import envkernels
from envfactory import venv_python

KERNEL_SIDE = Path(envkernels.__file__).parent / "kernel_side"
LAUNCH = KERNEL_SIDE / "launch.py"


def kernel_argv(prefix: Path) -> list[str]:
    """How envkernels starts a kernel in ``prefix``: its launcher script run by the env's interpreter."""
    return [str(venv_python(prefix)), str(LAUNCH), "-f", "{connection_file}"]


def kernel_env_vars(prefix: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The variables envkernels' kernelspecs carry into the kernel (``kernels/spec.py``)."""
    env = {
        "ENVKERNELS_ENV_ID": f"test-{prefix.name}",
        "ENVKERNELS_ENV_PREFIX": str(prefix),
        "ENVKERNELS_HOST_PYTHON": sys.executable,
    }
    env.update(extra or {})
    return env


def write_kernelspec(
    kernels_dir: Path, name: str, prefix: Path, extra_env: dict[str, str] | None = None
) -> Path:
    """A real kernelspec directory (``kernel.json``) for the environment at ``prefix``."""
    spec_dir = kernels_dir / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": kernel_argv(prefix),
        "display_name": f"envkernels test ({prefix.name})",
        "language": "python",
        "env": kernel_env_vars(prefix, extra_env),
        "metadata": {"envkernels": {"prefix": str(prefix)}},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return spec_dir


class LiveKernel:
    """A started kernel and a blocking client, with a helper that runs code and gathers outputs."""

    def __init__(self, km: Any, kc: Any) -> None:
        self.km = km
        self.kc = kc

    def execute(self, code: str, timeout: float = 120) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Run ``code``; returns (execute_reply content, iopub outputs of that request)."""
        msg_id = self.kc.execute(code)
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        outputs: list[dict[str, Any]] = []
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            if msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
                outputs.append({"type": msg["msg_type"], **msg["content"]})
        return reply["content"], outputs

    def value(self, expr: str) -> Any:
        """Evaluate ``expr`` in the kernel and return it (through JSON)."""
        content, outputs = self.execute(f"import json as _j; print(_j.dumps({expr}))")
        assert content["status"] == "ok", content
        text = "".join(o.get("text", "") for o in outputs if o["type"] == "stream" and o["name"] == "stdout")
        return json.loads(text.strip().splitlines()[-1])


def kernel_manager(tmp_path: Path, prefix: Path, *, extra_env: dict[str, str] | None = None) -> Any:
    """An unstarted jupyter_client KernelManager whose kernelspec starts a kernel in ``prefix``."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    kernels_dir = tmp_path / "kernels"
    write_kernelspec(kernels_dir, "envk-test", prefix, extra_env)
    ksm = KernelSpecManager(kernel_dirs=[str(kernels_dir)], ensure_native_kernel=False)
    return KernelManager(kernel_name="envk-test", kernel_spec_manager=ksm)


def start_kernel(
    tmp_path: Path, prefix: Path, *, cwd: Path | None = None, extra_env: dict[str, str] | None = None
) -> tuple[Any, Any]:
    """Start a real kernel for ``prefix`` through a kernelspec (jupyter_client) and wait until ready."""
    km = kernel_manager(tmp_path, prefix, extra_env=extra_env)
    km.start_kernel(cwd=str(cwd or tmp_path))
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=90)
    except RuntimeError:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return km, kc


def stdout_of(outputs: list[dict[str, Any]]) -> str:
    """Everything the kernel printed to stdout."""
    return "".join(o.get("text", "") for o in outputs if o["type"] == "stream" and o["name"] == "stdout")
