"""The extension app's configuration: every trait documented, roots from the environment variable."""

from __future__ import annotations

import os

import pytest

from envkernels.server.app import ROOTS_ENV_VAR, EnvKernelsApp


def test_every_configurable_trait_has_help() -> None:
    traits = EnvKernelsApp.class_own_traits(config=True)
    wanted = {"roots", "default_roots", "audit_db", "audit_licenses", "license_deny", "allow_sync"}
    assert wanted <= set(traits)
    undocumented = [name for name, trait in traits.items() if len((trait.help or "").strip()) < 20]
    assert undocumented == []


def test_roots_default_to_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROOTS_ENV_VAR, os.pathsep.join(["/a", "", "/b"]))
    assert EnvKernelsApp().roots == ["/a", "/b"]
    monkeypatch.delenv(ROOTS_ENV_VAR)
    assert EnvKernelsApp().roots == []
