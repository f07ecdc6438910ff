"""Bad input never breaks a listing: broken environments appear once as broken, the rest still lists,
and discovery writes nothing anywhere."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from discohelpers import by_prefix, fake_conda_env, under, write

from envfactory import make_venv
from envkernels.discovery import discover, environment_from_prefix
from envkernels.discovery.roots import MAX_DEPTH
from envkernels.uvbin import uv_binary


@pytest.fixture(scope="module")
def good_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only venv the bad-input trees copy (copying is faster than `uv venv` for each test)."""
    return make_venv(tmp_path_factory.mktemp("good") / "venv")


def copy_venv(src: Path, dst: Path) -> Path:
    """A copy of a venv (symlinks kept as links, so bin/python still points to the base interpreter)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def test_dangling_interpreter_link_is_broken_with_a_hint(
    isolated_home: Path, tmp_path: Path, good_venv
) -> None:
    env_dir = copy_venv(good_venv, tmp_path / "root" / "dangling")
    (env_dir / "bin" / "python").unlink()
    (env_dir / "bin" / "python").symlink_to("/nonexistent/python3.99")
    for name in ("python3", "python3.11", f"python{sys.version_info[0]}.{sys.version_info[1]}"):
        if os.path.lexists(env_dir / "bin" / name):
            (env_dir / "bin" / name).unlink()
    env = by_prefix(discover([tmp_path / "root"], default_roots=False), env_dir)
    assert env.status == "broken"
    assert "/nonexistent/python3.99" in (env.problem or "")
    assert env.hint and "--clear" not in env.hint
    assert env.has_ipykernel is False
    # The hint is a command that repairs it in place, keeping what is installed.
    before = sorted(p.name for p in env_dir.glob("lib/python*/site-packages/*"))
    command = env.hint.split("`")[1]
    assert command.startswith("uv venv --allow-existing ")
    subprocess.run([uv_binary(), *shlex.split(command)[1:]], check=True, capture_output=True)
    repaired = by_prefix(discover([tmp_path / "root"], default_roots=False), env_dir)
    assert repaired.status == "ok", repaired.problem
    assert sorted(p.name for p in env_dir.glob("lib/python*/site-packages/*")) == before


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe garbage [[[ no equals sign\n\x80\x81\n"])
def test_empty_or_garbage_pyvenv_cfg_is_broken(
    isolated_home: Path, tmp_path: Path, good_venv, content
) -> None:
    env_dir = copy_venv(good_venv, tmp_path / "root" / "badcfg")
    (env_dir / "pyvenv.cfg").write_bytes(content)
    env = by_prefix(discover([tmp_path / "root"], default_roots=False), env_dir)
    assert (env.status, env.kind) == ("broken", "venv")
    assert "pyvenv.cfg" in (env.problem or "")
    assert env.hint


def test_interpreter_symlink_loop_and_directory_symlink_loops(
    isolated_home: Path, tmp_path: Path, good_venv
) -> None:
    root = tmp_path / "root"
    looped = copy_venv(good_venv, root / "looped")
    for name in os.listdir(looped / "bin"):
        if name.startswith("python"):
            (looped / "bin" / name).unlink()
    (looped / "bin" / "python").symlink_to("python")  # a link to itself
    ok = copy_venv(good_venv, root / "sub" / "ok")
    (root / "sub" / "up").symlink_to(root)  # a directory link back to an ancestor
    (root / "self").symlink_to(root / "self")  # a link to itself
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    envs = discover([root], default_roots=False)
    assert by_prefix(envs, looped).status == "broken"
    assert "loop" in (by_prefix(envs, looped).problem or "")
    assert by_prefix(envs, ok).status == "ok"
    assert len(under(envs, root)) == 2


def test_nonexistent_root_and_root_that_is_a_file(isolated_home: Path, tmp_path: Path, good_venv) -> None:
    copy_venv(good_venv, tmp_path / "root" / "fine")
    write(tmp_path / "a-file")
    envs = discover(
        [tmp_path / "missing", tmp_path / "a-file", tmp_path / "a-file" / "below", tmp_path / "root"],
        default_roots=False,
    )
    assert [e.name for e in envs] == ["fine"]


def test_ten_thousand_unrelated_directories_and_skipped_trees(
    isolated_home: Path, tmp_path: Path, good_venv
) -> None:
    root = tmp_path / "root"
    junk = root / "junk"
    junk.mkdir(parents=True)
    for i in range(10_000):
        os.mkdir(junk / f"d{i:05d}")
    copy_venv(good_venv, root / "proj" / ".venv")
    write(root / "proj" / "pyproject.toml", '[project]\nname = "proj"\n')
    copy_venv(good_venv, root / "web" / "node_modules" / "hidden-env")  # node_modules is never entered
    copy_venv(good_venv, root / ".git" / "not-an-env")  # neither are hidden directories like .git
    deep = root / "a" / "b" / "c" / "d" / "e" / "f"
    copy_venv(good_venv, deep)  # deeper than MAX_DEPTH
    envs = discover([root], default_roots=False)
    assert [(e.name, e.prefix) for e in envs] == [("proj", str((root / "proj" / ".venv").resolve()))]
    assert len(deep.relative_to(root).parts) > MAX_DEPTH


def test_non_utf8_directory_name_is_listed_as_broken_and_printable(
    isolated_home: Path, tmp_path: Path, good_venv
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    weird = os.fsencode(root) + b"/caf\xe9-env"
    shutil.copytree(good_venv, os.fsdecode(weird), symlinks=True)
    copy_venv(good_venv, root / "fine")
    envs = discover([root], default_roots=False)
    assert sorted((e.name, e.status) for e in envs) == [("caf\\xe9-env", "broken"), ("fine", "ok")]
    broken = next(e for e in envs if e.status == "broken")
    assert "UTF-8" in (broken.problem or "") and broken.hint
    json.dumps([e.to_dict() for e in envs], ensure_ascii=False).encode("utf-8")  # no lone surrogates left


def test_registry_naming_deleted_and_unreadable_paths(isolated_home: Path, tmp_path: Path) -> None:
    ok = fake_conda_env(tmp_path / "envs" / "ok")
    not_a_dir = write(tmp_path / "envs" / "not-a-dir")
    write(
        isolated_home / ".conda" / "environments.txt",
        "\n".join(str(p) for p in (tmp_path / "gone", not_a_dir, not_a_dir / "x", ok)) + "\n",
    )
    assert [e.name for e in under(discover(), tmp_path)] == ["ok"]


def test_environment_from_prefix_of_a_missing_path_is_broken_not_an_exception(tmp_path: Path) -> None:
    env = environment_from_prefix(tmp_path / "nope")
    assert env.status == "broken" and "does not exist" in (env.problem or "")


def snapshot(*roots: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``roots`` with (mtime_ns, size, mode) from lstat, links not followed."""
    found: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(os.fsencode(root), followlinks=False):
            for name in [b"", *dirnames, *filenames]:
                path = os.path.join(dirpath, name) if name else dirpath
                st = os.lstat(path)
                found[os.fsdecode(path)] = (st.st_mtime_ns, st.st_size, st.st_mode)
    return found


def test_discovery_writes_nothing_anywhere(
    isolated_home: Path, tmp_path: Path, good_venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    copy_venv(good_venv, root / "fine")
    bad = copy_venv(good_venv, root / "badcfg")
    (bad / "pyvenv.cfg").write_text("")
    (root / "loop").symlink_to(root / "loop")
    fake_conda_env(isolated_home / ".conda" / "envs" / "c")
    write(isolated_home / ".conda" / "environments.txt", f"{tmp_path / 'gone'}\n")
    write(isolated_home / ".condarc", "envs_dirs: [")
    monkeypatch.setenv("ENVKERNELS_ROOTS", str(root))
    before = snapshot(tmp_path)
    assert len(discover([root])) >= 3
    discover(use_cache=False)
    assert snapshot(tmp_path) == before


# Dropping CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set makes a root process
# obey file modes, so `chmod 000` really makes a directory unreadable for the child process.
_SETPRIV = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def _setpriv_enforces_modes(tmp_path: Path) -> bool:
    if shutil.which("setpriv") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0)
    try:
        proc = subprocess.run(
            [*_SETPRIV, sys.executable, "-c", f"import os; os.listdir({str(probe)!r})"], capture_output=True
        )
        return proc.returncode != 0 and b"PermissionError" in proc.stderr
    finally:
        probe.chmod(0o755)


def test_unreadable_directories_with_file_modes_enforced(
    isolated_home: Path, tmp_path: Path, good_venv
) -> None:
    """Run discovery in a child that cannot bypass file modes (root ignores `chmod 000` otherwise)."""
    if not _setpriv_enforces_modes(tmp_path):
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no setpriv): an unreadable directory cannot be made")
    root = tmp_path / "root"
    fine = copy_venv(good_venv, root / "fine")
    locked_dir = root / "locked-junk"
    locked_dir.mkdir()
    locked_venv = copy_venv(good_venv, root / "proj" / ".venv")
    write(root / "proj" / "pyproject.toml", '[project]\nname = "proj"\n')
    locked_conda = fake_conda_env(tmp_path / "envs" / "lockedconda")
    write(isolated_home / ".conda" / "environments.txt", f"{locked_conda}\n")
    for path in (locked_dir, locked_venv, locked_conda):
        path.chmod(0)
    code = (
        "import json; from envkernels.discovery import discover; "
        f"print(json.dumps([e.to_dict() for e in discover([{str(root)!r}])]))"
    )
    try:
        proc = subprocess.run(
            [*_SETPRIV, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=120,
        )
    finally:
        for path in (locked_dir, locked_venv, locked_conda):
            path.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    records = {r["prefix"]: r for r in json.loads(proc.stdout)}
    assert records[str(fine.resolve())]["status"] == "ok"
    for locked in (locked_venv, locked_conda):
        rec = records[str(locked.resolve())]
        assert rec["status"] == "broken" and "cannot be read" in rec["problem"], rec
        assert rec["hint"]
    assert not any(p.startswith(str(locked_dir)) for p in records)
