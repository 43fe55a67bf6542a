"""Turns the engine's snapshots into readings at the configured resolution.

Every snapshot (each meter reading and tick) is added to the current interval; when a snapshot falls into
a new interval the finished one is emitted as averages: one :class:`SiteRow` and one
:class:`LoadpointRow` per loadpoint, stamped with the interval's start. Pure bookkeeping, no I/O: the
rows go to the writer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ecotrack.services.store.records import LoadpointRow, SiteRow

if TYPE_CHECKING:
    from ecotrack.runtime.snapshot import Snapshot

__all__ = ["ReadingSampler"]


@dataclass(slots=True)
class _Mean:
    total: float = 0.0
    n: int = 0

    def add(self, value: float | None) -> None:
        if value is not None and math.isfinite(value):
            self.total += value
            self.n += 1

    def value(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass(slots=True)
class _Interval:
    start: datetime
    grid: _Mean = field(default_factory=_Mean)
    pv: _Mean = field(default_factory=_Mean)
    battery: _Mean = field(default_factory=_Mean)
    soc: _Mean = field(default_factory=_Mean)
    surplus: _Mean = field(default_factory=_Mean)
    lp: dict[str, tuple[_Mean, _Mean, _Mean]] = field(default_factory=dict)


class ReadingSampler:
    """Averages snapshots over ``resolution_s`` wall-clock intervals and emits the finished ones."""

    def __init__(
        self,
        resolution_s: float,
        on_site: Callable[[SiteRow], None],
        on_loadpoint: Callable[[LoadpointRow], None],
    ) -> None:
        self.resolution_s = resolution_s
        self._on_site = on_site
        self._on_loadpoint = on_loadpoint
        self._current: _Interval | None = None

    def _start_of(self, when: datetime) -> datetime:
        epoch = when.timestamp()
        return datetime.fromtimestamp(math.floor(epoch / self.resolution_s) * self.resolution_s, UTC)

    def add(self, snap: Snapshot) -> None:
        start = self._start_of(snap.time)
        cur = self._current
        if cur is None or start != cur.start:
            if cur is not None:
                self._emit(cur)
            cur = self._current = _Interval(start)
        cur.grid.add(snap.grid_w)
        cur.pv.add(snap.pv_w)
        cur.battery.add(snap.battery_w)
        cur.soc.add(snap.battery_soc_pct)
        cur.surplus.add(snap.surplus_w)
        for lp in snap.loadpoints:
            power, current, commanded = cur.lp.setdefault(lp.name, (_Mean(), _Mean(), _Mean()))
            power.add(lp.power_w)
            current.add(lp.actual_a)
            commanded.add(lp.commanded_a)

    def flush(self) -> None:
        """Emit the interval in progress (on shutdown)."""
        if self._current is not None:
            self._emit(self._current)
            self._current = None

    def _emit(self, cur: _Interval) -> None:
        self._on_site(
            SiteRow(
                time=cur.start,
                grid_w=cur.grid.value(),
                pv_w=cur.pv.value(),
                battery_w=cur.battery.value(),
                battery_soc_pct=cur.soc.value(),
                surplus_w=cur.surplus.value(),
            )
        )
        for name, (power, current, commanded) in cur.lp.items():
            self._on_loadpoint(
                LoadpointRow(
                    time=cur.start,
                    loadpoint=name,
                    power_w=power.value() or 0.0,
                    current_a=current.value() or 0.0,
                    commanded_a=commanded.value() or 0.0,
                )
            )
