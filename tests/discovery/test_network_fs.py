"""Roots on network file systems: detected from the mount table, polled by stat, never trusted to inotify.

The mountinfo parser runs on this machine's real ``/proc/self/mountinfo`` (cross-checked with
``/proc/self/mounts``) and on mountinfo texts in the format real machines write
(``tests/data/mountinfo/``: an NFS-mounting Kubernetes node, a CIFS/SMB share, sshfs, gcsfuse and
WSL's 9p). A real NFS, CIFS or FUSE mount cannot exist in this test VM (no server, no mount
privilege inside the sandbox), so the poller tests give discovery a *fake mount table*: this
machine's real mountinfo plus one ``nfs4`` line whose mount point is the test's root. Everything
else is real: venvs made by uv, the real inotify watcher, the real discovery cache. The clock the
poll interval is measured on is replaced, so no test sleeps out an interval or asserts on time.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from envfactory import make_venv
from envkernels.discovery import cache as cache_module
from envkernels.discovery import discover, mounts, watch
from envkernels.discovery.cache import RACY_NS
from envkernels.discovery.scan import cache_stats

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "mountinfo"


def sample(name: str) -> mounts.MountTable:
    return mounts.MountTable(mounts.parse_mountinfo((SAMPLES / name).read_text()))


# ---- the parser and the lookups ----------------------------------------------------------------


def test_the_real_mountinfo_agrees_with_proc_mounts() -> None:
    """Every mount of ``/proc/self/mounts`` (another file, another format) is parsed with its type."""
    parsed = mounts.parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    by_point = {}
    for mount in parsed:
        by_point[mount.mount_point] = mount.fstype
    with open("/proc/self/mounts") as fh:
        listed = [line.split(" ")[1:3] for line in fh.read().splitlines()]
    assert len(parsed) == len(listed)
    for point, fstype in listed:
        point = mounts._unescape(point)
        assert point in by_point
        assert fstype in {m.fstype for m in parsed if m.mount_point == point}
    table = mounts.load_mount_table()
    assert table is not None
    assert table.mount_of("/proc/self/status") == next(
        m for m in reversed(parsed) if m.mount_point == "/proc"
    )
    assert table.mount_of("/") == next(m for m in reversed(parsed) if m.mount_point == "/")


def test_nfs_on_a_kubernetes_node() -> None:
    table = sample("nfs4-k8s-node.txt")
    assert table.has_network
    nfs = table.network_mount_of("/srv/jupyterhub/shared/envs/team-ds/bin/python")
    assert nfs is not None
    assert (nfs.fstype, nfs.source, nfs.mount_point) == (
        "nfs4",
        "fileserver.internal:/export/envs",
        "/srv/jupyterhub/shared",
    )
    assert table.network_mount_of("/srv/jupyterhub/shared") == nfs  # the mount point itself
    # A local disk mounted inside the NFS share is local again (the longest mount point wins).
    assert table.network_mount_of("/srv/jupyterhub/shared/scratch/venv") is None
    assert table.mount_of("/srv/jupyterhub/shared/scratch/venv").fstype == "ext4"  # type: ignore[union-attr]
    # A prefix of the name is no prefix of the path.
    assert table.network_mount_of("/srv/jupyterhub/shared-local/env") is None
    pod = table.network_mount_of(
        "/var/lib/kubelet/pods/6c1e9a2b-53f1-4d8a-9a6e-2f0c3b7d9e11/volumes/kubernetes.io~nfs/team-envs/ds"
    )
    assert pod is not None and pod.fstype == "nfs"
    assert table.network_mount_of("/home/jovyan/.venv") is None
    assert table.mount_of("/proc/1").fstype == "proc"  # type: ignore[union-attr]


def test_cifs_and_smb3_with_an_escaped_space() -> None:
    table = sample("cifs-home.txt")
    cifs = table.network_mount_of("/mnt/team share/envs/analytics")
    assert cifs is not None
    assert (cifs.fstype, cifs.source) == ("cifs", "//files.example.org/Team Share")
    assert table.network_mount_of("/mnt/team/envs") is None
    assert table.network_mount_of("/mnt/smb3/py").fstype == "smb3"  # type: ignore[union-attr]


def test_fuse_network_mounts_but_not_local_fuse_disks() -> None:
    table = sample("fuse-sshfs.txt")
    sshfs = table.network_mount_of("/home/alice/remote-envs/torch")
    assert sshfs is not None and sshfs.fstype == "fuse.sshfs" and sshfs.source == "alice@build-box:/opt/envs"
    assert table.network_mount_of("/mnt/bucket/envs").fstype == "fuse.gcsfuse"  # type: ignore[union-attr]
    assert table.network_mount_of("/media/usb/venv") is None  # fuseblk: ntfs-3g on a local disk
    host = table.network_mount_of("/mnt/host/Users/a/venv")  # WSL's 9p share of the Windows drive
    assert host is not None and host.source == "C:\\"
    assert table.mount_of("/mnt/broken-line/x").fstype == "ext4"  # type: ignore[union-attr]
    assert table.network_mount_of("/home/alice/src") is None


def test_the_types_that_count_as_network() -> None:
    for fstype in (
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "9p",
        "virtiofs",
        "ceph",
        "fuse.sshfs",
        "fuse.s3fs",
        "fuse",
    ):
        assert mounts.is_network_fstype(fstype), fstype
    for fstype in ("ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay", "fuseblk", "fuse.lxcfs", "proc"):
        assert not mounts.is_network_fstype(fstype), fstype


def test_without_mountinfo_statfs_decides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where /proc is not mounted, statfs(2)'s f_type stands in (here: every path is local)."""
    assert mounts.statfs_fstype(str(tmp_path)) == ""  # a real local file system, known magic or not
    assert mounts.statfs_fstype(str(tmp_path / "missing")) is None
    monkeypatch.setattr(mounts, "MOUNTINFO", str(tmp_path / "no-proc" / "mountinfo"))
    assert mounts.load_mount_table() is None
    where = mounts.NetworkPaths()
    assert not where.is_network(str(tmp_path / "missing" / "deeper"))
    assert not where.is_network("/")


def test_the_poll_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mounts, "_configured", None)
    monkeypatch.delenv(mounts.POLL_INTERVAL_VAR, raising=False)
    assert mounts.poll_interval() == 30.0
    monkeypatch.setenv(mounts.POLL_INTERVAL_VAR, "7.5")
    assert mounts.poll_interval() == 7.5
    monkeypatch.setenv(mounts.POLL_INTERVAL_VAR, "soon")  # unparsable: the default, not an error
    assert mounts.poll_interval() == 30.0
    mounts.configure_poll_interval(3)
    assert mounts.poll_interval() == 3.0


# ---- the poller --------------------------------------------------------------------------------


class Clock:
    """The monotonic clock of the poll interval, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def nfs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A root the fake mount table says is an NFS mount (this machine's table + one nfs4 line)."""
    root = tmp_path / "nfs-share"
    root.mkdir()
    real = Path("/proc/self/mountinfo").read_text()
    point = str(root).replace(" ", "\\040")
    fake = tmp_path / "mountinfo"
    fake.write_text(
        real + f"999 27 0:99 / {point} rw,relatime shared:500 - nfs4 fileserver:/export/envs rw,vers=4.2\n"
    )
    monkeypatch.setattr(mounts, "MOUNTINFO", str(fake))
    return root


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(cache_module, "monotonic", clock)
    return clock


@pytest.fixture
def interval(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(mounts, "_configured", None)
    monkeypatch.setenv(mounts.POLL_INTERVAL_VAR, "30")
    return 30.0


@pytest.fixture
def watched_dirs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every directory handed to the real inotify watcher during the test."""
    seen: list[str] = []
    real_watch = watch.Watcher.watch

    def spy(self, key, directories):  # type: ignore[no-untyped-def]
        directories = list(directories)
        seen.extend(directories)
        return real_watch(self, key, directories)

    monkeypatch.setattr(watch.Watcher, "watch", spy)
    return seen


def settle() -> None:
    """Wait out the racy window, so the next scan's result may be cached (see cache.py)."""
    time.sleep(RACY_NS / 1e9 * 1.5)


def names(root: Path) -> list[str]:
    return [e.name for e in discover([root], default_roots=False)]


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "stat"])
def test_a_new_environment_on_nfs_appears_within_the_interval(
    isolated_home: Path,
    nfs_root: Path,
    clock: Clock,
    interval: float,
    watched_dirs: list[str],
    inotify: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not inotify:
        monkeypatch.setenv("ENVKERNELS_NO_INOTIFY", "1")
    make_venv(nfs_root / "team-ds")
    settle()
    assert names(nfs_root) == ["team-ds"]  # scanned
    assert names(nfs_root) == ["team-ds"]  # first hit: inotify armed on the local paths only
    stats = cache_stats()
    assert stats["network_polled_entries"] == 1
    if inotify:
        assert stats["inotify_entries"] == 1
        assert watched_dirs, "the local paths (the base interpreter's) are watched by inotify"
    assert not [d for d in watched_dirs if d == str(nfs_root) or d.startswith(f"{nfs_root}/")]

    # The admin creates an environment on the share "from another node": no event reaches us, and
    # between two polls the listing is served from memory (this is the cost saved on NFS).
    make_venv(nfs_root / "team-ml")
    scans = cache_stats()["scans"]
    clock.now += interval - 1
    assert names(nfs_root) == ["team-ds"]
    assert cache_stats()["scans"] == scans
    # The interval has passed: the root's signature is checked, and the new environment appears.
    clock.now += 1
    assert names(nfs_root) == ["team-ds", "team-ml"]
    assert cache_stats()["scans"] == scans + 1


def test_an_unchanged_nfs_root_costs_no_rescan_at_each_poll(
    isolated_home: Path, nfs_root: Path, clock: Clock, interval: float
) -> None:
    make_venv(nfs_root / "team-ds")
    settle()
    names(nfs_root)
    scans = cache_stats()["scans"]
    for _ in range(3):
        clock.now += interval + 1
        assert names(nfs_root) == ["team-ds"]
    assert cache_stats()["scans"] == scans


def test_a_removed_nfs_environment_goes_at_the_next_poll(
    isolated_home: Path, nfs_root: Path, clock: Clock, interval: float
) -> None:
    make_venv(nfs_root / "a")
    make_venv(nfs_root / "b")
    settle()
    assert names(nfs_root) == ["a", "b"]
    names(nfs_root)
    os.rename(nfs_root / "b", nfs_root.parent / "b-moved-away")
    clock.now += interval
    assert names(nfs_root) == ["a"]


def test_a_local_root_beside_it_stays_on_inotify(
    isolated_home: Path, nfs_root: Path, tmp_path: Path, clock: Clock, interval: float
) -> None:
    """A change in a local root is seen at once, whatever the network interval."""
    local = tmp_path / "local-root"
    make_venv(local / "mine")
    make_venv(nfs_root / "team")
    settle()
    both = [nfs_root, local]
    assert [e.name for e in discover(both, default_roots=False)] == ["mine", "team"]
    discover(both, default_roots=False)
    make_venv(local / "mine2")
    assert [e.name for e in discover(both, default_roots=False)] == ["mine", "mine2", "team"]


def test_the_kernel_spec_manager_setting_and_its_log_line(
    isolated_home: Path,
    nfs_root: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``c.EnvKernelSpecManager.network_poll_interval`` sets the interval; the manager names the NFS root."""
    from envkernels.kernels.manager import EnvKernelSpecManager

    monkeypatch.setattr(mounts, "_configured", None)
    make_venv(nfs_root / "team-ds", ["ipykernel"])
    settle()
    log = logging.getLogger("test-network-fs")
    with caplog.at_level(logging.INFO, logger="test-network-fs"):
        manager = EnvKernelSpecManager(
            roots=[str(nfs_root)], default_roots=False, network_poll_interval=5, refresh_interval=0, log=log
        )
    assert mounts.poll_interval() == 5.0
    assert any("nfs4" in r.getMessage() and str(nfs_root) in r.getMessage() for r in caplog.records)
    caplog.clear()
    monkeypatch.setenv("ENVKERNELS_SHARED_ROOTS", "")  # the manager exports its shared roots: undone after
    with caplog.at_level(logging.INFO, logger="test-network-fs"):  # a shared root is named too
        EnvKernelSpecManager(shared_roots=[str(nfs_root)], default_roots=False, log=log)
    assert any("nfs4" in r.getMessage() and str(nfs_root) in r.getMessage() for r in caplog.records)
    before = set(manager.get_all_specs())
    assert len([n for n in before if n.startswith("envk-")]) == 1
    manager.get_all_specs()
    make_venv(nfs_root / "team-ml", ["ipykernel"])
    clock.now += 4
    assert set(manager.get_all_specs()) == before
    clock.now += 1
    after = set(manager.get_all_specs())
    assert len([n for n in after if n.startswith("envk-")]) == 2
