"""Where advisories come from: a local OSV database (directory or ``all.zip``) or the OSV API.

Each source implements :class:`~envkernels.audit.sources.interface.AdvisorySource`.
"""

from envkernels.audit.sources.interface import (
    AdvisorySource,
    Dependency,
    Skipped,
    SourceResult,
    SourceUnavailable,
    SourceWarning,
)

__all__ = ["AdvisorySource", "Dependency", "Skipped", "SourceResult", "SourceUnavailable", "SourceWarning"]
