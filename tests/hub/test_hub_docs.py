"""docs/jupyterhub.md shows the configuration the hub tests start JupyterHub with, to the character.

The tests' configuration functions are rendered with the paths the page uses; each block must
appear on the page as it is. A change to the tests' hub configuration without the page fails here.
"""

from __future__ import annotations

from pathlib import Path

import test_hub_os_users
import test_hub_users
from hubenvs import spawner_environment

PAGE = Path(__file__).resolve().parents[2] / "docs" / "jupyterhub.md"
ENVIRONMENT = spawner_environment(
    Path("/srv/envs"),
    Path("/srv/envkernels/overlays"),
    Path("/var/log/envkernels-history.jsonl"),
    "http://127.0.0.1:PORT/simple",
)


def test_the_os_users_hub_configuration_is_on_the_page() -> None:
    block = test_hub_os_users.admin_config({"alice": "alice", "bob": "bob"}, ENVIRONMENT)
    assert block in PAGE.read_text()


def test_the_simple_spawner_hub_configuration_is_on_the_page() -> None:
    block = test_hub_users.admin_config(Path("/home"), ENVIRONMENT)
    assert block in PAGE.read_text()


def test_the_settings_block_names_the_same_variables() -> None:
    """Step 4's ``c.Spawner.environment`` is the tests' one without the test-only index."""
    settings = {k: v for k, v in ENVIRONMENT.items() if k != "UV_INDEX_URL"}
    lines = "\n".join(f'    "{k}": "{v}",' for k, v in settings.items())
    assert f"c.Spawner.environment = {{\n{lines}\n}}" in PAGE.read_text()
