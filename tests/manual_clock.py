"""A clock for driver tests whose time moves only when the code under test sleeps (or the test sets it)."""

from __future__ import annotations

import asyncio


class ManualClock:
    """``now`` is ``t``; ``sleep`` adds the seconds asked to ``t`` and returns at once.

    ``real_pause_s`` is how long each sleep then waits for real, so a local server or another task gets
    its turn (None: no wait at all, not even a yield to the event loop).
    """

    def __init__(self, real_pause_s: float | None = None) -> None:
        self.t = 0.0
        self.real_pause_s = real_pause_s

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        if self.real_pause_s is not None:
            await asyncio.sleep(self.real_pause_s)
