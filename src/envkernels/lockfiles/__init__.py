"""Lockfiles: readers per format (``read_lock``), the pylock writer, a notebook's lock.

``read_lock(path)`` returns a :class:`Lock` whatever the format; ``applicable_packages`` picks the
entries that apply to one environment.
"""

from envkernels.lockfiles.model import Lock, LockedArtifact, LockedPackage
from envkernels.lockfiles.read import FORMATS, format_from_content, format_from_name, parse_lock, read_lock
from envkernels.lockfiles.select import applicable_packages, env_tags, marker_environment

__all__ = [
    "FORMATS",
    "Lock",
    "LockedArtifact",
    "LockedPackage",
    "applicable_packages",
    "env_tags",
    "format_from_content",
    "format_from_name",
    "marker_environment",
    "parse_lock",
    "read_lock",
]
