"""The prebuilt JupyterLab extension is built and found by JupyterLab where envkernels is installed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import envkernels

BUILT = Path(envkernels.__file__).parent / "labextension"


def test_the_prebuilt_extension_is_in_the_package() -> None:
    meta = json.loads((BUILT / "package.json").read_text())
    assert meta["name"] == "envkernels"
    assert (BUILT / meta["jupyterlab"]["_build"]["load"]).is_file()
    assert envkernels._jupyter_labextension_paths() == [{"src": "labextension", "dest": "envkernels"}]


def test_jupyter_labextension_list_shows_envkernels_enabled_and_ok() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    line = next((ln for ln in out.splitlines() if re.match(r"\s*envkernels v", ln)), None)
    assert line is not None, out
    assert "enabled" in line and "OK" in line, line
