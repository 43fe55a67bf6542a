"""What the engine needs from a meter source.

A source knows one device or protocol and nothing about policy. It converts to
the project's sign convention at the edge (grid ``+`` import / ``-`` export,
battery ``+`` discharge, PV ``>= 0``) and stamps every reading with the clock
time it was taken, so staleness can be judged by the core. The engine runs it,
restarts it with backoff when it raises, and combines the readings of the
site's grid, PV and battery meters into one :class:`~ecotrack.core.model.SiteReading`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from ecotrack.core.model import MeterReading

__all__ = ["MeterReading", "MeterSink", "ReadingLog", "Source"]


class MeterSink(Protocol):
    """Where a meter delivers its readings: the engine, or :class:`ReadingLog` in a tool or a test."""

    def on_meter_reading(self, meter: str, reading: MeterReading) -> None:
        """Take one reading of meter ``meter`` (called in the meter's task; keep it quick)."""
        ...


class ReadingLog:
    """A :class:`MeterSink` that keeps every reading in order (``ecotrack meters read`` and tests)."""

    def __init__(self) -> None:
        self.readings: list[tuple[str, MeterReading]] = []

    def on_meter_reading(self, meter: str, reading: MeterReading) -> None:
        """Append the reading."""
        self.readings.append((meter, reading))

    def values(self) -> list[MeterReading]:
        """The readings without the meter names."""
        return [reading for _, reading in self.readings]


class Source(ABC):
    """Base class of meter sources."""

    def __init__(self, name: str) -> None:
        self.name = name
        #: Last failure (set by the source or by the engine when ``run`` raises), or None.
        self.error: str | None = None
        #: Consecutive failed reads the source handled itself without raising (a poll loop that keeps
        #: going); the engine adds them to the failures of its task, so ``/metrics`` counts both.
        self.failures = 0

    @abstractmethod
    async def run(self, sink: MeterSink) -> None:
        """Produce readings by calling ``sink.on_meter_reading(self.name, reading)`` until cancelled.

        Raising means the engine logs it, marks the source in error and restarts
        it with backoff. Returning normally means the source has nothing more to
        say (a replay that does not loop) and is not restarted.
        """
