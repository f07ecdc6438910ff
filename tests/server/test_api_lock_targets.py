"""POST .../lock writes only pylock files or a notebook's metadata, and keeps every earlier version."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from api_helpers import env_ids

from envkernels._toml import tomllib

STAMPED = r"\.\d{8}T\d{6}\.\d{6}Z(-\d+)?\.bak"


@pytest.mark.parametrize(
    "target",
    [
        "pyproject.toml",
        "setup.py",
        "project/requirements.txt",
        "pylock.toml.bak",
        "pylock",
        "mylock.toml",
        "pylock..toml",
    ],
)
async def test_lock_refuses_any_target_but_a_pylock_file_and_changes_nothing(
    api, jp_root_dir: Path, target: str
) -> None:
    (jp_root_dir / "project").mkdir(exist_ok=True)
    path = jp_root_dir / target
    path.write_text("original = true\n")
    before = sorted(p.name for p in path.parent.iterdir())
    ids = await env_ids(api)
    status, data = await api(
        "POST", "environments", ids["alpha"], "lock", body={"path": target, "hashes": False}
    )
    assert status == 400, data
    assert "pylock" in data["message"] and data["hint"] and data["reason"] == "bad-request"
    assert path.read_text() == "original = true\n"
    assert sorted(p.name for p in path.parent.iterdir()) == before  # no backup, no temporary file


async def test_every_earlier_pylock_is_kept_timestamped(api, jp_root_dir: Path) -> None:
    ids = await env_ids(api)
    target = jp_root_dir / "pylock.dev.toml"
    target.write_text("# version 0, written by hand\n")
    versions = [target.read_text()]
    backups = []
    for _ in range(3):
        status, result = await api(
            "POST", "environments", ids["alpha"], "lock", body={"path": "pylock.dev.toml", "hashes": False}
        )
        assert status == 200, result
        backups.append(result["backup"])
        assert re.fullmatch(r"pylock\.dev\.toml" + STAMPED, Path(result["backup"]).name)
        tomllib.loads(target.read_text())
        versions.append(target.read_text())
    # Three writes, three distinct backups: each holds the version the write replaced.
    assert len(set(backups)) == 3
    assert [Path(b).read_text() for b in backups] == versions[:3]


async def test_lock_into_a_notebook_only_writes_its_metadata_and_keeps_the_old_one(
    api, jp_root_dir: Path
) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import six"))
    path = jp_root_dir / "analysis.ipynb"
    path.write_text(nbformat.writes(nb))
    original = path.read_text()
    ids = await env_ids(api)
    status, result = await api(
        "POST", "environments", ids["alpha"], "lock", body={"notebook": "analysis.ipynb", "hashes": False}
    )
    assert status == 200, result
    assert not (jp_root_dir / "pylock.toml").exists()  # no path: only the notebook is written
    data = json.loads(path.read_text())
    assert "lock" in data["metadata"]["envkernels"] and data["cells"] == json.loads(original)["cells"]
    [backup] = jp_root_dir.glob("analysis.ipynb.*.bak")
    assert re.fullmatch(r"analysis\.ipynb" + STAMPED, backup.name) and backup.read_text() == original


async def test_a_notebook_target_must_be_an_ipynb(api, jp_root_dir: Path) -> None:
    (jp_root_dir / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    ids = await env_ids(api)
    status, data = await api(
        "POST", "environments", ids["alpha"], "lock", body={"notebook": "pyproject.toml", "hashes": False}
    )
    assert status == 400 and "notebook" in data["message"]
    assert (jp_root_dir / "pyproject.toml").read_text() == "[project]\nname = 'x'\n"
    status, data = await api("POST", "environments", ids["alpha"], "lock", body={})
    assert status == 400 and "required" in data["message"]
