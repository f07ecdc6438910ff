"""Fixtures for the audit tests: the copied advisories, a real vulnerable environment, an OSV server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from osv_server import OsvState, serve_osv

from envfactory import make_venv
from envkernels.discovery.probe import environment_from_prefix
from envkernels.model import Environment

# Real PyPA advisories (CC-BY 4.0, see tests/data/osv/README.md).
OSV_DB = Path(__file__).resolve().parent.parent / "data" / "osv"
# Known-vulnerable releases from PyPI (installed without their dependencies: requests 2.19.0 pins
# urllib3<1.24, and the audit reads only what is installed).
VULNERABLE_PINS = ("requests==2.19.0", "urllib3==1.24.1", "jinja2==2.10", "pyyaml==5.3")


@pytest.fixture(scope="session")
def vulnerable_pins() -> tuple[str, ...]:
    """What ``vulnerable_prefix`` installs (``name==version``)."""
    return VULNERABLE_PINS


@pytest.fixture(scope="session")
def osv_db() -> Path:
    """The directory of copied advisories (``vulns/<package>/<ID>.yaml``)."""
    return OSV_DB


@pytest.fixture(scope="session")
def vulnerable_prefix(shared_envs: Path) -> Path:
    """A read-only venv with requests 2.19.0, urllib3 1.24.1, jinja2 2.10 and pyyaml 5.3."""
    return make_venv(shared_envs / "vulnerable", VULNERABLE_PINS, no_deps=True)


@pytest.fixture(scope="session")
def vulnerable_env(vulnerable_prefix: Path) -> Environment:
    """The environment record of ``vulnerable_prefix``."""
    return environment_from_prefix(vulnerable_prefix)


@pytest.fixture
def osv_api(osv_db: Path) -> Iterator[tuple[str, OsvState]]:
    """A real OSV-speaking HTTP server on 127.0.0.1 serving the copied advisories."""
    with serve_osv(osv_db / "vulns") as served:
        yield served
