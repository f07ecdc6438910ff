"""Sync: the plan (pure) that makes an environment match a lock, and its application through uv.

``plan_sync(lock, env)`` → :class:`SyncPlan`; ``apply_sync(plan, env, lock_path=...)`` →
:class:`SyncResult` (snapshot first, restore on failure, a history line); ``create_from_notebook``
builds a fresh environment beside a notebook from the lock in its metadata.
"""

from envkernels.sync.apply import SyncFailedError, SyncResult, apply_sync, restore_snapshot
from envkernels.sync.plan import Change, SyncPlan, check_lock_applies, plan_sync

__all__ = [
    "Change",
    "SyncFailedError",
    "SyncPlan",
    "SyncResult",
    "apply_sync",
    "check_lock_applies",
    "plan_sync",
    "restore_snapshot",
]
