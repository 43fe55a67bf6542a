"""Converting clock seconds to wall seconds for asyncio timeouts (a ScaledClock runs faster than the wall)."""

from __future__ import annotations

from ecotrack.clock import Clock

__all__ = ["wall_seconds"]


def wall_seconds(clock: Clock, clock_s: float) -> float:
    """Wall seconds that ``clock_s`` of ``clock`` last (clocks without a ``speed`` run at wall speed)."""
    speed = getattr(clock, "speed", 1.0)
    return clock_s / speed if isinstance(speed, int | float) and speed > 0 else clock_s
