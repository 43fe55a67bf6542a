"""Plain records the store reads and writes.

They are independent of the engine's own types so the store, its CLI and its tests do not need a running
engine; :mod:`ecotrack.services.store.service` converts engine sessions, events and snapshots into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ecotrack.runtime.sessions import Session

__all__ = ["EventRecord", "LoadpointRow", "SessionRecord", "SiteRow", "ensure_utc"]


def ensure_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive value is taken to be UTC already (how SQLite returns it)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SiteRow:
    """Site power averaged over one resolution interval starting at ``time``."""

    time: datetime
    grid_w: float | None
    pv_w: float | None
    battery_w: float | None
    battery_soc_pct: float | None
    surplus_w: float | None


@dataclass(frozen=True, slots=True)
class LoadpointRow:
    """One loadpoint's power and current averaged over one resolution interval starting at ``time``."""

    time: datetime
    loadpoint: str
    power_w: float
    current_a: float
    commanded_a: float


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A charging session as stored: from car connect to disconnect (``ended`` None while it runs)."""

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
    meter_start_wh: float | None = None
    meter_end_wh: float | None = None
    #: The car's state of charge at the start and end (%), when a vehicle reported it.
    soc_start_pct: float | None = None
    soc_end_pct: float | None = None
    #: What the energy cost: grid part at the import price plus solar part at the feed-in price.
    cost: float | None = None
    #: What the solar part saved compared with buying it (import price minus feed-in price).
    savings: float | None = None
    currency: str | None = None
    #: Wall time of the figures above (the last update written); a crashed session is closed at it.
    updated: datetime | None = None

    @classmethod
    def from_session(
        cls,
        session: Session,
        *,
        cost: float | None = None,
        savings: float | None = None,
        currency: str | None = None,
        updated: datetime | None = None,
    ) -> SessionRecord:
        """A live session in the stored form (cost and savings are the store's to add)."""
        return cls(
            id=session.id,
            loadpoint=session.loadpoint,
            charger=session.charger,
            started=session.started,
            ended=session.ended,
            energy_wh=session.energy_wh,
            solar_wh=session.solar_wh,
            grid_wh=session.grid_wh,
            max_power_w=session.max_power_w,
            vehicle=session.vehicle,
            meter_start_wh=session.meter_start_wh,
            meter_end_wh=session.meter_end_wh,
            soc_start_pct=session.soc_start_pct,
            soc_end_pct=session.soc_end_pct,
            cost=cost,
            savings=savings,
            currency=currency,
            updated=updated,
        )

    def to_session(self) -> Session:
        """The engine's form of a stored session (to hand an open one back after a restart)."""
        return Session(
            id=self.id,
            loadpoint=self.loadpoint,
            charger=self.charger,
            started=self.started,
            ended=self.ended,
            energy_wh=self.energy_wh,
            solar_wh=self.solar_wh,
            grid_wh=self.grid_wh,
            max_power_w=self.max_power_w,
            vehicle=self.vehicle,
            meter_start_wh=self.meter_start_wh,
            meter_end_wh=self.meter_end_wh,
            soc_start_pct=self.soc_start_pct,
            soc_end_pct=self.soc_end_pct,
        )

    def as_json(self) -> dict[str, object]:
        """The JSON object ``ecotrack sessions list --json`` prints (kWh, ISO times)."""
        return {
            "id": self.id,
            "loadpoint": self.loadpoint,
            "charger": self.charger,
            "vehicle": self.vehicle,
            "start": self.started.isoformat(),
            "end": self.ended.isoformat() if self.ended is not None else None,
            "energy_kwh": round(self.energy_wh / 1000, 4),
            "solar_kwh": round(self.solar_wh / 1000, 4),
            "grid_kwh": round(self.grid_wh / 1000, 4),
            "solar_share": round(self.solar_wh / self.energy_wh, 4) if self.energy_wh > 0 else None,
            "max_power_kw": round(self.max_power_w / 1000, 3),
            "meter_start_kwh": _kwh(self.meter_start_wh),
            "meter_end_kwh": _kwh(self.meter_end_wh),
            "soc_start_pct": self.soc_start_pct,
            "soc_end_pct": self.soc_end_pct,
            "cost": round(self.cost, 4) if self.cost is not None else None,
            "savings": round(self.savings, 4) if self.savings is not None else None,
            "currency": self.currency,
        }


def _kwh(wh: float | None) -> float | None:
    return round(wh / 1000, 4) if wh is not None else None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """Something that happened: a mode change, a fault, failsafe entry/exit, charge-now start/end."""

    time: datetime
    kind: str
    message: str
    loadpoint: str | None = None
    id: int | None = field(default=None, compare=False)
