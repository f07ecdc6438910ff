"""What every advisory source offers the audit: candidate advisories for a set of dependencies.

A source answers with data, not exceptions, for partial failures (a bad record, one record the
API would not send): those are :class:`SourceWarning` entries and :class:`Skipped` packages.
Only a source that cannot answer at all raises :class:`SourceUnavailable`, which the audit turns
into ``skipped`` entries and an error finding, never into "no vulnerabilities".
"""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from envkernels.audit.records import Advisory
from envkernels.core.layout import normalize_name
from envkernels.errors import EnvKernelsError
from envkernels.model import Skipped

_normalize = functools.lru_cache(maxsize=16384)(normalize_name)


@dataclass(frozen=True)
class Dependency:
    """One installed (or locked) distribution to audit: its name as written and its version."""

    name: str
    version: str

    @property
    def normalized(self) -> str:
        """The PEP 503 normalized name advisories are keyed by."""
        return _normalize(self.name)


@dataclass(frozen=True)
class SourceWarning:
    """Something a source could not read, named so the user can act on it."""

    message: str
    package: str | None = None
    hint: str | None = None
    code: str = "advisory-invalid"  # the finding code it becomes


@dataclass(frozen=True)
class SourceResult:
    """A source's answer: per normalized package name, the advisories to match against.

    ``reported`` maps ``(normalized name, version)`` to the ids a service itself found affecting
    that version (the OSV API); a local database leaves it empty and the matcher decides alone.
    """

    advisories: Mapping[str, Sequence[Advisory]]
    reported: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    warnings: tuple[SourceWarning, ...] = ()
    skipped: tuple[Skipped, ...] = ()


class Deadline:
    """The moment a whole audit must be over; sources shorten their waits to fit inside it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (0 or less: past the deadline)."""
        return self.end - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0


class SourceUnavailable(EnvKernelsError):
    """The source cannot answer at all (unreachable API, 500, garbage): nothing was checked."""


class AdvisorySource(ABC):
    """A place that knows advisories. ``label`` names it in reports (``osv-db:PATH``, ``osv-api:URL``)."""

    label: str = "unknown"

    @abstractmethod
    def query(self, dependencies: Sequence[Dependency]) -> SourceResult:
        """Candidate advisories for ``dependencies``; :class:`SourceUnavailable` if it cannot answer."""
