"""EnvKernelSpecManager keeps jupyter_client's KernelSpecManager contract beyond jupyter_client's own tests.

Real uv environments (the session's ``kroot``; a fresh ``tmp_path`` root where a test creates or
deletes one). What is checked:

- ``get_all_specs()`` is a dict everywhere, also inside a running event loop (served warm; one
  background rebuild follows, concurrent callers share it);
- ``find_kernel_specs()``/``get_kernel_spec()`` see installs, removals, new and deleted
  environments on the next call, even with a long ``refresh_interval``;
- names match in any case, as jupyter_client matches them;
- removing never deletes what envkernels does not own: a discovered environment's kernel is
  hidden (``envkernels kernels hidden``/``unhide``), an installed kernelspec directory is deleted,
  the envkernels package and the environment stay byte-identical, also through the real
  ``jupyter kernelspec remove -y`` command line.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from kernelhelpers import env_at, package_digest

from envfactory import make_venv
from envkernels.errors import UsageError
from envkernels.kernels import hidden
from envkernels.kernels.installed import install_kernelspec
from envkernels.kernels.manager import EnvKernelSpecManager, SpecListing
from envkernels.kernels.resolve import KernelNameNotResolved, parse_kernel_name


def manager(*roots: Path, **traits: Any) -> EnvKernelSpecManager:
    return EnvKernelSpecManager(roots=[str(r) for r in roots], default_roots=False, **traits)


def envkernels_cli(*args: str, roots: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if roots:
        env["ENVKERNELS_ROOTS"] = os.pathsep.join(str(r) for r in roots)
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args], capture_output=True, text=True, env=env, check=False
    )


def jupyter_kernelspec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_client.kernelspecapp", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )


def wait_for(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def tree_digest(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under an environment: unchanged means untouched."""
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if not p.is_dir()
    }


# ---- get_all_specs: a dict everywhere ------------------------------------------------------------
def test_inside_an_event_loop_get_all_specs_is_a_dict_served_warm_and_refreshed_in_the_background(
    khome: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    make_venv(root / "first")
    ksm = manager(root, refresh_interval=0.0)
    calls: list[int] = []
    original = ksm.build_listing

    def counting() -> Any:
        calls.append(1)
        time.sleep(0.2)  # a slow scan: callers must not wait for it
        return original()

    ksm.build_listing = counting  # type: ignore[method-assign]
    first = env_at(root / "first").kernel_name

    async def main() -> list[Any]:
        return [ksm.get_all_specs() for _ in range(5)]

    results = asyncio.run(main())
    assert all(isinstance(r, dict) and not asyncio.iscoroutine(r) for r in results)
    assert all(first in r and r[first]["spec"]["language"] == "python" for r in results)
    # The first listing was built on the spot (there was none); the four stale calls after it
    # were answered from memory and shared one background rebuild.
    assert wait_for(lambda: len(calls) == 2 and not ksm._background.is_alive())  # type: ignore[union-attr]
    time.sleep(0.3)
    assert len(calls) == 2

    make_venv(root / "second")
    second = env_at(root / "second").kernel_name

    async def poll() -> bool:
        for _ in range(100):
            if second in list(ksm.get_all_specs()):
                return True
            await asyncio.sleep(0.05)
        return False

    assert asyncio.run(poll())  # the background rebuild brought it in, no restart


def test_outside_a_loop_get_all_specs_is_jupyter_clients_shape(khome: Path, kroot: Path) -> None:
    specs = manager(kroot).get_all_specs()
    assert isinstance(specs, dict)
    for entry in specs.values():
        assert set(entry) == {"resource_dir", "spec"}
        KernelSpec(resource_dir=entry["resource_dir"], **entry["spec"])  # a valid spec dict


# ---- the next call sees installs, removals, new and deleted environments ------------------------
def test_find_and_get_see_installs_removals_and_environments_on_the_next_call(
    khome: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    make_venv(root / "first")
    ksm = manager(root, refresh_interval=3600.0)
    assert env_at(root / "first").kernel_name in ksm.find_kernel_specs()

    source = tmp_path / "src"
    source.mkdir()
    spec = {"argv": ["cat", "{connection_file}"], "display_name": "T"}
    (source / "kernel.json").write_text(json.dumps(spec))
    ksm.install_kernel_spec(str(source), kernel_name="tst", user=True)
    assert "tst" in ksm.find_kernel_specs()
    assert ksm.get_kernel_spec("tst").display_name == "T"
    shutil.rmtree(Path(ksm.user_kernel_dir) / "tst")  # removed behind the manager's back
    assert "tst" not in ksm.find_kernel_specs()
    with pytest.raises(NoSuchKernel):
        ksm.get_kernel_spec("tst")

    make_venv(root / "second")
    second = env_at(root / "second").kernel_name
    assert second in ksm.find_kernel_specs()
    shutil.rmtree(root / "second")
    assert second not in ksm.find_kernel_specs()
    with pytest.raises(NoSuchKernel):
        ksm.get_kernel_spec(second)


# ---- names in any case --------------------------------------------------------------------------
def test_names_match_in_any_case_as_jupyter_client_matches_them(khome: Path, kroot: Path) -> None:
    ksm = manager(kroot)
    name = env_at(kroot / "withipk").kernel_name
    upper = name.upper()
    assert ksm.get_kernel_spec(upper).argv[0] == str(kroot / "withipk" / "bin" / "python")
    assert ksm.get_kernel_spec("Python3").language == "python"
    specs = ksm.get_all_specs()
    assert upper in specs and specs[upper] is specs[name] and specs.get(upper) is specs[name]
    assert upper not in list(specs)  # the listing itself shows each name once, as listed


def test_listing_looks_up_foreign_names_and_claims_unresolvable_envk_names(khome: Path, kroot: Path) -> None:
    ksm = manager(kroot)
    local = env_at(kroot / "withipk")
    parts = parse_kernel_name(local.kernel_name)
    assert parts is not None
    foreign = f"envk-{parts.kind}-{parts.slug}-deadbeef"
    specs = ksm.get_all_specs()
    assert isinstance(specs, SpecListing)
    assert foreign not in list(specs)
    assert foreign in specs and specs[foreign]["spec"]["metadata"]["envkernels"]["prefix"] == local.prefix
    nowhere = f"envk-{parts.kind}-nosuchproject-deadbeef"
    assert nowhere in specs  # claimed: a client must not fall back to another Python for it
    with pytest.raises(KernelNameNotResolved, match="nosuchproject"):
        specs[nowhere]
    assert specs.get(nowhere) is None
    assert "not-a-kernel" not in specs and specs.get("not-a-kernel") is None
    for copied in (copy.deepcopy(specs), pickle.loads(pickle.dumps(specs))):
        assert type(copied) is dict and copied == dict(specs)  # copies are plain dicts of the listing


# ---- removing never deletes what envkernels does not own ---------------------------------------
def test_removing_a_discovered_environment_hides_it_and_deletes_nothing(khome: Path, kroot: Path) -> None:
    ksm = manager(kroot, refresh_interval=3600.0)
    env = env_at(kroot / "bare")
    name = env.kernel_name
    assert ksm.find_kernel_specs()[name].startswith(str(Path(__import__("envkernels").__file__).parent))
    package, environment = package_digest(), tree_digest(kroot / "bare")

    with pytest.raises(KeyError):  # jupyter_client's remove_kernel_spec takes the listed name only
        ksm.remove_kernel_spec(name.upper())
    path = ksm.remove_kernel_spec(name)
    assert path == str(hidden.hidden_file()) and Path(path).is_file()
    assert package_digest() == package and tree_digest(kroot / "bare") == environment
    assert name not in ksm.find_kernel_specs() and name not in list(ksm.get_all_specs())
    with pytest.raises(NoSuchKernel, match="envkernels kernels unhide"):
        ksm.get_kernel_spec(name)
    with pytest.raises(KeyError):  # gone from the listing: removing it again is jupyter_client's KeyError
        ksm.remove_kernel_spec(name)
    assert name not in manager(kroot).find_kernel_specs()  # persisted: another manager (process) agrees

    listed = envkernels_cli("kernels", "hidden", "--json")
    assert listed.returncode == 0, listed.stderr
    [record] = json.loads(listed.stdout)
    assert record["name"] == name and record["prefix"] == env.prefix and record["kind"] == env.kind

    back = envkernels_cli("kernels", "unhide", name)
    assert back.returncode == 0, back.stderr
    assert name in ksm.find_kernel_specs()
    assert json.loads(envkernels_cli("kernels", "hidden", "--json").stdout) == []
    again = envkernels_cli("kernels", "unhide", name)
    assert again.returncode == 2 and again.stderr.startswith("error: no hidden kernel")
    assert "hint: " in again.stderr and "Traceback" not in again.stderr


def test_hide_command_and_remove_agree(khome: Path, kroot: Path) -> None:
    name = env_at(kroot / "condaish").kernel_name
    done = envkernels_cli("kernels", "hide", name, "--json", roots=[kroot])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == name
    assert name not in manager(kroot).find_kernel_specs()
    assert envkernels_cli("kernels", "unhide", name.upper()).returncode == 0
    assert name in manager(kroot).find_kernel_specs()


def test_a_corrupt_hidden_file_hides_nothing_and_the_cli_says_which_file(khome: Path, kroot: Path) -> None:
    hidden.hidden_file().parent.mkdir(parents=True, exist_ok=True)
    hidden.hidden_file().write_text("{not json")
    assert env_at(kroot / "bare").kernel_name in manager(kroot).find_kernel_specs()
    out = envkernels_cli("kernels", "hidden")
    assert out.returncode == 2 and str(hidden.hidden_file()) in out.stderr and "Traceback" not in out.stderr


def test_removing_an_installed_kernelspec_deletes_only_its_directory(khome: Path, kroot: Path) -> None:
    env = env_at(kroot / "bare")
    written = Path(install_kernelspec(env, user=True))
    assert written.parent == Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels"
    ksm = manager(kroot)
    assert ksm.find_kernel_specs()[env.kernel_name] == str(written)
    package, environment = package_digest(), tree_digest(kroot / "bare")

    assert ksm.remove_kernel_spec(env.kernel_name) == str(written)
    assert not written.exists()
    assert package_digest() == package and tree_digest(kroot / "bare") == environment
    assert env.kernel_name not in ksm.find_kernel_specs()  # and the discovered one is hidden with it
    assert env.kernel_name in hidden.hidden_kernels()


def test_real_jupyter_kernelspec_remove_leaves_the_package_intact(khome: Path, kroot: Path) -> None:
    env = env_at(kroot / "bare")
    package, environment = package_digest(), tree_digest(kroot / "bare")
    # Not installed: jupyter's own manager does not know the name; nothing happens.
    missing = jupyter_kernelspec("remove", "-y", env.kernel_name)
    assert missing.returncode != 0 and "Couldn't find kernel spec" in missing.stderr + missing.stdout
    # Installed by `envkernels kernels install`: exactly that directory goes.
    installed = envkernels_cli("kernels", "install", str(kroot / "bare"), "--json")
    assert installed.returncode == 0, installed.stderr
    [written] = json.loads(installed.stdout)
    removed = jupyter_kernelspec("remove", "-y", env.kernel_name)
    assert removed.returncode == 0, removed.stderr
    assert not Path(written["resource_dir"]).exists()
    assert package_digest() == package and tree_digest(kroot / "bare") == environment


class OutsideManager(KernelSpecManager):
    """A manager (as nb_conda_kernels' is) whose kernel lives in a directory outside Jupyter's kernel dirs."""

    where = ""

    def find_kernel_specs(self) -> dict[str, str]:
        return {**super().find_kernel_specs(), "outside": self.where}

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == "outside":
            return KernelSpec(argv=["cat"], display_name="Out", language="python", resource_dir=self.where)
        return super().get_kernel_spec(kernel_name)


def test_a_spec_outside_the_kernel_dirs_is_never_deleted(khome: Path, kroot: Path, tmp_path: Path) -> None:
    where = tmp_path / "some-env" / "share" / "jupyter" / "kernels" / "outside"
    where.mkdir(parents=True)
    (where / "kernel.json").write_text("{}")
    OutsideManager.where = str(where)
    ksm = manager(kroot, wrapped_class=OutsideManager)
    assert "outside" in ksm.find_kernel_specs()
    with pytest.raises(UsageError, match="refusing to delete"):
        ksm.remove_kernel_spec("outside")
    assert (where / "kernel.json").is_file()
