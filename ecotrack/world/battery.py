"""A home battery for the simulator: it absorbs what the house would export and covers what it would import.

Like a typical hybrid inverter regulating the grid towards zero, every second it charges with the export
(up to ``power_w`` and until full) and discharges into the house's import (up to ``power_w`` and until
empty). It does not know about the car: a car drawing more than the surplus is fed by the battery too,
which is why ecotrack never counts battery discharge as surplus (:mod:`ecotrack.core.control`). Sign:
``+`` discharge, ``-`` charge, like the meters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["HomeBattery", "HomeBatteryParams"]


@dataclass(frozen=True, slots=True)
class HomeBatteryParams:
    """Size of the battery and where it starts; ``priority_soc_pct``: below it, it charges before the car."""

    power_w: float = 3000.0
    capacity_kwh: float = 10.0
    soc_pct: float = 50.0
    priority_soc_pct: float | None = None
    #: Round-trip losses are split evenly between charging and discharging.
    round_trip_efficiency: float = 0.9

    def __post_init__(self) -> None:
        for name, value in (("power_w", self.power_w), ("capacity_kwh", self.capacity_kwh)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"home battery {name} must be a positive number, got {value!r}")
        if not 0.0 <= self.soc_pct <= 100.0:
            raise ValueError(f"home battery soc_pct must be 0..100, got {self.soc_pct!r}")
        if self.priority_soc_pct is not None and not 0.0 <= self.priority_soc_pct <= 100.0:
            raise ValueError(f"home battery priority_soc_pct must be 0..100, got {self.priority_soc_pct!r}")
        if not 0.5 <= self.round_trip_efficiency <= 1.0:
            raise ValueError("home battery round_trip_efficiency must be 0.5..1")


class HomeBattery:
    """See the module docstring."""

    def __init__(self, params: HomeBatteryParams) -> None:
        self.params = params
        self.stored_wh = params.capacity_kwh * 1000.0 * params.soc_pct / 100.0
        self._eff = math.sqrt(params.round_trip_efficiency)

    @property
    def soc_pct(self) -> float:
        """State of charge (%)."""
        return 100.0 * self.stored_wh / (self.params.capacity_kwh * 1000.0)

    def step(self, net_w: float, dt_s: float) -> float:
        """The house would draw ``net_w`` from the grid (``-``: export) for ``dt_s``; returns the battery's
        power (``+`` discharge into the house, ``-`` charge from the export)."""
        p = self.params
        capacity_wh = p.capacity_kwh * 1000.0
        hours = dt_s / 3600.0
        if net_w < 0.0:
            room_w = (capacity_wh - self.stored_wh) / hours / self._eff if hours > 0 else 0.0
            charge = min(-net_w, p.power_w, max(room_w, 0.0))
            self.stored_wh = min(capacity_wh, self.stored_wh + charge * hours * self._eff)
            return -charge
        if net_w > 0.0:
            left_w = self.stored_wh * self._eff / hours if hours > 0 else 0.0
            discharge = min(net_w, p.power_w, max(left_w, 0.0))
            self.stored_wh = max(0.0, self.stored_wh - discharge * hours / self._eff)
            return discharge
        return 0.0
