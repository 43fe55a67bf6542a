"""Clocks for the asynchronous shell.

The engine and every simulated device take a :class:`Clock` instead of calling
``time`` or ``asyncio.sleep`` directly. That one seam lets the demo run a day
ten times faster (:class:`ScaledClock`) and lets tests compress minutes of
controller time into a fraction of a second, while production uses
:class:`RealClock`. All values are monotonic seconds, like the core's ``t_s``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Monotonic time and sleeping, as the engine and devices see them."""

    def now(self) -> float:
        """Monotonic seconds (arbitrary origin, never goes backwards)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""
        ...


class RealClock:
    """Wall-speed monotonic clock (production)."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)``; negative values sleep zero."""
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """A clock that runs ``speed`` times faster than the wall.

    ``now()`` starts at ``start_s`` and advances ``speed`` clock seconds per wall
    second; ``sleep(s)`` sleeps ``s / speed`` wall seconds. Event-loop jitter is
    multiplied by ``speed`` too, so very high speeds (say > 200) make timing in
    clock seconds coarse: fine for the demo and for tests with generous margins.
    """

    def __init__(self, speed: float = 1.0, start_s: float = 0.0) -> None:
        if not speed > 0.0:  # also rejects NaN
            raise ValueError(f"clock speed must be > 0, got {speed!r}")
        self.speed = float(speed)
        self._start_s = float(start_s)
        self._wall0 = time.monotonic()

    def now(self) -> float:
        """Clock seconds since creation, plus ``start_s``."""
        return self._start_s + (time.monotonic() - self._wall0) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of clock time (``seconds / speed`` of wall time)."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def wall_seconds(self, clock_seconds: float) -> float:
        """How long ``clock_seconds`` last on the wall (for logs and timeouts)."""
        return clock_seconds / self.speed
