"""A hash mismatch names the package and both hashes: a real local index serving a changed wheel.

The lock is made from an index serving six's real wheel; a second index serves a wheel of the
same name with one file added (a valid wheel, another sha256). The lock's URLs are pointed at the
second index (its optional ``size`` dropped, so uv gets as far as the hash), as when a mirror
serves a replaced file.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envfactory import freeze, make_venv
from envkernels.discovery.probe import environment_from_prefix
from envkernels.sync import SyncFailedError, apply_sync, plan_sync
from envkernels.sync.history import read_history
from simple_index_server import serve, sha256


@pytest.fixture(scope="module")
def tampered_index(wheel_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(index URL, sha256 of its six wheel): the session's wheels, six's with an extra file in it."""
    d = tmp_path_factory.mktemp("tampered")
    for f in wheel_dir.iterdir():
        shutil.copy(f, d / f.name)
    [six] = d.glob("six-*.whl")
    with zipfile.ZipFile(six, "a") as z:
        z.writestr("six_extra.py", "print('not what was locked')\n")
    with serve(d) as url:
        yield url, sha256(six)


def test_hash_mismatch_names_the_package_and_both_hashes_and_restores(
    small_lock: Path,
    local_index: str,
    wheel_dir: Path,
    tampered_index: tuple[str, str],
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    evil_url, evil_sha = tampered_index
    [six] = wheel_dir.glob("six-*.whl")
    locked_sha = sha256(six)
    origin = local_index.rsplit("/simple", 1)[0]
    text = small_lock.read_text().replace(origin, evil_url.rsplit("/simple", 1)[0])
    text = re.sub(r",? ?size = \d+,?", "", text)
    lock = tmp_path / "pylock.toml"
    lock.write_text(text)
    prefix = make_venv(tmp_path / "env", ["six==1.15.0", "idna==3.6"], no_deps=True)
    before = freeze(prefix)
    env = environment_from_prefix(prefix)
    with pytest.raises(SyncFailedError) as info:
        apply_sync(plan_sync(lock, env), env, lock_path=str(lock))
    message = info.value.message
    assert "hash mismatch for `six==1.16.0`" in message
    assert f"sha256:{locked_sha}" in message and f"sha256:{evil_sha}" in message
    assert message.index(locked_sha) < message.index(evil_sha)  # "expects X, the file has Y"
    assert "restored" in message and info.value.hint and "index" in info.value.hint
    assert freeze(prefix) == before
    assert "hash mismatch for `six==1.16.0`" in read_history(env)[-1]["error"]
