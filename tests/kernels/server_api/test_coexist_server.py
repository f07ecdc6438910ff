"""The server extension, on a real jupyter_server, wraps a kernel spec manager another package configured.

nb_conda_kernels and similar packages set ``ServerApp.kernel_spec_manager_class`` in their own config
file; whichever file loads last would win. The extension links before the server builds its manager,
and makes it envkernels' manager wrapping the other one, so both sets of kernels are offered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from traitlets.config import Config

from envkernels.kernels.manager import EnvKernelSpecManager


class ThirdPartyManager(KernelSpecManager):
    """Stands in for another package's manager: it offers one kernel of its own."""

    def find_kernel_specs(self) -> dict[str, str]:
        specs = super().find_kernel_specs()
        specs["third-party"] = str(Path(__file__).parent)
        return specs

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == "third-party":
            return KernelSpec(
                argv=["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Third party",
                language="python",
                resource_dir=str(Path(__file__).parent),
            )
        return super().get_kernel_spec(kernel_name)


@pytest.fixture
def jp_server_config(khome: Path, kroot: Path) -> Config:
    """The REST extension switched on, and another manager configured as the server's."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"envkernels": True},
                "kernel_spec_manager_class": f"{__name__}.ThirdPartyManager",
            },
            "EnvKernelSpecManager": {"roots": [str(kroot)], "default_roots": False, "refresh_interval": 0.0},
        }
    )


async def test_extension_wraps_a_manager_another_package_configured(
    jp_serverapp: Any, jp_fetch: Any, kroot: Path
) -> None:
    ksm = jp_serverapp.kernel_spec_manager
    assert isinstance(ksm, EnvKernelSpecManager)
    assert ksm.wrapped_class is ThirdPartyManager
    response = await jp_fetch("api", "kernelspecs")
    names = set(json.loads(response.body)["kernelspecs"])
    assert "third-party" in names  # the other package's kernel is still offered
    assert any(name.startswith("envk-") and name.endswith(tuple("0123456789abcdef")) for name in names)
