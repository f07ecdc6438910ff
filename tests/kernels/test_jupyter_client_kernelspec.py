"""jupyter_client's own KernelSpecManager tests, run against EnvKernelSpecManager (and, as the
reference, against jupyter_client's KernelSpecManager: every test passes on both).

Origin: ``tests/test_kernelspec.py`` and the helpers it imports from ``tests/utils.py`` of
jupyter_client (https://github.com/jupyter/jupyter_client, commit 8d760b1e, June 2026),
Copyright (c) 2001-2015, IPython Development Team; Copyright (c) 2015-, Jupyter Development Team.
Distributed under the terms of the BSD 3-Clause License; its full text is in
``tests/kernels/licenses/jupyter_client-LICENSE.txt``.

What changed in the adaptation (the assertions are jupyter_client's, unchanged):

- ``unittest.TestCase`` became pytest functions; ``setUp`` is the ``setup`` fixture and the
  manager class is a parameter: ``KernelSpecManager()`` (the reference) or
  ``EnvKernelSpecManager`` over the session's real uv environments (``kroot``), so every test
  runs with environment kernels listed beside the sample kernel;
- pytest-jupyter's ``jp_environ`` isolation is the suite's ``khome`` (HOME, JUPYTER_DATA_DIR, ...
  in a tmp dir);
- the two removal tests also check that envkernels' installed package is byte-identical before
  and after (``package_digest``), and ``test_remove_kernel_spec_app`` also runs the real
  ``RemoveKernelSpec`` app with EnvKernelSpecManager as its manager;
- ``test_subclass`` subclasses the class under test.

No test was dropped; ``test_cant_install_kernel_spec`` keeps jupyter_client's skip (it needs a
non-root Unix user; these tests run as root).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from io import StringIO
from logging import StreamHandler
from os.path import join as pjoin
from pathlib import Path
from subprocess import PIPE, STDOUT, Popen
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from jupyter_client import kernelspec
from jupyter_core import paths
from kernelhelpers import package_digest

from envkernels.kernels.manager import EnvKernelSpecManager

# ---- from jupyter_client's tests/utils.py -------------------------------------------------------
sample_kernel_json = {
    "argv": ["cat", "{connection_file}"],
    "display_name": "Test kernel",
}


def install_kernel(
    kernels_dir: str, argv: list[str] | None = None, name: str = "test", display_name: str | None = None
) -> str:
    """install a kernel in a kernels directory"""
    kernel_dir = pjoin(kernels_dir, name)
    os.makedirs(kernel_dir)
    kernel_json = {
        "argv": argv or sample_kernel_json["argv"],
        "display_name": display_name or sample_kernel_json["display_name"],
    }
    json_file = pjoin(kernel_dir, "kernel.json")
    with open(json_file, "w") as f:
        json.dump(kernel_json, f)
    return kernel_dir


# ---- the class under test --------------------------------------------------------------------------
@pytest.fixture(params=["KernelSpecManager", "EnvKernelSpecManager"])
def make_ksm(request: pytest.FixtureRequest, khome: Path, kroot: Path) -> Callable[[], Any]:
    if request.param == "KernelSpecManager":
        return kernelspec.KernelSpecManager
    return lambda: EnvKernelSpecManager(roots=[str(kroot)], default_roots=False)


class Setup:
    sample_kernel_dir: str
    ksm: Any
    installable_kernel: str


@pytest.fixture
def setup(make_ksm: Callable[[], Any], tmp_path: Path) -> Setup:
    s = Setup()
    s.sample_kernel_dir = install_kernel(pjoin(paths.jupyter_data_dir(), "kernels"), name="sample")
    s.ksm = make_ksm()
    s.installable_kernel = str(tmp_path / "installable")
    os.makedirs(s.installable_kernel)
    with open(pjoin(s.installable_kernel, "kernel.json"), "w") as f:
        json.dump(sample_kernel_json, f)
    return s


# ---- jupyter_client's tests ------------------------------------------------------------------------
def test_find_kernel_specs(setup: Setup) -> None:
    kernels = setup.ksm.find_kernel_specs()
    assert kernels["sample"] == setup.sample_kernel_dir


def test_allowed_kernel_names(setup: Setup, make_ksm: Callable[[], Any]) -> None:
    ksm = make_ksm()
    ksm.allowed_kernelspecs = {"foo"}
    kernels = ksm.find_kernel_specs()
    assert not len(kernels)


def test_deprecated_whitelist(setup: Setup, make_ksm: Callable[[], Any]) -> None:
    ksm = make_ksm()
    ksm.whitelist = {"bar"}
    kernels = ksm.find_kernel_specs()
    assert not len(kernels)


def test_get_kernel_spec(setup: Setup) -> None:
    ks = setup.ksm.get_kernel_spec("SAMPLE")  # Case insensitive
    assert ks.resource_dir == setup.sample_kernel_dir
    assert ks.argv == sample_kernel_json["argv"]
    assert ks.display_name == sample_kernel_json["display_name"]
    assert ks.env == {}
    assert ks.metadata == {}


def test_find_all_specs(setup: Setup) -> None:
    kernels = setup.ksm.get_all_specs()
    assert kernels["sample"]["resource_dir"] == setup.sample_kernel_dir
    assert kernels["sample"]["spec"] is not None


def test_kernel_spec_priority(setup: Setup) -> None:
    td = TemporaryDirectory()
    try:
        sample_kernel = install_kernel(td.name, name="sample")
        setup.ksm.kernel_dirs.append(td.name)
        kernels = setup.ksm.find_kernel_specs()
        assert kernels["sample"] == setup.sample_kernel_dir
        setup.ksm.kernel_dirs.insert(0, td.name)
        kernels = setup.ksm.find_kernel_specs()
        assert kernels["sample"] == sample_kernel
    finally:
        td.cleanup()


def test_install_kernel_spec(setup: Setup) -> None:
    setup.ksm.install_kernel_spec(setup.installable_kernel, kernel_name="tstinstalled", user=True)
    assert "tstinstalled" in setup.ksm.find_kernel_specs()

    # install again works
    setup.ksm.install_kernel_spec(setup.installable_kernel, kernel_name="tstinstalled", user=True)


def test_install_kernel_spec_prefix(setup: Setup) -> None:
    td = TemporaryDirectory()
    try:
        capture = StringIO()
        handler = StreamHandler(capture)
        setup.ksm.log.addHandler(handler)
        setup.ksm.install_kernel_spec(setup.installable_kernel, kernel_name="tstinstalled", prefix=td.name)
        captured = capture.getvalue()
        setup.ksm.log.removeHandler(handler)
        assert "may not be found" in captured
        assert "tstinstalled" not in setup.ksm.find_kernel_specs()

        # add prefix to path, so we find the spec
        setup.ksm.kernel_dirs.append(pjoin(td.name, "share", "jupyter", "kernels"))
        assert "tstinstalled" in setup.ksm.find_kernel_specs()

        # Run it again, no warning this time because we've added it to the path
        capture = StringIO()
        handler = StreamHandler(capture)
        setup.ksm.log.addHandler(handler)
        setup.ksm.install_kernel_spec(setup.installable_kernel, kernel_name="tstinstalled", prefix=td.name)
        captured = capture.getvalue()
        setup.ksm.log.removeHandler(handler)
        assert "may not be found" not in captured
    finally:
        td.cleanup()


@pytest.mark.skipif(
    not (os.name != "nt" and not os.access("/usr/local/share", os.W_OK)),
    reason="needs Unix system without root privileges",
)
def test_cant_install_kernel_spec(setup: Setup) -> None:
    with pytest.raises(OSError):
        setup.ksm.install_kernel_spec(setup.installable_kernel, kernel_name="tstinstalled", user=False)


def test_remove_kernel_spec(setup: Setup) -> None:
    before = package_digest()
    path = setup.ksm.remove_kernel_spec("sample")
    assert path == setup.sample_kernel_dir
    assert package_digest() == before


def test_remove_kernel_spec_app(setup: Setup, kroot: Path) -> None:
    before = package_digest()
    p = Popen(
        [sys.executable, "-m", "jupyter_client.kernelspecapp", "remove", "sample", "-f"],
        stdout=PIPE,
        stderr=STDOUT,
        env=os.environ,
    )
    out, _ = p.communicate()
    assert p.returncode == 0, out.decode("utf8", "replace")
    assert package_digest() == before
    if isinstance(setup.ksm, EnvKernelSpecManager):
        # The same app, with envkernels' manager as its kernel_spec_manager.
        install_kernel(pjoin(paths.jupyter_data_dir(), "kernels"), name="sample")
        script = (
            "import sys\n"
            "from jupyter_client.kernelspecapp import RemoveKernelSpec\n"
            "from envkernels.kernels.manager import EnvKernelSpecManager\n"
            "ksm = EnvKernelSpecManager(roots=[sys.argv[1]], default_roots=False)\n"
            "RemoveKernelSpec.launch_instance(['sample', '-f'], kernel_spec_manager=ksm)\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", script, str(kroot)], capture_output=True, text=True, env=os.environ
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"Removed {setup.sample_kernel_dir}" in proc.stdout
        assert not os.path.exists(setup.sample_kernel_dir)
        assert package_digest() == before


def test_validate_kernel_name() -> None:
    for good in [
        "julia-0.4",
        "ipython",
        "R",
        "python_3",
        "Haskell-1-2-3",
    ]:
        assert kernelspec._is_valid_kernel_name(good)

    for bad in [
        "has space",
        "ünicode",
        "%percent",
        "question?",
    ]:
        assert not kernelspec._is_valid_kernel_name(bad)


def test_subclass(setup: Setup) -> None:
    """Test get_all_specs in subclasses that override find_kernel_specs"""
    ksm = setup.ksm
    resource_dir = tempfile.gettempdir()
    native_name = kernelspec.NATIVE_KERNEL_NAME
    native_kernel = ksm.get_kernel_spec(native_name)

    class MyKSM(type(ksm)):  # type: ignore[misc]
        def get_kernel_spec(self, name: str) -> Any:
            spec = copy.copy(native_kernel)
            if name == "fake":
                spec.name = name
                spec.resource_dir = resource_dir
            elif name == native_name:
                pass
            else:
                raise KeyError(name)
            return spec

        def find_kernel_specs(self) -> dict[str, str]:
            return {
                "fake": resource_dir,
                native_name: native_kernel.resource_dir,
            }

    # ensure that get_all_specs doesn't raise if only
    # find_kernel_specs and get_kernel_spec are defined
    myksm = MyKSM()
    specs = myksm.get_all_specs()
    assert sorted(specs) == ["fake", native_name]
