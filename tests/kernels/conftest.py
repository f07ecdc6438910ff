"""Fixtures of the kernel tests: one root of real uv environments, built once per session.

``kroot`` holds ``withipk`` (ipykernel installed), ``bare`` (no ipykernel; only ``six``) and
``condaish`` (a uv venv dressed in the on-disk layout conda writes: ``conda-meta/`` with a
history and a ``python`` record, ``conda-meta/state`` with ``env_vars``, and an
``etc/conda/activate.d/x.sh`` script; conda itself cannot run here, its channels are out of
reach). Tests treat them as read-only; the ipykernel overlay cache is shared by the session.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from envfactory import make_venv


@pytest.fixture(scope="session")
def kroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's root of environments."""
    root = tmp_path_factory.mktemp("kroot")
    make_venv(root / "withipk", ["ipykernel", "six==1.16.0"])
    make_venv(root / "bare", ["six==1.16.0"])
    conda = make_venv(root / "condaish", ["six==1.16.0"])
    dress_as_conda(conda)
    return root


def dress_as_conda(prefix: Path) -> None:
    """Give a venv the files conda writes, so it is read exactly as a conda environment."""
    meta = prefix / "conda-meta"
    meta.mkdir()
    (meta / "history").write_text("==> 2024-01-01 00:00:00 <==\n# cmd: conda create -p env python\n")
    version = ".".join(map(str, sys.version_info[:3]))  # the venv's own Python (uv made it from this one)
    (meta / f"python-{version}-h1234_0.json").write_text(json.dumps({"name": "python", "version": version}))
    (meta / "state").write_text(json.dumps({"env_vars": {"FROM_STATE": "state-value"}}))
    actd = prefix / "etc" / "conda" / "activate.d"
    actd.mkdir(parents=True)
    (actd / "x.sh").write_text(
        "#!/bin/sh\n"
        "# set by a package, as GDAL or PROJ do\n"
        'export ENVK_TEST_VAR="hello-from-activate.d"\n'
        'export ENVK_DATA_DIR="${CONDA_PREFIX}/share/envk"\n'
        "export ENVK_SKIPPED=$(uname)\n"
    )


@pytest.fixture(scope="session")
def overlay_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One envkernels cache (holding the ipykernel overlay) for the whole session."""
    return tmp_path_factory.mktemp("envk-cache")


@pytest.fixture
def khome(isolated_home: Path, overlay_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """isolated_home, with Jupyter's dirs in it, PYTHONPATH cleared and the session's overlay cache."""
    monkeypatch.setenv("ENVKERNELS_CACHE_DIR", str(overlay_cache))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(isolated_home / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(isolated_home / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(isolated_home / "jupyter-runtime"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    yield isolated_home
