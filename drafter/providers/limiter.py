"""A bound on provider calls in flight, shared by every run it is passed to.

`drafter batch` runs specs in threads, each with its own event loop; one `CallBound` is
handed to all of them, so `--jobs` sets how many specs progress at once and
`--max-concurrency` how hard the provider is hit.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Sequence

from drafter.providers.base import Answer, Message, Provider, Schema


class CallBound:
    """At most `limit` calls at once across threads that each run an event loop.

    asyncio.Semaphore belongs to one loop; this one hands a freed slot straight to the
    oldest waiter, on that waiter's loop, so waiting is fair and never polls.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a call bound needs at least one slot")
        self._free = limit
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            granted: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, granted))
        try:
            await granted
        except asyncio.CancelledError:
            with self._lock:
                waiting = (loop, granted) in self._waiters
                if waiting:
                    self._waiters.remove((loop, granted))
            if not waiting and granted.done() and not granted.cancelled():
                self.release()  # the slot arrived as we were cancelled: pass it on
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, granted = self._waiters.popleft()
                if not loop.is_closed():
                    loop.call_soon_threadsafe(self._grant, granted)
                    return
            self._free += 1

    def _grant(self, granted: asyncio.Future[None]) -> None:
        if granted.cancelled():  # its task gave up before the slot reached it
            self.release()
        else:
            granted.set_result(None)


class LimitedProvider:
    """`inner`, with each call holding one slot of `bound`."""

    def __init__(self, inner: Provider, bound: CallBound) -> None:
        self.inner = inner
        self.name = inner.name
        self.bound = bound

    async def ask(self, schema: type[Schema], messages: Sequence[Message]) -> Answer[Schema]:
        await self.bound.acquire()
        try:
            return await self.inner.ask(schema, messages)
        finally:
            self.bound.release()
