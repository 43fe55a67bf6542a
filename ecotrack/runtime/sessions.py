"""Charging sessions: from plugging a car in to unplugging it, with energy and solar share.

The engine feeds a :class:`SessionTracker` per loadpoint with every charger report and the site's grid
reading. Energy is integrated from the charger's power (or amps x volts x phases); the solar part is the
car power that the grid did not supply at that moment (an importing grid is counted against the car
first, which is conservative: a kettle switched on during a solar charge lowers the solar share). A home
battery discharging is not counted as solar either.

Sessions are values (:class:`Session`, frozen); the tracker hands out a new one on every change, and the
engine passes ``start``/``update``/``end`` to its session listeners (the store persists them; an ``update``
at most every ``update_every_s`` clock seconds so a crash loses at most that much). After a restart the
store gives the open session back through :meth:`SessionTracker.restore`: when the car is still plugged
in the session continues, otherwise it is closed with the energy measured so far.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["Session", "SessionEvent", "SessionTracker"]

SessionEvent = Literal["start", "update", "end"]

#: Longest gap (clock s) between two reports that is integrated; longer gaps (a driver restart, a
#: suspended machine) count as no energy rather than a guess.
_MAX_GAP_S = 60.0


@dataclass(frozen=True, slots=True)
class Session:
    """One charging session of one loadpoint."""

    id: str
    loadpoint: str
    charger: str
    started: datetime
    ended: datetime | None = None
    energy_wh: float = 0.0
    solar_wh: float = 0.0
    grid_wh: float = 0.0
    max_power_w: float = 0.0
    vehicle: str | None = None
    #: The charger's own lifetime meter at the start and end, when it has one (Wh).
    meter_start_wh: float | None = None
    meter_end_wh: float | None = None
    #: The car's state of charge when the session started and as last seen (%), when a vehicle reports it.
    soc_start_pct: float | None = None
    soc_end_pct: float | None = None

    @property
    def solar_share(self) -> float | None:
        """Solar part of the energy (0..1), None before any energy was charged."""
        return self.solar_wh / self.energy_wh if self.energy_wh > 0 else None


class SessionTracker:
    """Follows one loadpoint's sessions from its charger reports."""

    def __init__(self, loadpoint: str, charger: str, update_every_s: float = 10.0) -> None:
        self.loadpoint = loadpoint
        self.charger = charger
        self.update_every_s = update_every_s
        self.session: Session | None = None
        self._restored = False
        self._last_t_s: float | None = None
        self._last_power_w = 0.0
        self._last_solar_w = 0.0
        self._last_update_s = -float("inf")

    def restore(self, session: Session) -> None:
        """Take over an open session recorded before a restart (decided on the next report)."""
        if session.ended is not None:
            raise ValueError(f"session {session.id} has already ended")
        self.session = session
        self._restored = True
        self._last_t_s = None

    def update(
        self,
        *,
        t_s: float,
        now: datetime,
        connected: bool,
        power_w: float,
        grid_w: float | None,
        battery_w: float | None = None,
        vehicle: str | None = None,
        meter_wh: float | None = None,
        soc_pct: float | None = None,
    ) -> list[tuple[SessionEvent, Session]]:
        """Account a charger report at clock time ``t_s`` (wall ``now``); returns the session events."""
        events: list[tuple[SessionEvent, Session]] = []
        power_w = max(0.0, power_w) if power_w == power_w else 0.0  # NaN -> 0
        solar_w = self._solar_w(power_w, grid_w, battery_w)
        current = self.session
        if current is not None and self._last_t_s is not None:
            dt = t_s - self._last_t_s
            if 0.0 < dt <= _MAX_GAP_S:
                energy = self._last_power_w * dt / 3600.0
                solar = min(self._last_solar_w, self._last_power_w) * dt / 3600.0
                current = dataclasses.replace(
                    current,
                    energy_wh=current.energy_wh + energy,
                    solar_wh=current.solar_wh + solar,
                    grid_wh=current.grid_wh + energy - solar,
                )
        self._last_t_s = t_s
        self._last_power_w = power_w
        self._last_solar_w = solar_w
        if current is not None and not connected:
            ended = dataclasses.replace(
                current,
                ended=now,
                meter_end_wh=meter_wh or current.meter_end_wh,
                soc_end_pct=soc_pct if soc_pct is not None else current.soc_end_pct,
            )
            self.session = None
            self._restored = False
            events.append(("end", ended))
            return events
        if current is None and connected:
            current = Session(
                id=uuid.uuid4().hex,
                loadpoint=self.loadpoint,
                charger=self.charger,
                started=now,
                vehicle=vehicle,
                meter_start_wh=meter_wh,
                meter_end_wh=meter_wh,
                soc_start_pct=soc_pct,
                soc_end_pct=soc_pct,
            )
            self.session = current
            self._last_update_s = t_s
            events.append(("start", current))
            return events
        if current is None:
            return events
        changed: dict[str, Any] = {}
        if power_w > current.max_power_w:
            changed["max_power_w"] = power_w
        if vehicle and vehicle != current.vehicle:
            changed["vehicle"] = vehicle
        if soc_pct is not None and soc_pct != current.soc_end_pct:
            changed["soc_end_pct"] = soc_pct
            if current.soc_start_pct is None:
                changed["soc_start_pct"] = soc_pct
        if meter_wh is not None:
            changed["meter_end_wh"] = meter_wh
            if current.meter_start_wh is None:
                changed["meter_start_wh"] = meter_wh
        if changed:
            current = dataclasses.replace(current, **changed)
        self.session = current
        if self._restored or t_s - self._last_update_s >= self.update_every_s or "vehicle" in changed:
            self._restored = False
            self._last_update_s = t_s
            events.append(("update", current))
        return events

    def close(self, now: datetime) -> tuple[SessionEvent, Session] | None:
        """End the open session now (e.g. the loadpoint was removed); None when there is none."""
        if self.session is None:
            return None
        ended = dataclasses.replace(self.session, ended=now)
        self.session = None
        return ("end", ended)

    @staticmethod
    def _solar_w(power_w: float, grid_w: float | None, battery_w: float | None) -> float:
        """Car power not supplied by grid import or a discharging home battery."""
        if grid_w is None or grid_w != grid_w:
            return 0.0  # unknown: do not claim it was solar
        bought = max(grid_w, 0.0) + max(battery_w or 0.0, 0.0)
        return min(power_w, max(0.0, power_w - bought))
