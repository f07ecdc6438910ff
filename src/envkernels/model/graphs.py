"""Pictures of an environment: its dependency tree, and a diff of two package sets.

``Tree`` is what ``GET .../tree`` answers (``inspect/tree.py`` builds its packages), ``Diff`` what
``GET .../diff`` answers (``inspect/diff.py``): records of the result model, with its one JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from envkernels.model.codec import Record
from envkernels.model.records import Environment

DiffStatus = Literal["same", "changed", "only-left", "only-right"]
DIFF_STATUSES: tuple[DiffStatus, ...] = ("same", "changed", "only-left", "only-right")
DiffSideType = Literal["environment", "lock"]
_OMIT = {"omit_none": True}


@dataclass(frozen=True)
class Requirement(Record):
    """One requirement of a package: ``name`` with ``specifier`` (``extra`` when an extra asked for
    it), the version installed (None: missing) and whether it satisfies the specifier."""

    name: str
    specifier: str
    extra: str | None
    installed: str | None
    satisfied: bool


@dataclass(frozen=True)
class PackageNode(Record):
    """An installed distribution in the tree: what it requires and who requires it."""

    name: str
    version: str
    summary: str | None
    requires: tuple[Requirement, ...] = ()
    required_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class WhyPaths(Record):
    """Why ``package`` is installed: the chains ``[root, ..., package]`` that pull it in."""

    package: str
    paths: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Tree(Record):
    """What pulls in what in an environment (``roots``: what nothing requires); ``why`` when asked."""

    environment: Environment
    packages: tuple[PackageNode, ...] = ()
    roots: tuple[str, ...] = ()
    why: WhyPaths | None = field(default=None, metadata=_OMIT)


@dataclass(frozen=True)
class DiffSide(Record):
    """One side of a diff: an environment (``id``, ``name``, ``prefix``) or a lock (``path``, ``format``)."""

    type: DiffSideType
    id: str | None = field(default=None, metadata=_OMIT)
    name: str | None = field(default=None, metadata=_OMIT)
    prefix: str | None = field(default=None, metadata=_OMIT)
    path: str | None = field(default=None, metadata=_OMIT)
    format: str | None = field(default=None, metadata=_OMIT)


@dataclass(frozen=True)
class DiffRow(Record):
    """One distribution (PEP 503 name) on both sides: its versions (None: absent) and the verdict."""

    name: str
    left: str | None
    right: str | None
    status: DiffStatus


@dataclass(frozen=True)
class Diff(Record):
    """Two package sets side by side, one row per distribution by name; ``summary`` counts the statuses."""

    left: DiffSide
    right: DiffSide
    rows: tuple[DiffRow, ...] = ()
    summary: dict[str, int] = field(default_factory=dict)
