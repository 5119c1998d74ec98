"""A bounded worker pool: model work runs on a few threads, and a request that finds every worker
busy and the queue full is refused at once (503 with Retry-After) instead of waiting unseen.

An unbounded queue turns a burst into minutes of latency for everyone and memory that grows with
the backlog; a bounded one keeps the latency of the requests it accepts close to the work itself,
and tells the others when to come back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .errors import ApiError

T = TypeVar("T")


class WorkerPool:
    """`workers` threads, and room for `queue` requests waiting for one.

    Admission is counted on the event loop, which is single-threaded, so the count needs no lock.
    A request is counted until its work has finished, not until its client stops waiting: work a
    disconnected client left running still holds its worker.
    """

    def __init__(self, workers: int = 1, queue: int = 8, retry_after_seconds: int = 1):
        if workers < 1 or queue < 0:
            raise ValueError(f"a worker pool needs at least one worker and a queue of zero or more, "
                             f"got workers={workers}, queue={queue}")
        self.workers, self.queue, self.retry_after_seconds = workers, queue, retry_after_seconds
        self.admitted = 0  # running or waiting
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="e2elab-serve")

    @property
    def capacity(self) -> int:
        return self.workers + self.queue

    async def run(self, work: Callable[[], T]) -> T:
        """The result of `work()`, computed on a worker thread; ApiError 503 when the pool is full."""
        if self.admitted >= self.capacity:
            raise ApiError(503, "busy", f"the server is busy: {self.workers} request(s) running and {self.queue} "
                                        f"waiting, the most it queues; retry in {self.retry_after_seconds} s",
                           headers={"Retry-After": str(self.retry_after_seconds)})
        loop = asyncio.get_running_loop()
        self.admitted += 1
        future = self._executor.submit(work)
        future.add_done_callback(lambda _: _call_soon(loop, self._release))
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        self.admitted -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Run `callback` on `loop` from a worker thread; a loop already closed (shutdown) has nothing left to count."""
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:
        pass
