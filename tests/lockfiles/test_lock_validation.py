"""The one validation step every lock passes (lockfiles/validate.py): what it accepts, normalizes, refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envkernels.errors import BadInputError
from envkernels.lockfiles import read_lock

SHA = "a" * 64


def _uv_lock(tmp_path: Path, package: str) -> Path:
    path = tmp_path / "uv.lock"
    path.write_text(f'version = 1\nrequires-python = ">=3.8"\n\n[[package]]\n{package}\n')
    return path


def test_names_and_versions_come_out_normalized(tmp_path: Path) -> None:
    lock = read_lock(
        _uv_lock(
            tmp_path,
            'name = "Zope.Interface"\nversion = "1.0-RC1"\n'
            'source = { registry = "https://pypi.org/simple" }\n'
            'dependencies = [{ name = "Six_Extra", version = "02.0" }]',
        )
    )
    [pkg] = lock.packages
    assert (pkg.name, pkg.version) == ("zope-interface", "1.0rc1")
    assert pkg.dependencies == (("six-extra", None, "2.0"),)


@pytest.mark.parametrize(
    ("package", "field", "why"),
    [
        ('name = "six\\u0000"\nversion = "1.0"', "name", "control character"),
        ('name = "-e ."\nversion = "1.0"', "name", "PEP 508"),
        ('name = "six"\nversion = "1.0 --pre"', "version", "PEP 440"),
        ('name = "six"\nversion = " 1.0"', "version", "whitespace"),
        (
            'name = "six"\nversion = "1.0"\nresolution-markers = ["os_name == \'nt\'\\n-e /x"]',
            "marker",
            "control character",
        ),
        (
            'name = "six"\nversion = "1.0"\nwheels = [{ url = "https://h/six-1.0-py3-none-any.whl", '
            'hash = "md4:00" }]',
            "hashes",
            "unknown hash algorithm",
        ),
        (
            'name = "six"\nversion = "1.0"\nwheels = [{ url = "https://h/six-1.0-py3-none-any.whl", '
            'hash = "sha256:abc" }]',
            "hashes",
            "64 hex digits",
        ),
        (
            'name = "six"\nversion = "1.0"\nwheels = [{ url = "https://h/six 1.0-py3-none-any.whl", '
            f'hash = "sha256:{SHA}" }}]',
            "url",
            "whitespace",
        ),
        (
            'name = "six"\nversion = "1.0"\nwheels = [{ url = "javascript://h/six-1.0-py3-none-any.whl", '
            f'hash = "sha256:{SHA}" }}]',
            "url",
            "scheme",
        ),
        (
            'name = "six"\nversion = "1.0"\nsource = { git = "https://github.com/a/b\\u2028--pre#abc" }',
            "vcs.url",
            "control character",
        ),
        (
            'name = "six"\nversion = "1.0"\nsource = { git = "https://github.com/a/b#ab c" }',
            "vcs.commit-id",
            "revision",
        ),
        (
            'name = "six"\nversion = "1.0"\nsource = { editable = "../x\\r\\n--index-url http://h/" }',
            "directory.path",
            "control character",
        ),
        ('name = "six"\nversion = "1.0"\nsource = { registry = "ftp://h/simple" }', "index", "scheme"),
    ],
)
def test_a_bad_value_is_an_error_naming_file_package_and_field(
    tmp_path: Path, package: str, field: str, why: str
) -> None:
    path = _uv_lock(tmp_path, package)
    with pytest.raises(BadInputError) as info:
        read_lock(path)
    message = info.value.message
    assert str(path) in message and f"field `{field}`" in message and why in message
    assert "package " in message and "\n" not in message and "\r" not in message
    assert info.value.hint and "regenerate" in info.value.hint


def test_every_format_and_a_notebook_pass_the_same_validation(tmp_path: Path) -> None:
    bad = "1.0\n--index-url http://127.0.0.1:9/"
    pylock = (
        'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n'
        f'[tool.envkernels]\nmissing = [{{ name = "six", version = {json.dumps(bad)} }}]\n'
    )
    six = f'[[package]]\nname = "six"\nversion = {json.dumps(bad)}\n'
    files = {
        "poetry.lock": six + '[metadata]\nlock-version = "2.0"\n',
        "pdm.lock": '[metadata]\nlock_version = "4.4"\n' + six,
        "Pipfile.lock": json.dumps({"_meta": {"pipfile-spec": 6}, "default": {"six": {"version": bad}}}),
        "pylock.toml": pylock,
        "nb.ipynb": json.dumps({"cells": [], "nbformat": 4, "metadata": {"envkernels": {"lock": pylock}}}),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(BadInputError, match="invalid") as info:
            read_lock(tmp_path / name)
        assert name in info.value.message, name


def test_the_real_corpus_passes_validation_unchanged_in_meaning(corpus: Path) -> None:
    """Every real lockfile reads (names normalized, nothing refused that its tool wrote)."""
    locks = [
        p
        for p in corpus.rglob("*")
        if p.is_file()
        and (
            p.name in ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock.toml")
            or p.suffix == ".txt"
        )
    ]
    assert len(locks) >= 18
    for path in locks:
        lock = read_lock(path)
        assert lock.packages, path
        for pkg in lock.packages:
            assert pkg.name == pkg.name.lower() and "_" not in pkg.name and "." not in pkg.name
