"""Where the handlers' blocking work runs: two bounded thread pools, so slow work never starves the rest.

Heavy work (audit, check, lock, sync, tree, diff) can take seconds to minutes: an OSV API that
answers slowly, uv installing, a large environment read. It runs on its own pool of
``heavy_workers`` threads, with at most ``heavy_queue`` requests waiting; past that a request is
refused at once with 503 and a hint, instead of piling up. Light work (listing, one record,
refresh) runs on a separate pool, and neither uses the event loop's default executor, which the
server shares with everything else. So eight audits stuck on a slow API leave
``GET .../environments/{id}``, kernels and other users answering.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Too many heavy requests are already running or waiting (HTTP 503)."""


class WorkPools:
    """A heavy pool with a bounded backlog, and a light pool."""

    def __init__(self, heavy_workers: int = 4, heavy_queue: int = 16, light_workers: int = 4) -> None:
        self.heavy_workers = max(1, heavy_workers)
        self.heavy_limit = self.heavy_workers + max(0, heavy_queue)
        self._heavy = ThreadPoolExecutor(self.heavy_workers, thread_name_prefix="envkernels-heavy")
        self._light = ThreadPoolExecutor(max(1, light_workers), thread_name_prefix="envkernels-light")
        self._admitted = 0
        self._lock = threading.Lock()

    async def light(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run quick blocking work (discovery's cached listing, one record) off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._light, functools.partial(func, *args, **kwargs))

    async def heavy(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run slow work on the heavy pool; :class:`Busy` at once when its backlog is full."""
        with self._lock:
            if self._admitted >= self.heavy_limit:
                raise Busy(f"{self._admitted} heavy requests are running or waiting")
            self._admitted += 1
        try:
            future = self._heavy.submit(func, *args, **kwargs)
        except BaseException:
            self._release(None)
            raise
        # Released when the work ends, not when the request does: a client that hangs up
        # does not free a slot its thread still holds.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _future: object) -> None:
        with self._lock:
            self._admitted -= 1

    def shutdown(self) -> None:
        """Stop taking work (running work finishes in its threads)."""
        self._heavy.shutdown(wait=False, cancel_futures=True)
        self._light.shutdown(wait=False, cancel_futures=True)
