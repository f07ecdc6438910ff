"""read_lock on real lockfiles from public repositories (tests/data/lockfiles, SOURCES.md names each)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from envkernels.errors import BadInputError, NotFoundError
from envkernels.lockfiles import applicable_packages, read_lock
from envkernels.model import Environment

# (path in the corpus, format, number of packages, one (name, version) the file pins)
CASES = [
    ("pylock/8Dionysus__ATM10-Agent/pylock.toml", "pylock", 1, ("atm10-agent", None)),
    ("pylock/Anski-D__grumpyfuk/pylock.toml", "pylock", 16, None),
    ("pylock/Evernight__lazy-beancount/pylock.toml", "pylock", 113, None),
    ("pylock/HYBB-rash__my_qb_tools/pylock.toml", "pylock", 7, None),
    ("pylock/Fuyukai__sailor-moon-fansite/pylock.toml", "pylock", 6, None),
    ("uv/heroku__heroku-buildpack-python/uv.lock", "uv", 5, ("packaging", "25.0")),
    ("uv/tdejager__test-uv-versions/uv.lock", "uv", 4, ("pkg-dynamic", None)),
    ("uv/aekespong__the_card/uv.lock", "uv", 5, None),
    ("uv/aegisfleet__zenn-trending-to-bluesky/uv.lock", "uv", 37, None),
    ("poetry/03b8__tefy/poetry.lock", "poetry", 19, ("atomicwrites", "1.3.0")),
    ("poetry/000hcl__tictactoe/poetry.lock", "poetry", 24, ("astroid", "2.6.5")),
    ("poetry/0442__tui/poetry.lock", "poetry", 17, ("ansicon", "1.89.0")),
    ("poetry/python-poetry__poetry/poetry.lock", "poetry", 6, None),
    ("pdm/490273789__hello_python/pdm.lock", "pdm", 10, ("et-xmlfile", "2.0.0")),
    ("pdm/540__gilded-rose-python/pdm.lock", "pdm", 21, None),
    ("pipfile/0-jam__soundtest/Pipfile.lock", "pipfile", 7, None),
    ("pipfile/moznuy__TestCoverage/Pipfile.lock", "pipfile", 4, ("django", "2.2.1")),
    ("requirements-hashes/pyca__cryptography/build-requirements.txt", "requirements", 5, ("cffi", "1.17.0")),
    ("requirements-hashes/pypi__warehouse/deploy.txt", "requirements", 13, None),
]


@pytest.mark.parametrize(("rel", "fmt", "count", "pin"), CASES, ids=[c[0].split("/")[1] for c in CASES])
def test_each_corpus_lock_reads_with_its_format_and_packages(
    corpus: Path, rel: str, fmt: str, count: int, pin: tuple[str, str | None] | None
) -> None:
    lock = read_lock(corpus / rel)
    assert lock.format == fmt
    assert len(lock.packages) == count
    assert all(p.name for p in lock.packages)
    if pin is not None:
        pkg = lock.package(pin[0])
        assert pkg is not None and pkg.version == pin[1]


def test_pylock_named_file_holding_requirements_is_read_as_requirements_with_a_warning(corpus: Path) -> None:
    lock = read_lock(corpus / "pylock/Djirlic__raw-transactions-handler/pylock.toml")
    assert lock.format == "requirements"
    assert "pinned requirements" in lock.warnings[0]
    black = lock.package("black")
    assert black is not None and black.version == "25.1.0" and len(black.artifacts[0].hashes) == 6
    assert any(p.editable for p in lock.packages)  # the `-e .` line


def test_poetry_hashes_come_from_every_place_each_lock_version_keeps_them(corpus: Path) -> None:
    pre10 = read_lock(corpus / "poetry/03b8__tefy/poetry.lock")  # [metadata.hashes], bare digests
    v11 = read_lock(corpus / "poetry/000hcl__tictactoe/poetry.lock")  # [metadata.files]
    v20 = read_lock(corpus / "poetry/0442__tui/poetry.lock")  # per-package files
    assert pre10.lock_version == "pre-1.0" and v11.lock_version == "1.1" and v20.lock_version == "2.0"
    for lock in (pre10, v11, v20):
        assert lock.has_hashes
        assert all(
            algo == "sha256" and len(d) == 64
            for p in lock.packages
            for a in p.artifacts
            for algo, d in a.hashes
        )
    colorama = pre10.package("colorama")
    assert (
        colorama is not None and colorama.marker == 'sys_platform == "win32"' and colorama.groups == ("dev",)
    )


def test_poetry_path_dependency_is_a_directory_entry(corpus: Path) -> None:
    lock = read_lock(corpus / "poetry/python-poetry__poetry/poetry.lock")
    dirs = [p for p in lock.packages if p.directory is not None]
    assert dirs and all(p.directory and p.directory.get("path") for p in dirs)


def test_pdm_package_repeated_for_an_extra_is_merged(corpus: Path) -> None:
    lock = read_lock(corpus / "pdm/540__gilded-rose-python/pdm.lock")
    names = [p.name for p in lock.packages]
    assert names.count("coverage") == 1


def test_uv_lock_git_and_editable_sources_are_kept(corpus: Path) -> None:
    lock = read_lock(corpus / "uv/heroku__heroku-buildpack-python/uv.lock")
    gunicorn = lock.package("gunicorn")
    assert gunicorn is not None and gunicorn.vcs == {
        "type": "git",
        "url": "https://github.com/benoitc/gunicorn",
        "commit-id": "a86ea1e4e6c271d1cd1823c7e14490123f9238fe",
    }
    assert [p.name for p in lock.packages if p.editable] == [
        "local-package-pyproject-toml",
        "local-package-setup-py",
        "uv-editable",
    ]


def _env(version: str) -> Environment:
    """An environment record (no environment on disk is needed to evaluate markers)."""
    return Environment(
        id="venv-x-00000000",
        kind="venv",
        name="x",
        prefix="/nonexistent",
        python="/nonexistent/bin/python",
        python_version=version,
    )


def test_uv_lock_edges_with_markers_select_by_python_version(corpus: Path) -> None:
    lock = read_lock(corpus / "uv/aegisfleet__zenn-trending-to-bluesky/uv.lock")
    on310 = {p.name for p in applicable_packages(lock, _env("3.10.14"))}
    on312 = {p.name for p in applicable_packages(lock, _env("3.12.4"))}
    # tomli and exceptiongroup are only pulled in below 3.11 in that lock.
    assert "tomli" in on310 or "exceptiongroup" in on310
    assert "tomli" not in on312 and "exceptiongroup" not in on312
    assert "colorama" not in on312  # sys_platform == 'win32' only; this machine is Linux


def test_package_marker_is_evaluated_for_the_environments_python(tmp_path: Path) -> None:
    f = tmp_path / "pylock.toml"
    f.write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n'
        '[[packages]]\nname = "tomli"\nversion = "2.0.1"\nmarker = "python_version < \'3.11\'"\n'
        '[packages.archive]\nurl = "https://example.org/tomli-2.0.1.tar.gz"\n'
        '[packages.archive.hashes]\nsha256 = "' + "0" * 64 + '"\n'
    )
    lock = read_lock(f)
    assert [p.name for p in applicable_packages(lock, _env("3.10.1"))] == ["tomli"]
    assert applicable_packages(lock, _env("3.11.7")) == []


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("uv.lock", 'version = 2\n[[package]]\nname = "a"\n', "uv.lock of version 2"),
        ("poetry.lock", '[metadata]\nlock-version = "3.0"\n', "poetry.lock of version 3.0"),
        ("pdm.lock", '[metadata]\nlock_version = "9.0"\n', "pdm.lock of version 9.0"),
        ("Pipfile.lock", json.dumps({"_meta": {"pipfile-spec": 7}}), "Pipfile.lock of version 7"),
        ("pylock.toml", 'lock-version = "2.0"\ncreated-by = "x"\npackages = []\n', "2.0"),
    ],
)
def test_unknown_lock_versions_are_refused_clearly(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(BadInputError) as info:
        read_lock(f)
    assert expected in info.value.message and str(f) in info.value.message
    assert info.value.hint


def test_corrupted_toml_names_file_and_line(tmp_path: Path, corpus: Path) -> None:
    f = tmp_path / "uv.lock"
    lines = (corpus / "uv/aekespong__the_card/uv.lock").read_text().splitlines()
    lines[6] = 'source = { registry = "https://pypi.org/simple"'  # unterminated inline table
    f.write_text("\n".join(lines))
    with pytest.raises(BadInputError) as info:
        read_lock(f)
    # The line is the parser's: 3.11's tomllib names the broken line, tomli 2.x (on 3.10) the next one.
    assert "not valid TOML" in info.value.message
    assert f"{f}:7`" in info.value.message or (sys.version_info < (3, 11) and f"{f}:8`" in info.value.message)


def test_truncated_pipfile_lock_is_bad_input(tmp_path: Path, corpus: Path) -> None:
    f = tmp_path / "Pipfile.lock"
    f.write_text((corpus / "pipfile/moznuy__TestCoverage/Pipfile.lock").read_text()[:300])
    with pytest.raises(BadInputError, match="not valid JSON"):
        read_lock(f)


def test_requirements_line_that_is_not_a_requirement_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "requirements.txt"
    f.write_text(
        "six==1.16.0\nidna==3.7 \\\n    --hash=sha256:" + "a" * 64 + "\nthis is not a requirement!\n"
    )
    with pytest.raises(BadInputError) as info:
        read_lock(f)
    assert f"{f}:4" in info.value.message


def test_missing_file_and_conda_lock_get_clear_errors(tmp_path: Path, corpus: Path) -> None:
    with pytest.raises(NotFoundError):
        read_lock(tmp_path / "nope.lock")
    with pytest.raises(BadInputError, match="conda lock"):
        read_lock(corpus / "pixi/prefix-dev__pixi/pixi.lock")


def test_format_is_detected_by_content_when_the_name_says_nothing(tmp_path: Path, corpus: Path) -> None:
    for rel, fmt in [
        ("poetry/0442__tui/poetry.lock", "poetry"),
        ("pdm/490273789__hello_python/pdm.lock", "pdm"),
        ("uv/aekespong__the_card/uv.lock", "uv"),
        ("pipfile/0-jam__soundtest/Pipfile.lock", "pipfile"),
        ("pylock/Anski-D__grumpyfuk/pylock.toml", "pylock"),
    ]:
        renamed = tmp_path / f"renamed-{fmt}.lockfile"
        shutil.copy(corpus / rel, renamed)
        assert read_lock(renamed).format == fmt


def test_notebook_carrying_a_lock_is_read_and_one_without_says_how_to_add_it(
    tmp_path: Path, corpus: Path
) -> None:
    nb = {
        "cells": [],
        "metadata": {"envkernels": {"lock": (corpus / "pylock/Anski-D__grumpyfuk/pylock.toml").read_text()}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    f = tmp_path / "analysis.ipynb"
    f.write_text(json.dumps(nb))
    lock = read_lock(f)
    assert lock.format == "pylock" and lock.origin == "notebook" and len(lock.packages) == 16
    del nb["metadata"]["envkernels"]
    f.write_text(json.dumps(nb))
    with pytest.raises(BadInputError) as info:
        read_lock(f)
    assert "envkernels lock --notebook" in (info.value.hint or "")
