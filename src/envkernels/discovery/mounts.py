"""Which paths sit on a network filesystem, where inotify does not see other machines' changes.

inotify reports only what the local kernel does to a file system. On NFS, CIFS/SMB, FUSE
(sshfs, s3fs, gcsfuse, rclone, ...), 9p, virtiofs, Ceph, Lustre and the other shared file
systems, an environment the administrator creates on another node (or a Kubernetes pod, or the
host) changes the directory without a single local event. The discovery cache therefore does
not trust inotify for such paths: it re-checks their stat signatures at a bounded interval
(:func:`poll_interval`, ``c.EnvKernelSpecManager.network_poll_interval``).

A path's file system is the one mounted at the longest mount point that is a prefix of it, read
from ``/proc/self/mountinfo`` (a later mount on the same point hides an earlier one); where that
file cannot be read, ``statfs(2)``'s ``f_type`` magic number stands in. Nothing is written.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

MOUNTINFO = "/proc/self/mountinfo"
POLL_INTERVAL_DEFAULT = 30.0
POLL_INTERVAL_VAR = "ENVKERNELS_NETWORK_POLL_INTERVAL"

# File system types (mountinfo's field after " - ") whose changes can come from another machine.
NETWORK_FS_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "coda",
        "9p",
        "virtiofs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "orangefs",
        "pvfs2",
        "ocfs2",
        "gfs2",
        "davfs",
        "fuse",  # a FUSE mount with no subtype: its backing store is unknown, assume remote
    }
)
# FUSE subtypes that are local disks (ntfs-3g, exFAT, ...): inotify sees their changes.
LOCAL_FUSE_TYPES = frozenset({"fuseblk", "fuse.ntfs-3g", "fuse.exfat", "fuse.lxcfs", "fuse.portal"})

# statfs(2) f_type magic numbers of the same file systems (linux/magic.h and the file systems' sources).
NETWORK_FS_MAGIC = {
    0x6969: "nfs",
    0x517B: "smbfs",
    0xFF534D42: "cifs",
    0xFE534D42: "smb3",
    0x564C: "ncpfs",
    0x5346414F: "afs",
    0x73757245: "coda",
    0x01021997: "9p",
    0x6A656A63: "virtiofs",
    0x00C36400: "ceph",
    0x0BD00BD0: "lustre",
    0x47504653: "gpfs",
    0x7461636F: "ocfs2",
    0x01161970: "gfs2",
    0x65735546: "fuse",
}


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: where a file system is mounted, its type and its source."""

    mount_point: str
    fstype: str
    source: str

    @property
    def network(self) -> bool:
        """True for a file system whose changes may come from another machine."""
        return is_network_fstype(self.fstype)


def is_network_fstype(fstype: str) -> bool:
    """True for NFS, CIFS/SMB, 9p, Ceph, ... and FUSE mounts other than local-disk drivers."""
    if fstype in LOCAL_FUSE_TYPES:
        return False
    return fstype in NETWORK_FS_TYPES or fstype.startswith("fuse.")


def _unescape(field: str) -> str:
    r"""A mountinfo path: space, tab, newline, backslash are written `\040`, `\011`, `\012`, `\134`."""
    if "\\" not in field:
        return field
    out = bytearray()
    raw = os.fsencode(field)
    i = 0
    while i < len(raw):
        octal = raw[i + 1 : i + 4]
        if raw[i] == 0x5C and len(octal) == 3 and all(0x30 <= c <= 0x37 for c in octal):
            out.append(int(octal, 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return os.fsdecode(bytes(out))


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts of a ``/proc/<pid>/mountinfo`` text, in its order; malformed lines are skipped.

    A line is ``ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS``
    (proc(5)); the optional fields end at the lone ``-``.
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            dash = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < dash + 3:
            continue
        mounts.append(Mount(_unescape(fields[4]), fields[dash + 1], _unescape(fields[dash + 2])))
    return mounts


class MountTable:
    """Longest-prefix lookups of paths in a list of mounts (a later mount on the same point wins)."""

    def __init__(self, mounts: Iterable[Mount]) -> None:
        self._by_point: dict[str, Mount] = {}
        for mount in mounts:
            self._by_point[mount.mount_point.rstrip("/") or "/"] = mount
        self.has_network = any(m.network for m in self._by_point.values())
        self._memo: dict[str, Mount | None] = {}

    def mount_of(self, path: str) -> Mount | None:
        """The mount ``path`` (absolute, resolved) lives on, None when no mount point is a prefix."""
        probe = path.rstrip("/") or "/"
        seen = []
        found: Mount | None = None
        while True:
            if probe in self._memo:
                found = self._memo[probe]
                break
            seen.append(probe)
            mount = self._by_point.get(probe)
            if mount is not None:
                found = mount
                break
            if probe == "/":
                break
            probe = os.path.dirname(probe)
        for directory in seen:  # paths under one environment share their parents' answer
            self._memo[directory] = found
        return found

    def network_mount_of(self, path: str) -> Mount | None:
        """The network mount ``path`` is on, None for a local path."""
        if not self.has_network:
            return None
        mount = self.mount_of(path)
        return mount if mount is not None and mount.network else None


def load_mount_table() -> MountTable | None:
    """This process's mounts (``/proc/self/mountinfo``), None where that file cannot be read."""
    try:
        with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as fh:
            return MountTable(parse_mountinfo(fh.read()))
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def statfs_fstype(path: str) -> str | None:
    """The network file system type ``statfs(2)`` reports for ``path``: "" if local, None if unknown."""
    libc = _libc()
    if libc is None:
        return None
    try:
        buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
        if libc.statfs(os.fsencode(path), buf) != 0:
            return None
    except (OSError, AttributeError, ValueError):
        return None
    # f_type is the struct's first member, a native word (__fsword_t).
    magic = ctypes.c_ulong.from_buffer(buf).value & 0xFFFFFFFF
    return NETWORK_FS_MAGIC.get(magic, "")


class NetworkPaths:
    """ "Is this path on a network file system?" for one batch of paths (one mount table read)."""

    def __init__(self) -> None:
        self._table = load_mount_table()
        self._statfs: dict[str, bool] = {}

    def is_network(self, path: str) -> bool:
        """True when ``path`` sits on a network file system (a missing path: its nearest existing parent)."""
        if self._table is not None:
            return self._table.network_mount_of(path) is not None
        if _libc() is None:
            return False
        probe = path
        while probe not in self._statfs:  # no mountinfo: ask statfs, once per directory
            fstype = statfs_fstype(probe)
            if fstype is not None or probe == os.path.dirname(probe):
                self._statfs[probe] = bool(fstype)
                break
            probe = os.path.dirname(probe)
        result = self._statfs[probe]
        self._statfs[path] = result
        return result


def network_mounts(paths: Iterable[str]) -> dict[str, Mount]:
    """Each of ``paths`` that sits on a network mount, with that mount (for logs and ``doctor``)."""
    table = load_mount_table()
    if table is None or not table.has_network:
        return {}
    found = {}
    for path in paths:
        mount = table.network_mount_of(os.path.realpath(path))
        if mount is not None:
            found[path] = mount
    return found


_configured: float | None = None


def configure_poll_interval(seconds: float | None) -> None:
    """Set this process's interval (``EnvKernelSpecManager.network_poll_interval``); None: the default."""
    global _configured
    _configured = None if seconds is None else max(0.0, float(seconds))


def poll_interval() -> float:
    """Seconds between stat checks of network paths.

    The configured value, else ``$ENVKERNELS_NETWORK_POLL_INTERVAL``, else 30.
    """
    if _configured is not None:
        return _configured
    raw = os.environ.get(POLL_INTERVAL_VAR)
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
    return POLL_INTERVAL_DEFAULT
