"""The distributions installed in an environment, read from its files (never its interpreter).

Where they are looked for follows what that environment's ``sys.path`` would hold, in the same
order (``site.py``'s rules): each site-packages directory followed by the directories its ``.pth``
files add, then the base interpreter's site-packages for a venv made with
``--system-site-packages``. In each directory ``*.dist-info`` and ``*.egg-info`` are read in
directory order (what ``importlib.metadata`` and so pip see), and legacy ``*.egg-link`` files are
followed last, as pip does.

Nothing here raises for a bad file: a distribution whose metadata cannot be read comes back with
``problem`` set (and ``readable`` False when pip could not read it either).
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from envkernels.core.layout import lib_python_dirs, normalize_name, read_pyvenv_cfg, site_packages_dirs
from envkernels.core.stamps import Stamp, stamp

# PEP 508 names (what pip accepts; `~foo.dist-info` leftovers of an interrupted install are not).
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pyi")
Identity = tuple[Stamp, ...]  # see distribution_identity


@dataclass(frozen=True)
class InstalledDistribution:
    """One installed distribution. ``problem`` is set (and the rest best-effort) when its metadata is bad."""

    name: str
    version: str
    path: str
    site_packages: str
    requires: tuple[str, ...] = ()
    summary: str | None = None
    license_expression: str | None = None
    license: str | None = None
    classifiers: tuple[str, ...] = ()
    installer: str | None = None
    direct_url: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    problem: str | None = None
    # Added by the inspection engine (all with defaults so older callers keep working).
    kind: str = "dist-info"  # "dist-info" | "egg-info"
    folder_version: str | None = None  # the version in the ``name-version.dist-info`` folder (pip uses it)
    readable: bool = True  # False when the metadata cannot be decoded (pip skips such a distribution)
    has_record: bool = True
    requires_python: str | None = None
    top_level: tuple[str, ...] = ()
    editable: bool = False
    editable_location: str | None = None
    wheel_tags: tuple[str, ...] = ()

    @property
    def normalized(self) -> str:
        """The PEP 503 normalized name."""
        return normalize_name(self.name)

    @property
    def pip_version(self) -> str:
        """The version pip reports: the folder's for a ``*.dist-info``, else the metadata's."""
        return self.folder_version or self.version

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (the on-disk cache stores this)."""
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for key in ("requires", "classifiers", "top_level", "wheel_tags"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstalledDistribution:
        """Rebuild from :meth:`to_dict`'s form."""
        kwargs = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("requires", "classifiers", "top_level", "wheel_tags"):
            kwargs[key] = tuple(kwargs.get(key) or ())
        return cls(**kwargs)


# -- reading one metadata directory ------------------------------------------------------------


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


# `email.feedparser`'s rules, which `importlib.metadata` (so pip) and `packaging.metadata.parse_email`
# use: lines end at \r\n, \r or \n (not at the other characters `str.splitlines` splits on); a
# header line is `From `, a name of printable characters without spaces and `:`, or a continuation
# (a line starting with a space or a tab, even one holding only whitespace).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")


def parse_headers(text: str) -> dict[str, list[str]]:
    """The header block of a METADATA/PKG-INFO text: name (lowercased) -> raw values, in order.

    Equal, field for field, to what ``email.parser`` with the ``compat32`` policy gives (what pip
    reads through ``importlib.metadata``, and what ``packaging.metadata.parse_email`` returns; a
    test holds this to ``parse_email`` on every distribution of the conformance environments), at
    a fraction of its cost: this runs for every distribution of an environment. A value keeps
    its continuation lines (with their line ends) and trailing spaces, as ``email`` keeps them; the
    header block ends at the first line that is not a header line (an empty line, or body text).
    """
    lines: list[str] = []
    for line in _LINE.findall(text):
        if not _HEADER_LINE.match(line):
            break
        lines.append(line)
    headers: dict[str, list[str]] = {}
    name = ""
    parts: list[str] = []

    def flush() -> None:
        first = parts[0]
        value = first[first.index(":") + 1 :].lstrip(" \t") + "".join(parts[1:])
        headers.setdefault(name.lower(), []).append(value.rstrip("\r\n"))

    for number, line in enumerate(lines):
        if line[0] in " \t":
            if name:  # a continuation before any header is dropped, as `email` drops it
                parts.append(line)
            continue
        if name:
            flush()
            name, parts = "", []
        if line.startswith("From "):  # a Unix envelope line, never a header
            if number == len(lines) - 1 and number:
                break
            continue
        colon = line.index(":")
        if colon == 0:  # `: value` has no name: skipped, and so are its continuations
            continue
        name, parts = line[:colon], [line]
    if name:
        flush()
    return headers


def _egg_info_requires(text: str) -> list[str]:
    """``requires.txt`` entries as ``Requires-Dist`` strings (pip's conversion, extras normalized)."""
    out: list[str] = []
    extra = marker = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, marker = line.strip("[]").partition(":")
            extra = normalize_name(extra) if extra else ""
            continue
        if extra and marker:
            out.append(f'{line} ; ({marker}) and extra == "{extra}"')
        elif extra:
            out.append(f'{line} ; extra == "{extra}"')
        elif marker:
            out.append(f"{line} ; {marker}")
        else:
            out.append(line)
    return out


def _top_level_from_record(record: str) -> set[str]:
    """Top-level import names from RECORD paths (``importlib.metadata.packages_distributions``'s rule)."""
    names: set[str] = set()
    for line in record.splitlines():
        rel = line.split(",", 1)[0].strip().strip('"')
        if not rel or rel.startswith(("..", "/")):
            continue
        parts = rel.split("/")
        if len(parts) > 1:
            top = parts[0]
            if "." not in top and top != "__pycache__" and (rel.endswith(_MODULE_SUFFIXES)):
                names.add(top)
        elif rel.endswith(_MODULE_SUFFIXES):
            stem = rel.split(".", 1)[0]
            if stem and not stem.startswith("_virtualenv") and not rel.endswith(".pth"):
                names.add(stem)
    return names


def _editable_modules(meta_dir: Path, record: str | None, site_packages: Path) -> tuple[set[str], str | None]:
    """Top-level modules of an editable install, from its ``.pth`` path or setuptools' finder MAPPING."""
    names: set[str] = set()
    location: str | None = None
    for line in (record or "").splitlines():
        rel = line.split(",", 1)[0].strip()
        target = site_packages / rel
        if rel.endswith(".pth") and "/" not in rel:
            text = (_read_bytes(target) or b"").decode("utf-8", "replace")
            for entry in text.splitlines():
                entry = entry.strip()
                if not entry or entry.startswith(("#", "import ", "import\t")):
                    continue
                src = Path(site_packages, entry)
                if src.is_dir():
                    location = location or str(src)
                    names |= _modules_in_dir(src)
        elif rel.startswith("__editable__") and rel.endswith("_finder.py"):
            names |= _finder_mapping(target)
    return names, location


def _modules_in_dir(src: Path) -> set[str]:
    """Importable top-level names directly in ``src`` (packages and modules, not build scripts)."""
    found: set[str] = set()
    try:
        with os.scandir(src) as entries:
            for entry in entries:
                n = entry.name
                if n.startswith((".", "_")) and n != "__init__.py":
                    continue
                if entry.is_dir() and (Path(entry.path) / "__init__.py").exists():
                    found.add(n)
                elif n.endswith(".py") and n not in ("setup.py", "conftest.py", "noxfile.py"):
                    found.add(n[:-3])
    except OSError:
        pass
    return found


def _finder_mapping(finder: Path) -> set[str]:
    """The keys of ``MAPPING`` in a setuptools ``__editable___*_finder.py`` (read, never executed)."""
    text = (_read_bytes(finder) or b"").decode("utf-8", "replace")
    m = re.search(r"^MAPPING\s*(?::[^=]*)?=\s*(\{.*?\})\s*$", text, re.MULTILINE | re.DOTALL)
    if not m:
        return set()
    try:
        mapping = ast.literal_eval(m.group(1))
    except (ValueError, SyntaxError):
        return set()
    return {str(k) for k in mapping} if isinstance(mapping, dict) else set()


def read_distribution(meta_dir: Path, site_packages: Path) -> InstalledDistribution:
    """Read one ``.dist-info``/``.egg-info`` directory (or an ``.egg-info`` file); never raises."""
    is_dist_info = meta_dir.name.endswith(".dist-info")
    stem = meta_dir.name.rsplit(".", 1)[0]
    stem_name, sep, stem_version = stem.partition("-")
    folder_version = stem_version if (is_dist_info and sep) else None
    problems: list[str] = []
    readable = True
    if meta_dir.is_dir():
        meta_file = meta_dir / ("METADATA" if is_dist_info else "PKG-INFO")
        raw = _read_bytes(meta_file)
        if not raw and is_dist_info:
            raw = _read_bytes(meta_dir / "PKG-INFO") or raw
    else:  # a single-file `.egg-info` (distutils)
        meta_file = meta_dir
        raw = _read_bytes(meta_dir)
    text = ""
    if raw is None:
        problems.append(f"`{meta_file.name}` is missing")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            readable = False
            problems.append(f"`{meta_file.name}` is not UTF-8 ({exc.reason} at byte {exc.start})")
            text = raw.decode("utf-8", "replace")
        if not text.strip():
            problems.append(f"`{meta_file.name}` is empty")
    headers = parse_headers(text)

    def one(key: str) -> str | None:
        # The first value, as importlib.metadata's `metadata[key]` gives it, without the
        # surrounding whitespace `email` keeps.
        values = headers.get(key)
        return values[0].strip() if values else None

    name = one("name") or stem_name
    version = one("version") or stem_version.split("-")[0] or ""
    if text.strip() and not one("name"):
        problems.append(f"`{meta_file.name}` has no `Name` (truncated?)")
    if text.strip() and not one("version"):
        problems.append(f"`{meta_file.name}` has no `Version` (truncated?)")
    requires = [r.strip() for r in headers.get("requires-dist", [])]
    record: str | None = None
    has_record = True
    if meta_dir.is_dir():
        if not requires and not is_dist_info:
            req_raw = _read_bytes(meta_dir / "requires.txt")
            if req_raw is not None:
                try:
                    requires = _egg_info_requires(req_raw.decode("utf-8"))
                except UnicodeDecodeError:
                    readable = False
                    problems.append("`requires.txt` is not UTF-8")
        rec_raw = _read_bytes(meta_dir / ("RECORD" if is_dist_info else "installed-files.txt"))
        record = rec_raw.decode("utf-8", "replace") if rec_raw is not None else None
        if is_dist_info and record is None:
            has_record = False
            problems.append("`RECORD` is missing (the installer cannot uninstall it cleanly)")
    direct_url = None
    du_raw = _read_bytes(meta_dir / "direct_url.json") if is_dist_info else None
    if du_raw:
        try:
            direct_url = json.loads(du_raw.decode("utf-8"))
        except ValueError:
            problems.append("`direct_url.json` is not valid JSON")
    editable = bool(isinstance(direct_url, dict) and (direct_url.get("dir_info") or {}).get("editable"))
    editable_location = None
    if editable and isinstance(direct_url, dict):
        url = str(direct_url.get("url", ""))
        editable_location = url[7:] if url.startswith("file://") else url or None
    top_raw = _read_bytes(meta_dir / "top_level.txt") if meta_dir.is_dir() else None
    if top_raw is not None:
        top = set(top_raw.decode("utf-8", "replace").split())
    else:
        top = _top_level_from_record(record or "") if is_dist_info else set()
    if editable:
        extra, loc = _editable_modules(meta_dir, record, site_packages)
        top |= extra
        editable_location = editable_location or loc
    top = {t.replace("/", ".").split(".")[0] for t in top if t}
    installer = (_read_bytes(meta_dir / "INSTALLER") or b"").decode("utf-8", "replace").strip() or None
    wheel_tags: tuple[str, ...] = ()
    if is_dist_info:
        wheel_raw = _read_bytes(meta_dir / "WHEEL")
        if wheel_raw:
            wheel_tags = tuple(
                t.strip() for t in parse_headers(wheel_raw.decode("utf-8", "replace")).get("tag", ())
            )
    return InstalledDistribution(
        name=name.strip(),
        version=version.strip(),
        path=str(meta_dir),
        site_packages=str(site_packages),
        requires=tuple(requires),
        summary=one("summary"),
        license_expression=one("license-expression"),
        license=one("license"),
        classifiers=tuple(c.strip() for c in headers.get("classifier", ())),
        installer=installer,
        direct_url=direct_url,
        problem="; ".join(problems) or None,
        kind="dist-info" if is_dist_info else "egg-info",
        folder_version=folder_version,
        readable=readable,
        has_record=has_record,
        requires_python=one("requires-python"),
        top_level=tuple(sorted(top)),
        editable=editable,
        editable_location=editable_location,
        wheel_tags=wheel_tags,
    )


# -- where an environment's distributions are --------------------------------------------------


def _pth_paths(site_dir: Path) -> list[Path]:
    """Directories the ``.pth`` files of ``site_dir`` add to ``sys.path`` (``site.addpackage``'s rules)."""
    out: list[Path] = []
    try:
        with os.scandir(site_dir) as entries:
            pths = sorted(e.name for e in entries if e.name.endswith(".pth") and not e.name.startswith("."))
    except OSError:
        return out
    for name in pths:
        raw = _read_bytes(site_dir / name)
        if raw is None:
            continue
        for line in raw.decode("utf-8", "replace").splitlines():
            if not line.strip() or line.startswith("#") or line.startswith(("import ", "import\t")):
                continue
            candidate = site_dir / line.rstrip()
            if candidate.is_dir():
                out.append(candidate)
    return out


def base_site_packages(prefix: Path) -> list[Path]:
    """The base interpreter's site-packages, for a venv with ``include-system-site-packages = true``."""
    cfg = read_pyvenv_cfg(prefix)
    if not cfg or cfg.get("include-system-site-packages", "false").lower() != "true":
        return []
    home = cfg.get("home")
    if not home:
        return []
    return site_packages_dirs(Path(home).parent)


def user_site_packages(prefix: Path) -> list[Path]:
    """``~/.local/lib/pythonX.Y/site-packages`` for a non-venv interpreter (``site`` puts it first).

    A venv (``pyvenv.cfg``) never sees the user site; ``PYTHONNOUSERSITE`` turns it off.
    """
    if (prefix / "pyvenv.cfg").exists() or os.environ.get("PYTHONNOUSERSITE"):
        return []
    base = os.environ.get("PYTHONUSERBASE") or os.path.join(os.path.expanduser("~"), ".local")
    out = []
    for major, minor, ft, _lib in lib_python_dirs(prefix)[:1]:
        cand = Path(base, "lib", f"python{major}.{minor}{'t' if ft else ''}", "site-packages")
        if cand.is_dir():
            out.append(cand)
    return out


def search_path(prefix: str | os.PathLike[str]) -> list[Path]:
    """The directories, in ``sys.path`` order, where ``prefix``'s interpreter finds distributions."""
    root = Path(prefix)
    seen: set[str] = set()
    ordered: list[Path] = []

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            ordered.append(p)

    for sp in [*user_site_packages(root), *site_packages_dirs(root), *base_site_packages(root)]:
        add(sp)
        for extra in _pth_paths(sp):
            add(extra)
    return ordered


def _scan_dir(directory: Path) -> tuple[list[Path], list[Path]]:
    """(metadata entries in directory order; ``.egg-link`` files) of one path entry."""
    metas: list[Path] = []
    links: list[Path] = []
    try:
        with os.scandir(directory) as it:
            for e in it:
                low = e.name.lower()
                if low.endswith((".dist-info", ".egg-info")):
                    metas.append(Path(e.path))
                elif low.endswith(".egg-link"):
                    links.append(Path(e.path))
    except OSError:
        pass
    return metas, links


# The files of a metadata directory whose content the verdicts depend on.
_DIST_INFO_FILES = ("METADATA", "RECORD", "direct_url.json", "PKG-INFO")
_EGG_INFO_FILES = ("PKG-INFO", "requires.txt")


def distribution_identity(meta: Path) -> Identity:
    """The stamps that say a metadata folder is still the one read: the folder, and its files read.

    ``(path, mtime_ns, size, inode)`` of the ``*.dist-info``/``*.egg-info`` directory (or
    distutils' single file) and of its METADATA/PKG-INFO, RECORD, requires.txt and direct_url.json
    that exist. A reinstall makes a new directory (new inode); replacing a file changes the
    directory's mtime and the file's inode; an in-place rewrite (``setup.py egg_info`` in an
    editable project) changes the file's mtime or size. A file that appears later changes the
    directory's mtime, so absent files need no stamp.
    """
    head = stamp(str(meta))
    if head[1] is None:
        return (head,)
    names = _DIST_INFO_FILES if meta.name.lower().endswith(".dist-info") else _EGG_INFO_FILES
    out = [head]
    base = str(meta)
    for name in names:
        st = stamp(os.path.join(base, name))
        if st[1] is not None:
            out.append(st)
    return tuple(out)


def path_files(prefix: str | os.PathLike[str], path: list[Path] | None = None) -> list[str]:
    """The ``.pth`` and ``.egg-link`` files on ``prefix``'s path: what they say changes the path."""
    out: list[str] = []
    for directory in path if path is not None else search_path(prefix):
        try:
            with os.scandir(directory) as it:
                out.extend(e.path for e in it if e.name.endswith((".pth", ".egg-link")))
        except OSError:
            continue
    return sorted(out)


def folder_name(meta_name: str) -> str:
    """The normalized distribution name a ``*.dist-info``/``*.egg-info`` folder name carries."""
    return normalize_name(meta_name.rsplit(".", 1)[0].partition("-")[0])


def _egg_link_target(link: Path) -> Path | None:
    raw = _read_bytes(link)
    if raw is None:
        return None
    first = next((ln.strip() for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()), "")
    return (link.parent / first) if first else None


def _first_time(meta: Path, seen: set[str]) -> bool:
    key = os.path.realpath(meta)
    if key in seen:
        return False
    seen.add(key)
    return True


Reuse = dict[str, tuple[Identity, InstalledDistribution]]


def scan_distributions(
    prefix: str | os.PathLike[str], reuse: Reuse | None = None
) -> list[tuple[InstalledDistribution, Identity]]:
    """Every distribution on ``prefix``'s path with its :func:`distribution_identity`, in path order.

    A folder found in ``reuse`` with the same identity is not read again. The identity is taken
    before the folder is read, so a change made while reading is seen next time.
    """
    reuse = reuse or {}
    found: list[tuple[InstalledDistribution, Identity]] = []
    seen: set[str] = set()  # one folder reached twice (egg-link and easy-install.pth) is one distribution

    def read(meta: Path, directory: Path) -> tuple[InstalledDistribution, Identity]:
        ident = distribution_identity(meta)
        hit = reuse.get(str(meta))
        if hit is not None and hit[0] == ident:
            return hit[1], ident
        return read_distribution(meta, directory), ident

    for directory in search_path(prefix):
        metas, links = _scan_dir(directory)
        for meta in metas:
            if _VALID_NAME.match(folder_name(meta.name)) and _first_time(meta, seen):
                found.append(read(meta, directory))
        for link in sorted(links):
            target = _egg_link_target(link)
            if target is None:
                continue
            for meta in _scan_dir(target)[0]:
                if not _first_time(meta, seen):
                    continue
                dist, ident = read(meta, directory)
                if not dist.editable:
                    dist = replace(dist, editable=True, editable_location=str(target))
                found.append((dist, ident))
    return found


def installed_distributions(prefix: str | os.PathLike[str]) -> list[InstalledDistribution]:
    """Every distribution on ``prefix``'s path, in path order (duplicates kept, first one wins).

    Names that are not valid distribution names (``~umpy.dist-info`` leftovers) are skipped, as
    pip skips them.
    """
    return [d for d, _ident in scan_distributions(prefix)]
