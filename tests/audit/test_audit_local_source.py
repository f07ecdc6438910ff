"""The local OSV database: directory and all.zip layouts, the cached index, and bad records."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from envkernels.audit.sources import local_index
from envkernels.audit.sources.interface import Dependency
from envkernels.audit.sources.osv_local import OsvLocalSource
from envkernels.errors import BadInputError, NotFoundError


def ids_for(source: OsvLocalSource, name: str) -> set[str]:
    return {a.id for a in source.query([Dependency(name, "1.0")]).advisories.get(name, ())}


@pytest.fixture
def db_copy(osv_db: Path, tmp_path: Path) -> Path:
    """A writable copy of the copied advisories (tests below damage or extend it)."""
    return Path(shutil.copytree(osv_db, tmp_path / "db"))


def test_index_is_built_once_then_read_from_the_cache(osv_db: Path, tmp_path: Path):
    first = OsvLocalSource(osv_db, cache_root=tmp_path).index()
    assert first.built and first.count == 28
    local_index._LOADED.clear()  # a new process: nothing in memory, the index on disk
    second = OsvLocalSource(osv_db, cache_root=tmp_path).index()
    assert not second.built
    assert second.packages == first.packages
    assert ids_for(OsvLocalSource(osv_db, cache_root=tmp_path), "urllib3") >= {
        "PYSEC-2019-132",
        "PYSEC-2023-212",
    }


def test_index_is_rebuilt_when_an_advisory_is_added(db_copy: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    source = OsvLocalSource(db_copy, cache_root=cache)
    assert "PYSEC-2099-1" not in ids_for(source, "requests")
    record = yaml.safe_load((db_copy / "vulns/requests/PYSEC-2018-28.yaml").read_text())
    record["id"] = "PYSEC-2099-1"
    (db_copy / "vulns/requests/PYSEC-2099-1.yaml").write_text(yaml.safe_dump(record))
    folder = db_copy / "vulns/requests"
    st = folder.stat()
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # coarse-mtime filesystems
    assert "PYSEC-2099-1" in ids_for(source, "requests")
    assert source.index().built


def test_a_new_package_folder_is_seen_by_the_next_audit(db_copy: Path, tmp_path: Path):
    source = OsvLocalSource(db_copy, cache_root=tmp_path / "cache")
    assert ids_for(source, "newpkg") == set()
    record = {
        "id": "PYSEC-2099-2",
        "modified": "2099-01-01T00:00:00Z",
        "affected": [{"package": {"name": "newpkg", "ecosystem": "PyPI"}, "versions": ["1.0"]}],
    }
    (db_copy / "vulns/newpkg").mkdir()
    (db_copy / "vulns/newpkg/PYSEC-2099-2.json").write_text(json.dumps(record))
    st = (db_copy / "vulns").stat()
    os.utime(db_copy / "vulns", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert ids_for(source, "newpkg") == {"PYSEC-2099-2"}


def test_index_is_rebuilt_when_the_cached_index_is_damaged(osv_db: Path, tmp_path: Path):
    source = OsvLocalSource(osv_db, cache_root=tmp_path)
    location = local_index.index_location(source.db, tmp_path)
    source.index()
    (location / "index.json").write_text("{ not json")
    local_index._LOADED.clear()
    assert source.index().built
    assert "PYSEC-2018-28" in ids_for(source, "requests")


def test_osv_all_zip_of_json_records_is_a_database(osv_db: Path, tmp_path: Path):
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((osv_db / "vulns").rglob("*.yaml")):
            record = yaml.safe_load(path.read_text())
            zf.writestr(f"{record['id']}.json", json.dumps(record, default=str))
    source = OsvLocalSource(archive, cache_root=tmp_path / "cache")
    assert source.label == f"osv-db:{archive.resolve()}"
    assert ids_for(source, "jinja2") == ids_for(OsvLocalSource(osv_db, cache_root=tmp_path / "c2"), "jinja2")


def test_nonexistent_database_is_an_error_with_a_hint(tmp_path: Path):
    with pytest.raises(NotFoundError) as exc:
        OsvLocalSource(tmp_path / "nowhere")
    assert "does not exist" in exc.value.message and "--db" in (exc.value.hint or "")


def test_a_file_that_is_not_a_zip_is_not_a_database(tmp_path: Path):
    bogus = tmp_path / "vulns.txt"
    bogus.write_text("hello")
    with pytest.raises(BadInputError) as exc:
        OsvLocalSource(bogus)
    assert "neither a directory nor a zip" in exc.value.message and exc.value.hint


def test_bad_records_are_named_and_do_not_hide_the_others(db_copy: Path, tmp_path: Path):
    folder = db_copy / "vulns/requests"
    (folder / "BROKEN-1.yaml").write_text("id: BROKEN-1\naffected: [ {package: \n")
    (folder / "NOFIELDS-1.json").write_text(json.dumps({"id": "NOFIELDS-1", "details": "no affected list"}))
    (db_copy / "vulns/garbage.json").write_text("\x00\x01 not json")
    answer = OsvLocalSource(db_copy, cache_root=tmp_path / "cache").query([Dependency("requests", "2.19.0")])
    messages = [w.message for w in answer.warnings]
    assert any("BROKEN-1.yaml" in m and "not valid YAML/JSON" in m for m in messages)
    assert any("NOFIELDS-1.json" in m and "`affected`" in m for m in messages)
    assert any("garbage.json" in m for m in messages)  # unattributed: always shown
    assert all(w.hint for w in answer.warnings)
    assert {a.id for a in answer.advisories["requests"]} >= {"PYSEC-2018-28", "PYSEC-2023-74"}


def test_warnings_about_packages_not_audited_are_left_out(db_copy: Path, tmp_path: Path):
    (db_copy / "vulns/jinja2/BROKEN-2.yaml").write_text(": : :\n- [")
    source = OsvLocalSource(db_copy, cache_root=tmp_path / "cache")
    assert source.query([Dependency("requests", "2.19.0")]).warnings == ()
    assert len(source.query([Dependency("Jinja2", "2.10")]).warnings) == 1
