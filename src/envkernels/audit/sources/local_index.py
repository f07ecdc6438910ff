"""The index of a local OSV database: built on first use, cached, rebuilt when the database changes.

Reading 2,600 YAML advisories takes seconds; an audit needs the few dozen about the installed
packages. So the first audit of a database parses every record once and writes, under
``<cache>/osv-index/<hash of the database path>/``:

- ``records-<token>.bin``: the compact advisories (``records.to_compact``), each ``marshal``-ed;
- ``index.json``: package name -> byte spans of its advisories in that file, the warnings met
  while parsing, and what identifies the database's state.

That state, for a zip, is its size and mtime. For a directory it is the mtime of every directory
holding records (adding, removing or renaming an advisory, as ``git pull`` does, changes its
directory's mtime). An audit checks the directories that hold records of the packages it asks
about, plus the ones above them (where a new package's folder would appear) and any folder whose
files could not be read: a difference, or an index that cannot be read, means a rebuild. An edit
made in place inside a file keeps its directory's mtime: ``touch`` the directory then.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envkernels.audit.records import Advisory, InvalidRecord, from_compact, parse_record, to_compact
from envkernels.audit.sources.interface import SourceWarning
from envkernels.cachedir import cache_dir, write_atomic
from envkernels.discovery.layout import normalize_name
from envkernels.errors import BadInputError, NotFoundError

# marshal's format belongs to one Python: an index written by another one is rebuilt.
INDEX_FORMAT = f"2-py{sys.version_info[0]}.{sys.version_info[1]}"
RECORD_SUFFIXES = (".json", ".yaml", ".yml")
_DB_HINT = (
    "pass a directory of OSV records (a clone of pypa/advisory-database, or its `vulns/` folder) "
    "or OSV's `PyPI/all.zip`: `envkernels audit --db PATH`"
)


@dataclass
class LoadedIndex:
    """An index in memory: spans per package, and advisories already read from the records file."""

    db: Path
    state: dict[str, Any]  # {"zip": [size, mtime_ns]} or {"dirs": {rel: mtime_ns}, "always": [...], ...}
    packages: dict[str, list[list[int]]]
    records: Path
    warnings: list[SourceWarning]
    count: int
    built: bool = False  # True when this process (re)built it
    _parsed: dict[int, Advisory] = field(default_factory=dict)

    def advisories_for(self, package: str) -> list[Advisory]:
        """The advisories whose ``affected`` names ``package`` (normalized)."""
        spans = self.packages.get(package)
        if not spans:
            return []
        missing = [s for s in spans if s[0] not in self._parsed]
        if missing:
            with open(self.records, "rb") as fh:
                for offset, length in missing:
                    fh.seek(offset)
                    self._parsed[offset] = from_compact(marshal.loads(fh.read(length)))
        return [self._parsed[s[0]] for s in spans]


_LOADED: dict[str, LoadedIndex] = {}


def resolve_db(db: str | os.PathLike[str]) -> Path:
    """The database path, resolved; NotFoundError/BadInputError with a hint when it cannot be one."""
    path = Path(db).expanduser()
    if not path.exists():
        raise NotFoundError(f"the advisory database `{path}` does not exist", hint=_DB_HINT)
    path = path.resolve()
    if path.is_file() and not zipfile.is_zipfile(path):
        raise BadInputError(
            f"the advisory database `{path}` is neither a directory nor a zip archive", hint=_DB_HINT
        )
    return path


def _mtimes(db: Path, rels: Iterable[str]) -> dict[str, int]:
    """The mtime of each directory ``rel`` under ``db`` (-1 when it is gone)."""
    root = str(db)
    found: dict[str, int] = {}
    for rel in rels:
        try:  # plain strings: this runs on every audit, pathlib would double its cost
            found[rel] = os.stat(os.path.join(root, rel) if rel else root).st_mtime_ns
        except OSError:
            found[rel] = -1
    return found


def _zip_state(db: Path) -> list[int]:
    st = db.stat()
    return [st.st_size, st.st_mtime_ns]


def _record_dirs(db: Path) -> Iterator[str]:
    """Every non-hidden directory under ``db`` (relative paths, ``""`` for the root)."""
    stack = [db]
    while stack:
        current = stack.pop()
        yield "" if current == db else current.relative_to(db).as_posix()
        try:
            with os.scandir(current) as it:
                stack.extend(
                    Path(e.path) for e in it if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
                )
        except OSError:
            continue


def _iter_sources(db: Path) -> Iterator[tuple[str, bytes | None, str | None]]:
    """``(relative name, raw bytes or None, read error)`` for every record file of the database."""
    if db.is_file():
        try:
            with zipfile.ZipFile(db) as zf:
                for info in zf.infolist():
                    if not info.is_dir() and info.filename.endswith(RECORD_SUFFIXES):
                        yield info.filename, zf.read(info), None
        except (zipfile.BadZipFile, OSError) as exc:
            raise BadInputError(f"the advisory database `{db}` cannot be read: {exc}", hint=_DB_HINT) from exc
        return
    for rel in sorted(_record_dirs(db)):
        base = db / rel if rel else db
        try:
            names = sorted(
                e.name for e in os.scandir(base) if e.is_file() and e.name.endswith(RECORD_SUFFIXES)
            )
        except OSError as exc:
            yield rel or ".", None, str(exc)
            continue
        for name in names:
            relname = f"{rel}/{name}" if rel else name
            try:
                yield relname, (base / name).read_bytes(), None
            except OSError as exc:
                yield relname, None, str(exc)


def _load_document(name: str, raw: bytes) -> Any:
    if name.endswith(".json"):
        return json.loads(raw)
    import yaml

    # The base loader keeps every scalar a string: a third faster than the safe one, and an unquoted
    # `fixed: 1.10` stays "1.10" instead of becoming the float 1.1.
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    return yaml.load(raw, Loader=loader)


def _folder(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _attribute(warnings: list[SourceWarning], folder_packages: dict[str, set[str]]) -> list[SourceWarning]:
    """Name the package of a broken file when its folder is that package's (``vulns/<package>/``).

    A folder counts as a package's when its readable records are about that package, so a broken
    file in a flat zip or at the top of ``vulns/`` stays unattributed (and is always reported).
    """
    out = []
    for w in warnings:
        if w.package is None and w.code == "advisory-invalid" and "`" in w.message:
            name = w.message.split("`")[1]
            folder = _folder(name)
            guess = normalize_name(folder.rsplit("/", 1)[-1]) if folder else None
            if guess and folder_packages.get(folder) == {guess}:
                w = SourceWarning(w.message, guess, w.hint, w.code)
        out.append(w)
    return out


def _dir_state(db: Path, folder_packages: dict[str, set[str]], unreadable: set[str]) -> dict[str, Any]:
    """What to stat later: every record folder's mtime, which to check always, which per package."""
    dirs = sorted(_record_dirs(db))
    parents = {d.rsplit("/", 1)[0] if "/" in d else "" for d in dirs if d}
    per_package: dict[str, list[str]] = {}
    for folder, pkgs in folder_packages.items():
        for pkg in pkgs:
            per_package.setdefault(pkg, []).append(folder)
    # Folders above others (where a new package folder appears), folders holding no readable record
    # (a broken file fixed there must be seen), and the root are checked on every audit.
    always = sorted({""} | parents | {d for d in dirs if d not in folder_packages} | unreadable)
    return {"dirs": _mtimes(db, dirs), "always": always, "per_package": per_package}


def build_index(db: Path, location: Path) -> LoadedIndex:
    """Parse every record of ``db`` and write the index under ``location``."""
    zip_state = _zip_state(db) if db.is_file() else None
    chunks: list[bytes] = []
    packages: dict[str, list[list[int]]] = {}
    warnings: list[SourceWarning] = []
    folder_packages: dict[str, set[str]] = {}
    unreadable: set[str] = set()
    offset = 0
    hint = "fix or remove that file; every other advisory is still used"
    for name, raw, error in _iter_sources(db):
        if raw is None:
            unreadable.add(_folder(name))
            warnings.append(SourceWarning(f"advisory `{name}` cannot be read: {error}", None, hint))
            continue
        try:
            data = _load_document(name, raw)
        except Exception as exc:  # yaml.YAMLError, ValueError: a broken file is named, never fatal
            unreadable.add(_folder(name))
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warnings.append(
                SourceWarning(f"advisory `{name}` is not valid YAML/JSON ({first}); skipped", None, hint)
            )
            continue
        try:
            adv = parse_record(data, origin=name)
        except InvalidRecord as exc:
            unreadable.add(_folder(name))
            warnings.append(SourceWarning(f"advisory `{name}`: {exc}; skipped", None, hint))
            continue
        for note in adv.notes:
            pkgs = sorted(adv.packages())
            warnings.append(SourceWarning(f"advisory `{name}`: {note}", pkgs[0] if pkgs else None))
        if not adv.affected:
            continue  # no PyPI package in it
        folder_packages.setdefault(_folder(name), set()).update(adv.packages())
        chunk = marshal.dumps(to_compact(adv))
        for pkg in sorted(adv.packages()):
            packages.setdefault(pkg, []).append([offset, len(chunk)])
        chunks.append(chunk)
        offset += len(chunk)
    warnings = _attribute(warnings, folder_packages)
    state: dict[str, Any] = (
        {"zip": zip_state} if zip_state is not None else _dir_state(db, folder_packages, unreadable)
    )
    token = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:12]
    records = location / f"records-{token}.bin"
    write_atomic(records, b"".join(chunks))
    meta = {
        "format": INDEX_FORMAT,
        "db": str(db),
        "state": state,
        "records": records.name,
        "count": len(chunks),
        "packages": packages,
        "warnings": [[w.message, w.package, w.hint, w.code] for w in warnings],
    }
    write_atomic(location / "index.json", json.dumps(meta, separators=(",", ":")).encode())
    for old in location.glob("records-*"):
        if old != records:
            old.unlink(missing_ok=True)
    return LoadedIndex(db, state, packages, records, warnings, len(chunks), built=True)


def index_location(db: Path, root: Path | None = None) -> Path:
    """Where the index of ``db`` lives: one folder per database path under the cache dir."""
    key = hashlib.sha256(str(db).encode()).hexdigest()[:16]
    return (root or cache_dir()) / "osv-index" / key


def _read_index(db: Path, location: Path) -> LoadedIndex | None:
    try:
        meta = json.loads((location / "index.json").read_bytes())
        if meta.get("format") != INDEX_FORMAT or meta.get("db") != str(db):
            return None
        records = location / meta["records"]
        if not records.is_file():
            return None
        warnings = [SourceWarning(m, p, h, c) for m, p, h, c in meta["warnings"]]
        return LoadedIndex(db, meta["state"], meta["packages"], records, warnings, meta["count"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: rebuilt by the caller


def _current(loaded: LoadedIndex, packages: Iterable[str] | None) -> bool:
    """True when what the audit of ``packages`` (None: all) reads is as the index saw it."""
    state = loaded.state
    if "zip" in state:
        try:
            return _zip_state(loaded.db) == state["zip"]
        except OSError:
            return False
    recorded: dict[str, int] = state["dirs"]
    if packages is None:
        rels: Iterable[str] = recorded
    else:
        per_package = state["per_package"]
        rels = set(state["always"]).union(*(per_package.get(p, ()) for p in packages))
    return all(recorded.get(rel) == mtime for rel, mtime in _mtimes(loaded.db, rels).items())


def load_index(
    db: str | os.PathLike[str], *, cache_root: Path | None = None, packages: Iterable[str] | None = None
) -> LoadedIndex:
    """The index of ``db`` (from memory, else the cache, else built now), current for ``packages``."""
    path = resolve_db(db)
    location = index_location(path, cache_root)
    key = str(location)
    wanted = None if packages is None else list(packages)
    loaded = _LOADED.get(key)
    if loaded is not None and _current(loaded, wanted):
        return loaded
    loaded = _read_index(path, location)
    if loaded is None or not _current(loaded, wanted):
        loaded = build_index(path, location)
    _LOADED[key] = loaded
    return loaded
