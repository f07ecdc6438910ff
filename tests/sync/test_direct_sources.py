"""The plan is the whole truth: sources that are not plain index downloads are marked, and the CLI
applies them only with ``--allow-direct-sources``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from envfactory import freeze, make_venv
from envkernels.discovery.probe import environment_from_prefix
from envkernels.sync import plan_sync
from envkernels.sync.sources import PackageSource, refused, server_origins

SHA = "0" * 64


def _project(root: Path) -> Path:
    proj = root / "proj"
    (proj / "proj").mkdir(parents=True)
    (proj / "proj" / "__init__.py").write_text("")
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.3.0"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    return proj


def test_every_kind_of_direct_source_is_marked_in_the_plan(small_env: Path, tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text(f'''lock-version = "1.0"
created-by = "test"

[[packages]]
name = "six"
version = "1.16.0"
[[packages.wheels]]
url = "http://127.0.0.1:9/files/six-1.16.0-py2.py3-none-any.whl"
hashes = {{ sha256 = "{SHA}" }}

[[packages]]
name = "idna"
vcs = {{ type = "git", url = "https://github.com/kjd/idna", commit-id = "{"a" * 40}" }}

[[packages]]
name = "attrs"
version = "23.2.0"
sdist = {{ url = "https://files.pythonhosted.org/attrs-23.2.0.tar.gz", hashes = {{ sha256 = "{SHA}" }} }}

[[packages]]
name = "mypkg"
archive = {{ url = "https://example.org/mypkg-1.0.tar.gz", hashes = {{ sha256 = "{SHA}" }} }}

[[packages]]
name = "proj"
directory = {{ path = "proj", editable = true }}
''')
    plan = plan_sync(lock, environment_from_prefix(small_env))
    kinds = {(s.name, s.kind) for s in plan.sources}
    assert kinds == {
        ("six", "index"),
        ("idna", "vcs"),
        ("attrs", "build"),
        ("attrs", "index"),
        ("mypkg", "url"),
        ("proj", "editable"),
    }
    text = plan.text()
    assert "+ proj (directory proj) [editable: proj]" in text
    assert "+ attrs 23.2.0 [build: source distribution]" in text
    assert "! idna [vcs: https://github.com/kjd/idna@" + "a" * 40 + "]" in text
    assert "! mypkg [url: https://example.org/mypkg-1.0.tar.gz]" in text
    assert "downloaded from the URLs in the lock: http://127.0.0.1:9, https://files.pythonhosted.org" in text
    assert {"name": "proj", "kind": "editable", "where": "proj"} in plan.to_dict()["sources"]
    # The server's policy: with PyPI as its index, files.pythonhosted.org is its own; 127.0.0.1:9 is not.
    origins = server_origins(["https://pypi.org/simple"])
    blocked = refused(plan.sources, allow_direct_sources=False, allow_builds=False, allowed_origins=origins)
    assert {(s.name, s.kind) for s in blocked} == kinds - {("attrs", "index")}
    allowed = refused(plan.sources, allow_direct_sources=True, allow_builds=True, allowed_origins=origins)
    assert allowed == []
    assert refused(
        [PackageSource("x", "build", "sdist")],
        allow_direct_sources=True,
        allow_builds=False,
        allowed_origins=None,
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkernels", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_applies_an_editable_directory_only_with_allow_direct_sources(
    tmp_path: Path, isolated_home: Path
) -> None:
    _project(tmp_path)
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n-e ./proj\n")
    prefix = make_venv(tmp_path / "env", ["six==1.16.0"])
    before = freeze(prefix)

    dry = _cli("sync", str(lock), "--target", str(prefix), "--json")
    assert dry.returncode == 0, dry.stderr
    sources = json.loads(dry.stdout)["sources"]
    assert [(s["name"], s["kind"]) for s in sources] == [("proj", "editable")]
    text = _cli("sync", str(lock), "--target", str(prefix))
    assert "[editable: ./proj]" in text.stdout and "`--yes --allow-direct-sources`" in text.stderr

    refused_run = _cli("sync", str(lock), "--target", str(prefix), "--yes")
    assert refused_run.returncode == 2
    first, hint = [line for line in refused_run.stderr.splitlines() if not line.startswith("warning:")][:2]
    assert first.startswith("error: ") and "proj [editable: ./proj]" in first
    assert hint.startswith("hint: ") and "--allow-direct-sources" in hint
    assert freeze(prefix) == before

    allowed = _cli("sync", str(lock), "--target", str(prefix), "--yes", "--allow-direct-sources")
    assert allowed.returncode == 0, allowed.stderr
    assert "proj" in freeze(prefix)


def test_sync_create_refuses_direct_sources_before_making_an_environment(tmp_path: Path) -> None:
    _project(tmp_path)
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.16.0\n-e ./proj\n")
    proc = _cli("sync", str(lock), "--create", "--target", str(tmp_path / "new"))
    assert proc.returncode == 2 and "--allow-direct-sources" in proc.stderr
    assert not (tmp_path / "new").exists()
