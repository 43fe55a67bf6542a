"""Which meter plays which part, and how their readings combine into one site reading.

The grid meter paces the control loop: each of its readings becomes one
:class:`~ecotrack.core.model.SiteReading`, with PV summed over the PV meters and the battery taken from
the battery meter, each only when its own last reading is fresh (within ``max_age_s`` of the grid
reading). A meter that is not fresh contributes nothing rather than an old value. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ecotrack.core.model import MeterReading, SiteReading

__all__ = ["MeterRoles", "combine"]


@dataclass(frozen=True, slots=True)
class MeterRoles:
    """The site's meters by role (names as in the configuration)."""

    grid_meter: str
    pv_meters: tuple[str, ...] = ()
    battery_meter: str | None = None

    def names(self) -> tuple[str, ...]:
        """Every meter with a role, grid first, without repeats."""
        out = [self.grid_meter, *self.pv_meters]
        if self.battery_meter is not None:
            out.append(self.battery_meter)
        return tuple(dict.fromkeys(out))


def combine(
    grid: MeterReading, latest: Mapping[str, MeterReading], roles: MeterRoles, max_age_s: float
) -> SiteReading:
    """The site reading at ``grid``'s time: grid from it, PV summed, battery from the battery meter.

    ``latest`` holds each meter's last reading. Without PV meters the grid meter's own PV value is used;
    without a fresh battery meter the grid meter's battery values are.
    """
    now = grid.t_s

    def fresh(name: str) -> MeterReading | None:
        r = latest.get(name)
        return r if r is not None and now - r.t_s <= max_age_s else None

    pv_w: float | None
    if roles.pv_meters:
        values = [r.pv_w for n in roles.pv_meters if (r := fresh(n)) is not None and r.pv_w is not None]
        pv_w = sum(values) if values else None
    else:
        pv_w = grid.pv_w
    battery_w = battery_soc = None
    if roles.battery_meter is not None and (b := fresh(roles.battery_meter)) is not None:
        battery_w, battery_soc = b.battery_w, b.battery_soc_pct
    elif grid.battery_w is not None or grid.battery_soc_pct is not None:
        battery_w, battery_soc = grid.battery_w, grid.battery_soc_pct
    return SiteReading(
        t_s=grid.t_s,
        grid_w=grid.grid_w,
        pv_w=pv_w,
        battery_w=battery_w,
        battery_soc_pct=battery_soc,
        voltage_v=grid.voltage_v,
    )
