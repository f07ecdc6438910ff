"""A notebook carries its lock; concurrent writers never tear a lockfile or a notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.pylock import Pylock

from envkernels._toml import tomllib
from envkernels.errors import BadInputError
from envkernels.lockfiles import read_lock
from envkernels.lockfiles.notebook import detect_style, dump_like
from envkernels.lockfiles.writer import lock_environment
from envkernels.model import Environment


def _nbformat_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Analyse — données"),
        nbformat.v4.new_code_cell("import six\nsix.PY3"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def _without_envkernels(text: str) -> dict:
    data = json.loads(text)
    data["metadata"].pop("envkernels", None)
    return data


def test_notebook_lock_changes_only_metadata_envkernels_byte_for_byte(
    small: Environment, tmp_path: Path, local_index: str, isolated_home: Path
) -> None:
    nb = tmp_path / "analysis.ipynb"
    _nbformat_notebook(nb)
    before = nb.read_text(encoding="utf-8")
    result = lock_environment(small, notebook=str(nb), index_url=local_index)
    after = nb.read_text(encoding="utf-8")
    assert result.path is None and result.notebook == str(nb)
    meta = json.loads(after)["metadata"]["envkernels"]
    Pylock.from_dict(tomllib.loads(meta["lock"])).validate()
    assert meta["environment"]["packages"] == 2 and meta["environment"]["id"] == small.id
    # Removing what was added gives back the original file exactly, in nbformat's own style.
    assert dump_like(_without_envkernels(after), detect_style(before) | {"sort_keys": True}) == before
    assert nbformat.validate(nbformat.reads(after, as_version=4)) is None
    assert read_lock(nb).origin == "notebook"


def test_hand_formatted_notebook_keeps_its_indent_and_key_order(small: Environment, tmp_path: Path) -> None:
    nb = tmp_path / "hand.ipynb"
    data = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"zeta": 1, "alpha": "é"},
        "cells": [
            {
                "cell_type": "code",
                "source": ["x = 1"],
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "id": "c1",
            }
        ],
    }
    nb.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")  # no trailing newline
    before = nb.read_text(encoding="utf-8")
    lock_environment(small, notebook=str(nb), hashes=False)
    after = nb.read_text(encoding="utf-8")
    assert list(json.loads(after)["metadata"]) == ["zeta", "alpha", "envkernels"]
    assert json.dumps(_without_envkernels(after), indent=2, ensure_ascii=False) == before


def test_notebook_whose_json_cannot_be_reproduced_is_left_untouched(
    small: Environment, tmp_path: Path
) -> None:
    nb = tmp_path / "odd.ipynb"
    nb.write_text('{"cells": [],   "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    before = nb.read_bytes()
    with pytest.raises(BadInputError, match="cannot reproduce exactly"):
        lock_environment(small, notebook=str(nb), hashes=False)
    assert nb.read_bytes() == before


def test_not_a_notebook_is_bad_input(small: Environment, tmp_path: Path) -> None:
    nb = tmp_path / "broken.ipynb"
    nb.write_text('{"cells": [')
    with pytest.raises(BadInputError, match="not valid notebook JSON"):
        lock_environment(small, notebook=str(nb), hashes=False)


def _lock_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "envkernels", "lock", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_concurrent_lock_writers_leave_whole_files(
    small_env: Path, tmp_path: Path, local_index: str, isolated_home: Path
) -> None:
    out = tmp_path / "pylock.toml"
    nb = tmp_path / "shared.ipynb"
    _nbformat_notebook(nb)
    procs = [_lock_cli(str(small_env), "-o", str(out), "--index-url", local_index) for _ in range(4)]
    procs += [_lock_cli(str(small_env), "--notebook", str(nb), "--no-hashes") for _ in range(3)]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    backups = sorted(tmp_path.glob("pylock.toml.*.bak"))
    assert len(backups) == 3  # the first writer found nothing; each later one kept what was there
    for f in (out, *backups):
        Pylock.from_dict(tomllib.loads(f.read_text())).validate()
    assert read_lock(nb).origin == "notebook"
    nbformat.validate(nbformat.read(str(nb), as_version=4))
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
