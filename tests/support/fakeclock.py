"""Virtual time for asyncio code that takes ``clock`` and ``sleep`` as collaborators.

``await clock.run_for(3600)`` runs an hour of a scheduler in milliseconds: every ``sleep`` is
parked on a heap and woken in time order once the other tasks have settled.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 11, 23, tzinfo=UTC)) -> None:
        self.now = 0.0
        self._start = start
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return self._start + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + max(0.0, seconds), next(self._seq), fut))
        await fut

    @staticmethod
    async def _settle() -> None:
        for _ in range(30):
            await asyncio.sleep(0)

    async def run_for(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            await self._settle()
            while self._heap and self._heap[0][2].done():
                heapq.heappop(self._heap)
            if not self._heap or self._heap[0][0] > end:
                self.now = end
                return
            when, _, fut = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            fut.set_result(None)
