"""The demo notebook executed with nbclient on an envkernels kernel (an environment without ipykernel)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from kernelhelpers import env_at
from nbclient import NotebookClient

from envfactory import freeze
from envkernels.kernels.manager import EnvKernelSpecManager

DEMO = Path(__file__).resolve().parents[2] / "notebooks" / "demo.ipynb"


@pytest.mark.slow
def test_demo_notebook_runs_on_an_envkernels_kernel(khome: Path, kroot: Path) -> None:
    bare = kroot / "bare"
    before = freeze(bare)
    env = env_at(bare)
    nb = nbformat.read(DEMO, as_version=4)
    ksm = EnvKernelSpecManager(roots=[str(kroot)], default_roots=False)
    km = KernelManager(kernel_name=env.kernel_name, kernel_spec_manager=ksm)
    NotebookClient(nb, km=km, timeout=120, startup_timeout=180).execute()
    outputs = ["".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs[0].split() == [str(bare), env.id]
    assert "six" in outputs[1] and "ipykernel" not in outputs[1]
    assert nb.cells[-1].outputs[0]["data"]["text/plain"] == "285"
    assert freeze(bare) == before
