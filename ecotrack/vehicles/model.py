"""A car's state as its source reports it, and the bounds every reported value must respect (pure).

Every value comes from outside (a bridge, a cloud API) and can be junk: a state of charge of 140 %,
a latitude of 500, ``"nan"``. :func:`apply` takes a partial update and keeps only the values that
pass their bounds; what fails is named in the returned list of rejections, and the previous value
stays. No function here does I/O or reads a clock: the time of an update is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ecotrack.transport.mqtt.payloads import Bad, to_number

__all__ = [
    "FIELDS",
    "Home",
    "VehicleState",
    "apply",
    "distance_m",
    "parse_bool",
    "parse_number",
    "state_facts",
]

#: Largest plausible range of a car (km): anything above is junk.
MAX_RANGE_KM = 2000.0
#: Largest plausible battery (kWh).
MAX_CAPACITY_KWH = 500.0
#: Longest geofence name kept.
MAX_TEXT = 100


@dataclass(frozen=True, slots=True)
class Home:
    """Where the site is, for deciding ``at_home`` from coordinates or a geofence name."""

    latitude: float | None = None
    longitude: float | None = None
    radius_m: float = 150.0
    #: Geofence names (as the bridge reports them, compared case-insensitively) that mean "at home".
    geofences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VehicleState:
    """What is known of one car; None where the source has not said (or said junk)."""

    soc_pct: float | None = None
    charge_limit_pct: float | None = None
    plugged_in: bool | None = None
    charging: bool | None = None
    at_home: bool | None = None
    range_km: float | None = None
    capacity_kwh: float | None = None
    #: The current the car's charger draws (A per phase), when the source reports it.
    current_a: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    geofence: str | None = None
    #: The car's own state word (``online``, ``asleep``, ``charging``, ...), as reported.
    status: str | None = None
    #: Wall time (aware) of the last accepted value, or None before the first.
    updated_at: datetime | None = None

    @property
    def soc_known(self) -> bool:
        """Whether a state of charge has been reported."""
        return self.soc_pct is not None


def parse_number(value: Any) -> float | None:
    """A finite float from a JSON number or numeric text; None for anything else (booleans included).

    The same rule as the meters' MQTT payloads (:func:`ecotrack.transport.mqtt.payloads.to_number`),
    without the reason: a vehicle source only needs to know the value is unusable.
    """
    number = to_number(value)
    return None if isinstance(number, Bad) else number


_TRUE = frozenset({"true", "1", "on", "yes", "connected", "plugged", "plugged_in"})
_FALSE = frozenset({"false", "0", "off", "no", "disconnected", "unplugged"})


def parse_bool(value: Any) -> bool | None:
    """True/False from a JSON boolean, 0/1 or the usual words (``true``, ``on``, ``yes``); None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str | bytes):
        text = (value.decode("utf-8", "replace") if isinstance(value, bytes) else value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _bounded(lo: float, hi: float) -> Any:
    def check(value: Any) -> float | None:
        number = parse_number(value)
        return number if number is not None and lo <= number <= hi else None

    return check


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text[:MAX_TEXT] if text and text.isprintable() else None


#: Each settable field and its check (a value, or None for junk).
FIELDS: Mapping[str, Any] = {
    "soc_pct": _bounded(0.0, 100.0),
    "charge_limit_pct": _bounded(0.0, 100.0),
    "plugged_in": parse_bool,
    "charging": parse_bool,
    "at_home": parse_bool,
    "range_km": _bounded(0.0, MAX_RANGE_KM),
    "capacity_kwh": _bounded(1.0, MAX_CAPACITY_KWH),
    "current_a": _bounded(0.0, 100.0),
    "latitude": _bounded(-90.0, 90.0),
    "longitude": _bounded(-180.0, 180.0),
    "geofence": _text,
    "status": _text,
}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points (m, haversine on a 6,371 km sphere)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(a)))


def _at_home(state: VehicleState, home: Home | None) -> bool | None:
    """At home from the geofence name or from the coordinates (None when neither tells)."""
    if home is None:
        return state.at_home
    if state.geofence is not None and state.geofence.casefold() in {g.casefold() for g in home.geofences}:
        return True
    if (
        home.latitude is not None
        and home.longitude is not None
        and state.latitude is not None
        and state.longitude is not None
    ):
        return distance_m(home.latitude, home.longitude, state.latitude, state.longitude) <= home.radius_m
    if home.geofences and state.geofence is not None:
        return False
    return state.at_home


def apply(
    state: VehicleState, update: Mapping[str, Any], now: datetime, home: Home | None = None
) -> tuple[VehicleState, list[str]]:
    """``state`` with the valid values of ``update``; and a reason for each value that was rejected.

    A key whose value is None clears that field (the source says "unknown", e.g. an empty geofence).
    Unknown keys are rejected. ``at_home`` is then derived from the geofence or the coordinates when
    ``home`` tells how (a source's own ``at_home`` is kept otherwise). ``updated_at`` becomes ``now``
    when at least one value was accepted.
    """
    changes: dict[str, Any] = {}
    rejected: list[str] = []
    for key, raw in update.items():
        check = FIELDS.get(key)
        if check is None:
            rejected.append(f"{key}: not a vehicle field")
            continue
        if raw is None:
            changes[key] = None
            continue
        value = check(raw)
        if value is None:
            rejected.append(f"{key}: implausible value {str(raw)[:40]!r}")
            continue
        changes[key] = value
    if not changes:
        return state, rejected
    new = replace(state, **changes, updated_at=now)
    derived = _at_home(new, home)
    if derived != new.at_home:
        new = replace(new, at_home=derived)
    return new, rejected


def state_facts(name: str, state: VehicleState) -> dict[str, object]:
    """The state as flat JSON-friendly facts (merged into a loadpoint's details for the API and rules)."""
    return {
        "vehicle": name,
        "soc_pct": state.soc_pct,
        "charge_limit_pct": state.charge_limit_pct,
        "vehicle_plugged_in": state.plugged_in,
        "vehicle_charging": state.charging,
        "vehicle_at_home": state.at_home,
        "range_km": state.range_km,
        "capacity_kwh": state.capacity_kwh,
        "vehicle_updated_at": state.updated_at.isoformat() if state.updated_at is not None else None,
    }
