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
from collections.abc import Callable
from dataclasses import dataclass

from ecotrack.chargers.base import DeviceContext

__all__ = ["DeviceContext", "Emit", "Source", "SourceReading"]


@dataclass(frozen=True, slots=True)
class SourceReading:
    """One sample from one source. Fields the source does not measure are None.

    ``voltages_v`` and ``currents_a`` are per phase (L1, L2, L3 as far as the device
    reports them), for sources that measure them (a smart meter, an inverter's grid
    meter). Currents are signed like the grid: ``+`` import, ``-`` export, when the
    device tells the direction; otherwise they are magnitudes.
    """

    t_s: float
    grid_w: float | None = None
    pv_w: float | None = None
    battery_w: float | None = None
    battery_soc_pct: float | None = None
    voltage_v: float | None = None
    voltages_v: tuple[float, ...] | None = None
    currents_a: tuple[float, ...] | None = None


Emit = Callable[[SourceReading], None]


class Source(ABC):
    """Base class of meter sources."""

    def __init__(self, name: str) -> None:
        self.name = name
        #: Last failure (set by the source or by the engine when ``run`` raises), or None.
        self.error: str | None = None

    @abstractmethod
    async def run(self, emit: Emit) -> None:
        """Produce readings by calling ``emit`` until cancelled.

        Raising means the engine logs it, marks the source in error and restarts
        it with backoff. Returning normally means the source has nothing more to
        say (a replay that does not loop) and is not restarted.
        """
