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

Failing closed: a database in which no OSV record can be read is an error (``--db /etc``, an empty
folder). A record file or folder that cannot be read (permissions, a symlink loop or a dangling
link, a file that is not YAML/JSON or not an OSV record) is named with the package its folder
belongs to (``vulns/<package>/``): that package is "not checked" (a ``source-unavailable`` warning
the audit turns into an error finding). One whose package cannot be told (a flat folder, a zip, the
top of the tree) could be about any package, so every audit of that database is incomplete.
Symbolic links to folders are followed once (a link back up the tree is not walked again).
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
from envkernels.core.layout import normalize_name
from envkernels.errors import BadInputError, NotFoundError

# marshal's format belongs to one Python: an index written by another one is rebuilt.
INDEX_FORMAT = f"3-py{sys.version_info[0]}.{sys.version_info[1]}"
RECORD_SUFFIXES = (".json", ".yaml", ".yml")
UNREADABLE = "source-unavailable"  # the code of a warning about a record that could not be read
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
    records_read: int = 0  # OSV records (any ecosystem) the database held
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
    """The change time of each directory ``rel`` under ``db`` (-1 when it is gone).

    ``st_ctime`` moves with the mtime (an entry added, removed, renamed) and also when the
    folder's permissions change, so a folder made readable again is read again.
    """
    root = str(db)
    found: dict[str, int] = {}
    for rel in rels:
        try:  # plain strings: this runs on every audit, pathlib would double its cost
            found[rel] = os.stat(os.path.join(root, rel) if rel else root).st_ctime_ns
        except OSError:
            found[rel] = -1
    return found


def _zip_state(db: Path) -> list[int]:
    st = db.stat()
    return [st.st_size, st.st_mtime_ns]


def _walk(db: Path) -> Iterator[tuple[str, list[str], list[tuple[str, str, bool]]]]:
    """``(relative dir, record file names, [(relative name, why unusable, folder-like)])`` per folder.

    Hidden entries are skipped; symlinked folders are followed unless they lead back to a folder
    already walked; a link that cannot be followed (a loop, a dangling target) is reported.
    """
    stack = [db]
    visited: set[str] = set()
    while stack:
        current = stack.pop()
        rel = "" if current == db else current.relative_to(db).as_posix()
        real = os.path.realpath(current)
        if real in visited:
            continue
        visited.add(real)
        files: list[str] = []
        broken: list[tuple[str, str, bool]] = []
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield rel, [], [(rel or ".", exc.strerror or str(exc), True)]
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            relname = f"{rel}/{e.name}" if rel else e.name
            try:
                is_dir = e.is_dir()
                is_file = not is_dir and e.is_file()
            except OSError as exc:
                broken.append((relname, exc.strerror or str(exc), not e.name.endswith(RECORD_SUFFIXES)))
                continue
            if is_dir:
                stack.append(Path(e.path))
            elif is_file:
                if e.name.endswith(RECORD_SUFFIXES):
                    files.append(e.name)
            elif e.is_symlink():
                why = "a symbolic link that loops or leads nowhere"
                try:
                    os.stat(e.path)
                except OSError as exc:
                    why = f"a symbolic link that cannot be followed ({exc.strerror or exc})"
                broken.append((relname, why, not e.name.endswith(RECORD_SUFFIXES)))
        yield rel, files, broken


def _record_dirs(db: Path) -> Iterator[str]:
    """Every non-hidden directory under ``db`` (relative paths, ``""`` for the root)."""
    for rel, _files, _broken in _walk(db):
        yield rel


def _iter_sources(db: Path) -> Iterator[tuple[str, bytes | None, str | None, bool]]:
    """``(relative name, raw bytes or None, read error, folder-like)`` for every record file.

    An entry that could not be read comes with its error; ``folder-like`` marks a folder (or a
    link without a record's suffix) rather than one record file.
    """
    if db.is_file():
        try:
            with zipfile.ZipFile(db) as zf:
                for info in zf.infolist():
                    if not info.is_dir() and info.filename.endswith(RECORD_SUFFIXES):
                        yield info.filename, zf.read(info), None, False
        except (zipfile.BadZipFile, OSError) as exc:
            raise BadInputError(f"the advisory database `{db}` cannot be read: {exc}", hint=_DB_HINT) from exc
        return
    for rel, files, broken in sorted(_walk(db)):
        for relname, why, folder_like in broken:
            yield relname, None, why, folder_like
        base = db / rel if rel else db
        for name in files:
            relname = f"{rel}/{name}" if rel else name
            try:
                yield relname, (base / name).read_bytes(), None, False
            except OSError as exc:
                yield relname, None, exc.strerror or str(exc), False


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


def _attribute(
    warnings: list[SourceWarning], folder_packages: dict[str, set[str]], leaves: set[str]
) -> list[SourceWarning]:
    """Name the package of an unreadable record from its folder (``vulns/<package>/``).

    A record inside a leaf folder (no subfolders) belongs to the folder's package when the folder's
    readable records are about that package or there are none. Anything else (a flat folder of
    many packages, the top of the tree, a zip) stays unattributed: it could be about any package.
    """
    out = []
    for w in warnings:
        if w.package is None and w.code in (UNREADABLE, "advisory-invalid") and "`" in w.message:
            folder = _folder(w.message.split("`")[1])
            guess = normalize_name(folder.rsplit("/", 1)[-1]) if folder else None
            if guess and folder in leaves and folder_packages.get(folder, {guess}) == {guess}:
                w = SourceWarning(w.message, guess, w.hint, w.code)
        out.append(w)
    return out


def _unreadable_hint(name: str) -> str:
    return (
        f"make `{name}` readable (or remove it), e.g. restore it from the database's source "
        "(`git pull` in a clone of pypa/advisory-database); until then what it is about is not checked"
    )


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
    records_read = 0  # OSV records of any ecosystem: zero means this is no OSV database
    offset = 0
    for name, raw, error, folder_like in _iter_sources(db):
        if raw is None:
            unreadable.add(_folder(name))
            if folder_like:
                unreadable.add(name)  # watched itself: fixing its permissions changes its ctime only
                guess = normalize_name(name.rsplit("/", 1)[-1]) if name not in (".", "") else None
                warnings.append(
                    SourceWarning(
                        f"advisory folder `{name}` cannot be read: {error}",
                        guess,
                        _unreadable_hint(name),
                        UNREADABLE,
                    )
                )
            else:
                warnings.append(
                    SourceWarning(
                        f"advisory `{name}` cannot be read: {error}", None, _unreadable_hint(name), UNREADABLE
                    )
                )
            continue
        try:
            data = _load_document(name, raw)
        except Exception as exc:  # yaml.YAMLError, ValueError: a broken file is named, never fatal
            unreadable.add(_folder(name))
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warnings.append(
                SourceWarning(
                    f"advisory `{name}` is not valid YAML/JSON ({first})",
                    None,
                    _unreadable_hint(name),
                    UNREADABLE,
                )
            )
            continue
        try:
            adv = parse_record(data, origin=name)
        except InvalidRecord as exc:
            unreadable.add(_folder(name))
            warnings.append(
                SourceWarning(
                    f"advisory `{name}` is not a usable OSV record: {exc}",
                    None,
                    _unreadable_hint(name),
                    UNREADABLE,
                )
            )
            continue
        records_read += 1
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
    leaves: set[str] = set()
    if zip_state is None:
        dirs = set(_record_dirs(db))
        parents = {d.rsplit("/", 1)[0] if "/" in d else "" for d in dirs if d}
        leaves = {d for d in dirs if d and d not in parents}
    warnings = _attribute(warnings, folder_packages, leaves)
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
        "records_read": records_read,
        "packages": packages,
        "warnings": [[w.message, w.package, w.hint, w.code] for w in warnings],
    }
    write_atomic(location / "index.json", json.dumps(meta, separators=(",", ":")).encode())
    for old in location.glob("records-*"):
        if old != records:
            old.unlink(missing_ok=True)
    return LoadedIndex(
        db, state, packages, records, warnings, len(chunks), built=True, records_read=records_read
    )


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
        return LoadedIndex(
            db,
            meta["state"],
            meta["packages"],
            records,
            warnings,
            meta["count"],
            records_read=meta["records_read"],
        )
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
    if loaded.records_read == 0:
        unread = sum(1 for w in loaded.warnings if w.code == UNREADABLE)
        raise BadInputError(
            f"`{path}` holds no OSV advisory records"
            + (f" ({unread} files or folders could not be read)" if unread else ""),
            hint=_DB_HINT,
        )
    return loaded
