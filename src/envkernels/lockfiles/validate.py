"""The one validation step every lock passes, whatever its format, before anything uses it.

A lockfile, or the lock a notebook carries, is input from whoever wrote it: a colleague, a cloned
repository, a download. Each reader maps its format onto :class:`~envkernels.lockfiles.model.Lock`;
:func:`validate_lock` then checks every value and returns the lock with names and versions in
their normal form. After it:

* every name is a PEP 508 name, normalized (``Zope.Interface`` -> ``zope-interface``);
* every version is a PEP 440 version, normalized (``1.0-RC1`` -> ``1.0rc1``);
* every hash is ``(algorithm, hex digest)`` of an algorithm :mod:`hashlib` guarantees, with the
  digest length that algorithm has;
* every URL parses, has a scheme of its kind (http/https/file for files and indexes; those and
  ssh/git for VCS) and holds no whitespace; every VCS type is git, hg, svn or bzr;
* no string anywhere (names, versions, markers, paths, URLs, groups, revisions) holds a control
  character or a line separator.

A value that fails is a :class:`~envkernels.errors.BadInputError` naming the file, the package
and the field, so nothing built from a lock (the requirements handed to uv, the plan on screen)
can carry a line break or an option that no one wrote on purpose.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import urllib.parse
from dataclasses import replace
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envkernels.errors import BadInputError
from envkernels.lockfiles.model import Lock, LockedArtifact, LockedPackage

# PEP 508 names (case-insensitive): letters/digits, with . _ - inside.
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
# Hash algorithms every Python has (shake_* have no fixed length and are left out).
HASH_ALGORITHMS: frozenset[str] = frozenset(
    a for a in hashlib.algorithms_guaranteed if not a.startswith("shake_")
)
_HEX = re.compile(r"^[0-9a-f]+$")
FILE_SCHEMES = frozenset({"http", "https", "file"})
VCS_SCHEMES = frozenset({"http", "https", "file", "ssh", "git"})
VCS_TYPES = frozenset({"git", "hg", "svn", "bzr"})
# A VCS revision: a commit, tag or branch name (no whitespace, no URL delimiters, no leading '-').
_REVISION = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./+-]*$")
ARTIFACT_KINDS = frozenset({"wheel", "sdist", "archive"})

_HINT = (
    "the lockfile holds values its tool never writes (edited by hand, or crafted); "
    "regenerate it with the tool that made it, or fix the value named"
)


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def escape_controls(text: str) -> str:
    """``text`` with control characters, lone surrogates and line separators escaped (one safe line)."""
    return "".join(
        ch.encode("unicode_escape", "backslashreplace").decode("ascii") if _is_control(ch) else ch
        for ch in text
    )


def _show(value: object) -> str:
    """The value as a short, one-line, quoted text (control characters escaped)."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class _Checker:
    """Validation of one lock: remembers the file and package that errors name."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.package: str | None = None

    def fail(self, field: str, value: object, why: str) -> BadInputError:
        where = f"package {_show(self.package)} " if self.package is not None else ""
        return BadInputError(
            f"`{escape_controls(self.path)}`: {where}field `{field}` is invalid: {_show(value)} ({why})",
            hint=_HINT,
        )

    def text(self, field: str, value: object, *, optional: bool = True) -> str | None:
        """A string without control characters or line separators (None when optional and absent)."""
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(field, value, f"a string was expected, not {type(value).__name__}")
        for ch in value:
            if _is_control(ch):
                raise self.fail(field, value, f"it contains the control character {ch!r}")
        return value

    def name(self, field: str, value: object) -> str:
        """A PEP 508 name, normalized."""
        text = self.text(field, value, optional=False)
        assert text is not None
        if not _NAME.match(text):
            raise self.fail(field, value, "not a PEP 508 distribution name")
        return canonicalize_name(text)

    def version(self, field: str, value: object) -> str | None:
        """A PEP 440 version, normalized (None stays None: directory and VCS entries may have none)."""
        text = self.text(field, value)
        if text is None:
            return None
        if text != text.strip():
            raise self.fail(field, value, "surrounding whitespace")
        try:
            return str(Version(text))
        except InvalidVersion:
            raise self.fail(field, value, "not a PEP 440 version") from None

    def url(self, field: str, value: object, schemes: frozenset[str]) -> str | None:
        """A URL with one of ``schemes`` and no whitespace."""
        text = self.text(field, value)
        if text is None:
            return None
        if not text or any(ch.isspace() for ch in text):
            raise self.fail(field, value, "a URL holds no whitespace")
        try:
            parts = urllib.parse.urlsplit(text)
        except ValueError as exc:
            raise self.fail(field, value, f"not a URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme.startswith("git+"):
            scheme = scheme[4:]
        if scheme not in schemes:
            raise self.fail(field, value, f"the URL scheme must be one of {', '.join(sorted(schemes))}")
        if scheme != "file" and not parts.netloc:
            raise self.fail(field, value, "the URL names no host")
        return text

    def path_or_url(self, field: str, value: object) -> str | None:
        """A path (any text without control characters), or a file URL when it has a scheme."""
        text = self.text(field, value)
        if text is not None and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
            return self.url(field, text, FILE_SCHEMES)
        return text

    def hashes(self, field: str, value: object) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, tuple):
            raise self.fail(field, value, "a list of hashes was expected")
        out = []
        for pair in value:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise self.fail(field, pair, "a hash is `algorithm:hex digest`")
            algo, digest = pair
            algo = (self.text(field, algo, optional=False) or "").lower()
            digest = (self.text(field, digest, optional=False) or "").lower()
            if algo not in HASH_ALGORITHMS:
                raise self.fail(field, f"{algo}:{digest}", "unknown hash algorithm")
            size = hashlib.new(algo).digest_size * 2
            if not _HEX.match(digest) or len(digest) != size:
                raise self.fail(field, f"{algo}:{digest}", f"a {algo} digest is {size} hex digits")
            out.append((algo, digest))
        return tuple(out)

    def mapping(self, field: str, value: object, urls: dict[str, frozenset[str]]) -> dict[str, Any] | None:
        """A vcs/directory/archive table: strings checked, ``urls`` keys parsed as URLs, bools kept."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(field, value, "a table was expected")
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = f"{field}.{key}"
            if isinstance(item, bool) or item is None:
                out[key] = item
            elif key in urls:
                out[key] = self.url(sub, item, urls[key]) if item else item
            elif key in ("requested-revision", "commit-id") and item:
                text = self.text(sub, item)
                if text is not None and not _REVISION.match(text):
                    raise self.fail(sub, item, "not a revision (a commit, tag or branch name)")
                out[key] = text
            else:
                out[key] = self.text(sub, item)
        return out

    # ---- the model --------------------------------------------------------------------------
    def artifact(self, a: LockedArtifact) -> LockedArtifact:
        if a.kind not in ARTIFACT_KINDS:
            raise self.fail("artifact kind", a.kind, f"one of {', '.join(sorted(ARTIFACT_KINDS))}")
        filename = self.text("filename", a.filename)
        if filename is not None and ("/" in filename or "\\" in filename):
            raise self.fail("filename", filename, "a file name holds no directory")
        return replace(
            a,
            url=self.path_or_url("url", a.url),
            path=self.text("path", a.path),
            filename=filename,
            hashes=self.hashes("hashes", a.hashes),
        )

    def locked_package(self, p: LockedPackage) -> LockedPackage:
        self.package = p.name if isinstance(p.name, str) else repr(p.name)
        name = self.name("name", p.name)
        self.package = name
        vcs = self.mapping("vcs", p.vcs, {"url": VCS_SCHEMES})
        if vcs is not None and vcs.get("type") not in VCS_TYPES:
            raise self.fail("vcs.type", vcs.get("type"), f"one of {', '.join(sorted(VCS_TYPES))}")
        if vcs is not None and vcs.get("path") and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", vcs["path"]):
            raise self.fail("vcs.path", vcs["path"], "a path, not a URL")
        deps = []
        for dep in p.dependencies:
            if not (isinstance(dep, tuple) and len(dep) == 3):
                raise self.fail("dependencies", dep, "a dependency is a table with a name")
            dname, dmarker, dversion = dep
            deps.append(
                (
                    self.name("dependency name", dname),
                    self.text("dependency marker", dmarker),
                    self.version("dependency version", dversion),
                )
            )
        if not isinstance(p.editable, bool):
            raise self.fail("editable", p.editable, "true or false")
        if not isinstance(p.groups, tuple):
            raise self.fail("groups", p.groups, "a list of names")
        return replace(
            p,
            name=name,
            version=self.version("version", p.version),
            marker=self.text("marker", p.marker),
            requires_python=self.text("requires-python", p.requires_python),
            artifacts=tuple(self.artifact(a) for a in p.artifacts),
            vcs=vcs,
            directory=self.mapping("directory", p.directory, {}),
            archive=self.mapping("archive", p.archive, {"url": FILE_SCHEMES}),
            groups=tuple(self.text("groups", g, optional=False) or "" for g in p.groups),
            dependencies=tuple(deps),
            index=self.path_or_url("index", p.index),
        )


def validate_lock(lock: Lock) -> Lock:
    """``lock`` with every value checked and names/versions normalized (BadInputError otherwise)."""
    check = _Checker(lock.path)
    for field, value in (
        ("requires-python", lock.requires_python),
        ("lock-version", lock.lock_version),
        ("created-by", lock.created_by),
    ):
        check.text(field, value)
    for marker in lock.environments:
        check.text("environments", marker, optional=False)
    packages = tuple(check.locked_package(p) for p in lock.packages)
    return replace(lock, packages=packages)
