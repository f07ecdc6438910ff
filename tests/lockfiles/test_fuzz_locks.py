"""No internal errors: damaged copies of real lockfiles and notebooks through every reader and command.

Hypothesis damages the seeds of ``tests/fuzz_mutations.py`` (types swapped, fields dropped,
nesting, huge strings, line breaks with options, bad UTF-8, cut-short files) and feeds each to
``read_lock``, ``check --lock``, ``sync --dry-run`` and ``audit`` of the lockfile. Every outcome is
a result, or an ``EnvKernelsError`` with a hint (CLI: ``error:``/``hint:``, exit 2); never an
"internal error", never a traceback. ``HYPOTHESIS_PROFILE=long`` runs thousands of examples.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envkernels.cli import main
from envkernels.errors import EnvKernelsError
from envkernels.lockfiles import read_lock
from fuzz_mutations import SEED_IDS, SEEDS, damaged

OSV_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "osv-sample"
SEED_INDEXES = range(len(SEEDS))


def _write(seed: int, raw: bytes, directory: str) -> Path:
    path = Path(directory) / SEEDS[seed][0]
    path.write_bytes(raw)
    return path


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _assert_clean(code: int, out: str, err: str) -> None:
    assert "internal error" not in err and "Traceback" not in err, err
    assert code in (0, 1, 2), (code, err)
    if code == 2:
        lines = err.splitlines()
        errors = [i for i, line in enumerate(lines) if line.startswith("error: ")]
        assert errors, err
        assert any(line.startswith("hint: ") for line in lines[errors[-1] :]), err


@pytest.mark.parametrize("seed", SEED_INDEXES, ids=SEED_IDS)
def test_read_lock_gives_a_lock_or_an_error_with_a_hint(seed: int) -> None:
    @given(raw=damaged(seed))
    def run(raw: bytes) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = _write(seed, raw, d)
            try:
                lock = read_lock(path)
            except EnvKernelsError as exc:
                assert exc.message and exc.hint, exc
                assert "\n" not in exc.message
                return
            for pkg in lock.packages:  # what came through is validated
                assert "\n" not in pkg.name and "\n" not in (pkg.version or "")

    run()


@pytest.mark.parametrize("seed", SEED_INDEXES, ids=SEED_IDS)
def test_check_sync_and_audit_of_a_damaged_lock_never_fail_internally(
    seed: int, small_env: Path, isolated_home: Path
) -> None:
    commands = {
        "check": lambda path: ("check", str(small_env), "--lock", path),
        "sync": lambda path: ("sync", path, "--target", str(small_env), "--dry-run"),
        "audit": lambda path: ("audit", path, "--db", str(OSV_SAMPLE)),
    }

    @given(raw=damaged(seed), command=st.sampled_from(sorted(commands)))
    def run(raw: bytes, command: str) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = str(_write(seed, raw, d))
            _assert_clean(*_cli(*commands[command](path)))

    run()


# Inputs that used to end in `internal error: AttributeError/TypeError/RecursionError`, or (the
# empty ones) in a plan removing everything installed.
KNOWN = {
    "Pipfile.lock": [
        '{"_meta": [], "default": {}}',
        '{"_meta": {"pipfile-spec": 6}, "default": []}',
        '{"_meta": {"pipfile-spec": 6}, "default": {"six": "==1.0"}}',
    ],
    "uv.lock": [
        "version = 1\npackage = 5\n",
        'version = 1\n[[package]]\nname = "six"\nversion = 1.0\n',
        'version = 1\n[[package]]\nname = "six"\nversion = "1.0"\nwheels = 5\n',
        'version = 1\n[[package]]\nversion = "1.0"\n',
        "version = 1\nx = " + "[" * 5000 + "]" * 5000,
    ],
    "poetry.lock": [
        '[[package]]\nname = "six"\nversion = "1.16.0"\nfiles = 5\n[metadata]\nlock-version = "2.0"\n',
        "",
        '[metadata]\nlock-version = "2.0"\nfiles = []\n',
    ],
    "pdm.lock": ["[metadata]\nlock_version = 4\n", '[metadata]\nlock_version = "4.4"\npackage = {}\n'],
    "pylock.toml": [
        'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n[tool]\nenvkernels = []\n',
        'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n[tool.envkernels]\nmissing = [1]\n',
    ],
    "requirements.txt": ["", "# only a comment\n"],
    "nb.ipynb": [
        '{"cells": [], "nbformat": 4, "metadata": []}',
        '{"cells": [], "nbformat": 4, "metadata": {"envkernels": []}}',
        '{"cells": [], "nbformat": 4, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
}


@pytest.mark.parametrize(
    ("name", "text"),
    [(n, t) for n, texts in KNOWN.items() for t in texts],
    ids=[f"{n}-{i}" for n, texts in KNOWN.items() for i in range(len(texts))],
)
def test_known_malformed_locks_are_errors_and_never_a_removal_plan(
    name: str, text: str, small_env: Path, tmp_path: Path, isolated_home: Path
) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, out, err = _cli("sync", str(path), "--target", str(small_env), "--dry-run")
    _assert_clean(code, out, err)
    assert code == 2 and out == "", (out, err)  # an error, not a plan (least of all "- six", "- idna")
    for argv in (
        ("check", str(small_env), "--lock", str(path)),
        ("audit", str(path), "--db", str(OSV_SAMPLE)),
    ):
        _assert_clean(*_cli(*argv))
