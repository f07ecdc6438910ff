"""The right lock, or none: a lock found nearby is applied to an environment only when it is that
environment's (its project's, the notebook's own, or a pylock naming it); otherwise `lock-not-used`.

Real venvs made with uv; the pylocks are written by envkernels' own writer, the one `%envlock` and
`envkernels lock` use (``--no-hashes``: no index is asked).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from envfactory import make_venv
from envkernels.discovery.probe import environment_from_prefix
from envkernels.inspect.check import check_environment
from envkernels.lockfiles.owner import lock_ownership
from envkernels.lockfiles.writer import lock_environment
from envkernels.model import Environment

LOCK_CODES = {"lock-missing", "lock-extra", "lock-version-mismatch", "python-mismatch"}


@pytest.fixture(scope="module")
def two_envs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Environment, Environment]:
    """A (six, idna) and B (attrs): nothing in common, so A's lock applied to B would cry out."""
    root = tmp_path_factory.mktemp("owner")
    a = make_venv(root / "A", ["six==1.16.0", "idna==3.7"], no_deps=True)
    b = make_venv(root / "B", ["attrs==23.2.0"], no_deps=True)
    return environment_from_prefix(a), environment_from_prefix(b)


def _notebook(where: Path, source: str = "import os") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    path = where / "analysis.ipynb"
    where.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _codes(report: dict) -> list[str]:
    return [f["code"] for f in report["findings"]]


def test_a_pylock_written_for_env_a_beside_a_notebook_is_not_applied_to_env_b(
    two_envs: tuple[Environment, Environment], tmp_path: Path, isolated_home: Path
) -> None:
    a, b = two_envs
    nb = _notebook(tmp_path / "work")
    lock = tmp_path / "work" / "pylock.toml"
    lock_environment(a, output=str(lock), hashes=False)
    out = _cli("check", b.prefix, "--notebook", str(nb), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert _codes(report) == ["lock-not-used"]
    [note] = report["findings"]
    assert note["severity"] == "info"
    assert note["message"] == f"pylock.toml beside the notebook was written for `A` ({a.prefix}); not used"
    assert str(lock) in note["hint"]
    # The same lock for the environment it names is applied: drift in A shows against it.
    mine = _cli("check", a.prefix, "--notebook", str(nb), "--json", cwd=tmp_path)
    assert _codes(json.loads(mine.stdout)) == []
    # Named explicitly (--lock), a lock is always used: B against A's lock.
    forced = _cli("check", b.prefix, "--lock", str(lock), "--json", cwd=tmp_path)
    forced_codes = set(_codes(json.loads(forced.stdout)))
    assert {"lock-missing", "lock-extra"} <= forced_codes and "lock-not-used" not in forced_codes
    assert forced.returncode == 1


def test_the_rule_for_each_kind_of_lock(
    two_envs: tuple[Environment, Environment], tmp_path: Path, isolated_home: Path
) -> None:
    a, b = two_envs
    # A project's own environment and a pylock written for it from inside the project: it names
    # the project's environment (`project = "."`), so a copy of the project elsewhere (another
    # machine: another prefix) still uses it.
    proj = tmp_path / "proj"
    (proj).mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\ndependencies = ["six"]\n')
    venv = environment_from_prefix(make_venv(proj / ".venv", ["six==1.16.0"], no_deps=True))
    lock_environment(venv, output=str(proj / "pylock.toml"), hashes=False)
    moved = tmp_path / "elsewhere" / "proj"
    moved.mkdir(parents=True)
    (moved / "pyproject.toml").write_text((proj / "pyproject.toml").read_text())
    (moved / "pylock.toml").write_text((proj / "pylock.toml").read_text())
    moved_env = environment_from_prefix(make_venv(moved / ".venv", ["six==1.16.0"], no_deps=True))
    assert moved_env.project == str(moved.resolve()) and moved_env.prefix != venv.prefix
    assert lock_ownership(str(moved / "pylock.toml"), moved_env).used
    assert not lock_ownership(str(moved / "pylock.toml"), a).used
    # Another tool's lock (no record) is used only by the environment of its own project.
    (proj / "requirements.txt").write_text("six==1.16.0\n")
    assert lock_ownership(str(proj / "requirements.txt"), venv).used
    verdict = lock_ownership(str(proj / "requirements.txt"), b)
    assert not verdict.used and verdict.written_for is None
    # A pylock envkernels wrote before the record existed: its first line names the prefix.
    old = tmp_path / "old" / "pylock.toml"
    old.parent.mkdir()
    text = (proj / "pylock.toml").read_text()
    head, _, _ = text.partition("[tool.envkernels.environment]")
    old.write_text(head.replace(venv.prefix, a.prefix))
    assert lock_ownership(str(old), a).used and not lock_ownership(str(old), b).used
    assert lock_ownership(str(old), b).written_for == f"`{a.prefix}`"


def test_a_lock_the_notebook_carries_is_used(
    two_envs: tuple[Environment, Environment], tmp_path: Path, isolated_home: Path
) -> None:
    a, b = two_envs
    nb = _notebook(tmp_path / "nb", "import six")
    lock_environment(a, output="-", notebook=str(nb), hashes=False)
    report = check_environment(b, notebook=str(nb), use_cache=False).to_dict()
    codes = set(_codes(report))
    # The notebook's own lock is compared with: B lacks what A had (it is the notebook's kernel).
    assert "lock-missing" in codes and "lock-not-used" not in codes
    assert any(nb.name in f["message"] for f in report["findings"] if f["code"] == "lock-missing")


def test_the_check_cache_follows_a_lock_rewritten_for_another_environment(
    two_envs: tuple[Environment, Environment], tmp_path: Path, isolated_home: Path
) -> None:
    a, b = two_envs
    nb = _notebook(tmp_path / "w")
    lock = tmp_path / "w" / "pylock.toml"
    lock_environment(b, output=str(lock), hashes=False)
    first = set(_codes(check_environment(b, notebook=str(nb)).to_dict()))
    assert first & (LOCK_CODES | {"lock-not-used"}) == set()
    lock.unlink()
    lock_environment(a, output=str(lock), hashes=False)
    assert _codes(check_environment(b, notebook=str(nb)).to_dict()) == ["lock-not-used"]
