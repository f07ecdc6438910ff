"""EnvKernelSpecManager on real uv environments (no server): names, de-duplication, traits, refresh."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from kernelhelpers import env_at

from envfactory import make_venv
from envkernels.kernels.coexist import adopt_kernel_spec_manager
from envkernels.kernels.manager import EnvKernelSpecManager
from envkernels.kernels.paths import launcher_script

PY = f"{sys.version_info.major}.{sys.version_info.minor}"  # the session envs' Python


def manager(root: Path, **traits: Any) -> EnvKernelSpecManager:
    return EnvKernelSpecManager(roots=[str(root)], default_roots=False, **traits)


def test_every_environment_is_listed_once_beside_python3(khome: Path, kroot: Path) -> None:
    specs = manager(kroot).get_all_specs()
    names = {env_at(kroot / n).kernel_name: n for n in ("withipk", "bare", "condaish")}
    assert set(names) <= set(specs)
    assert "python3" in specs
    spec = specs[env_at(kroot / "withipk").kernel_name]
    assert spec["spec"]["display_name"] == f"Python {PY} ({env_at(kroot / 'withipk').kind}: withipk)"
    assert spec["spec"]["metadata"]["envkernels"]["prefix"] == str(kroot / "withipk")
    assert Path(spec["resource_dir"], "logo-svg.svg").is_file()
    condaish = env_at(kroot / "condaish")
    assert specs[condaish.kernel_name]["resource_dir"].endswith(condaish.kind)


def test_kernel_names_are_stable_across_managers(khome: Path, kroot: Path) -> None:
    assert set(manager(kroot).get_all_specs()) == set(manager(kroot).get_all_specs())


def test_env_with_its_own_kernelspec_appears_once_under_its_own_name(khome: Path, kroot: Path) -> None:
    python = kroot / "withipk" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "ipykernel", "install", "--user", "--name", "myown", "--display-name", "My Own"],
        check=True,
        capture_output=True,
    )
    ksm = manager(kroot)
    specs = ksm.get_all_specs()
    ours = env_at(kroot / "withipk").kernel_name
    assert "myown" in specs and ours not in set(specs)  # listed once (a lookup of it finds the twin)
    assert specs["myown"]["spec"]["display_name"] == "My Own"
    assert specs["myown"]["spec"]["metadata"]["envkernels"]["id"] == env_at(kroot / "withipk").id
    # The envk- name stays resolvable (a notebook saved with it still opens).
    assert ksm.get_kernel_spec(ours).argv[0] == str(python)
    # A stock ipykernel spec is started the envkernels way, under its own name and display name.
    launched = ksm.get_kernel_spec("myown")
    assert launched.argv[0] == str(python) and launched.argv[-3] == str(launcher_script())
    assert launched.display_name == "My Own"
    assert launched.env["ENVKERNELS_ENV_ID"] == env_at(kroot / "withipk").id


def test_a_customised_native_kernelspec_is_listed_once_but_launched_as_written(
    khome: Path, kroot: Path
) -> None:
    python = kroot / "bare" / "bin" / "python"
    spec_dir = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "custom"
    spec_dir.mkdir(parents=True)
    argv = [str(python), "-X", "dev", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Custom", "language": "python", "env": {"FOO": "1"}})
    )
    ksm = manager(kroot)
    specs = ksm.get_all_specs()
    assert "custom" in specs and env_at(kroot / "bare").kernel_name not in set(specs)
    assert specs["custom"]["spec"]["metadata"]["envkernels"]["prefix"] == str(kroot / "bare")
    assert ksm.get_kernel_spec("custom").argv == argv


def test_python3_stays_resolvable(khome: Path, kroot: Path) -> None:
    spec = manager(kroot).get_kernel_spec("python3")
    assert isinstance(spec, KernelSpec) and spec.language == "python"


def test_unknown_kernel_name_raises_no_such_kernel(khome: Path, kroot: Path) -> None:
    with pytest.raises(NoSuchKernel):
        manager(kroot).get_kernel_spec("envk-venv-nothing-00000000")


def test_hide_mode_leaves_out_environments_without_ipykernel(khome: Path, kroot: Path) -> None:
    specs = manager(kroot, without_ipykernel="hide").get_all_specs()
    assert env_at(kroot / "withipk").kernel_name in specs
    assert env_at(kroot / "bare").kernel_name not in set(specs)
    assert env_at(kroot / "condaish").kernel_name not in set(specs)


def test_hidden_kinds_leave_out_every_environment_of_that_kind(khome: Path, kroot: Path) -> None:
    withipk = env_at(kroot / "withipk")
    specs = manager(kroot, hidden_kinds=[withipk.kind]).get_all_specs()
    assert withipk.kernel_name not in set(specs)
    kinds = {s["spec"]["metadata"].get("envkernels", {}).get("kind") for s in specs.values()}
    assert withipk.kind not in kinds


def test_new_environment_appears_after_refresh_without_a_restart(khome: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_venv(root / "first")
    ksm = manager(root, refresh_interval=3600.0)
    assert env_at(root / "first").kernel_name in ksm.get_all_specs()
    make_venv(root / "second")
    assert env_at(root / "second").kernel_name not in set(ksm.get_all_specs())  # served from memory
    ksm.refresh()
    assert env_at(root / "second").kernel_name in set(ksm.get_all_specs())
    # get_kernel_spec rescans (a name the last listing did not know is found).
    make_venv(root / "third")
    assert ksm.get_kernel_spec(env_at(root / "third").kernel_name).argv[0] == str(
        root / "third" / "bin" / "python"
    )


def test_async_get_all_specs_waits_for_one_rebuild_shared_by_concurrent_callers(
    khome: Path, kroot: Path
) -> None:
    ksm = manager(kroot, refresh_interval=0.0)
    calls = []
    original = ksm.build_listing

    def counting() -> Any:
        calls.append(1)
        return original()

    ksm.build_listing = counting  # type: ignore[method-assign]

    async def main() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(ksm.async_get_all_specs() for _ in range(5))))

    listings = asyncio.run(main())
    assert len(calls) == 1
    assert all(set(listing) == set(listings[0]) for listing in listings)


class OtherManager(KernelSpecManager):
    """Another manager (as nb_conda_kernels' is): it adds a kernel of its own."""

    def find_kernel_specs(self) -> dict[str, str]:
        found = super().find_kernel_specs()
        found["other-kernel"] = str(Path(__file__).parent)
        return found

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == "other-kernel":
            return KernelSpec(
                argv=["python", "-m", "ipykernel"],
                display_name="Other",
                language="python",
                resource_dir=str(Path(__file__).parent),
            )
        return super().get_kernel_spec(kernel_name)


def test_a_wrapped_manager_keeps_its_kernels_beside_the_environments(khome: Path, kroot: Path) -> None:
    ksm = manager(kroot, wrapped_class=OtherManager)
    specs = ksm.get_all_specs()
    assert "other-kernel" in specs and env_at(kroot / "bare").kernel_name in specs
    assert ksm.get_kernel_spec("other-kernel").display_name == "Other"


def test_adopt_wraps_another_configured_manager_instead_of_replacing_it(khome: Path) -> None:
    from jupyter_server.serverapp import ServerApp

    app = ServerApp()
    app.kernel_spec_manager_class = OtherManager
    assert adopt_kernel_spec_manager(app) == "wrapped OtherManager"
    assert app.kernel_spec_manager_class is EnvKernelSpecManager
    assert app.config.EnvKernelSpecManager.wrapped_class is OtherManager
    assert adopt_kernel_spec_manager(app) == "ours"


def test_install_mode_puts_ipykernel_into_the_environment_before_start(khome: Path, tmp_path: Path) -> None:
    """The admin's `without_ipykernel = "install"`: the provisioner's preparation installs it (with uv)."""
    from envkernels.core.layout import has_distribution
    from envkernels.kernels.provisioner import prepare

    env_prefix = make_venv(tmp_path / "root" / "toinstall")
    assert not has_distribution(env_prefix, "ipykernel")
    asyncio.run(prepare(env_at(env_prefix), "install"))
    assert has_distribution(env_prefix, "ipykernel")
