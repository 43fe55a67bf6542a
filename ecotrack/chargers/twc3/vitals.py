"""The Gen3 Wall Connector's local API answers, parsed and bounded (pure: no I/O).

``GET /api/1/vitals`` (documented by the community; Tesla publishes no reference)::

    {"contactor_closed": true, "vehicle_connected": true, "session_s": 3512, "grid_v": 231.4,
     "grid_hz": 49.98, "vehicle_current_a": 15.9, "currentA_a": 15.9, "currentB_a": 15.8,
     "currentC_a": 15.9, "currentN_a": 0.1, "voltageA_v": 231.0, "voltageB_v": 230.2,
     "voltageC_v": 232.1, "pcba_temp_c": 31.2, "handle_temp_c": 24.0, "mcu_temp_c": 38.5,
     "uptime_s": 831580, "session_energy_wh": 10540.2, "config_status": 5, "evse_state": 11,
     "current_alerts": []}

``GET /api/1/lifetime`` has ``energy_wh`` (delivered over the charger's life), ``charge_starts``,
``contactor_cycles`` and so on. ``evse_state`` is a number whose meaning Tesla does not publish;
it is passed through for display only, the state is taken from ``vehicle_connected`` and
``contactor_closed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["LifetimeError", "Vitals", "VitalsError", "parse_lifetime", "parse_vitals"]

MAX_A = 100.0
MAX_V = 500.0


class VitalsError(ValueError):
    """An answer that is not the documented shape, or a value no Wall Connector reports."""


LifetimeError = VitalsError


@dataclass(frozen=True, slots=True)
class Vitals:
    """What one /api/1/vitals answer says."""

    vehicle_connected: bool
    contactor_closed: bool
    #: Current to the car (A): the highest of vehicle_current_a and the configured phases' currents.
    current_a: float
    currents_a: tuple[float, ...]
    grid_v: float | None
    voltages_v: tuple[float, ...]
    session_energy_wh: float | None
    session_s: float | None
    evse_state: int | None
    alerts: tuple[str, ...]
    temps_c: dict[str, float]


def _number(
    data: dict[str, Any], key: str, low: float, high: float, *, optional: bool = True
) -> float | None:
    value = data.get(key)
    if value is None:
        if optional:
            return None
        raise VitalsError(f"{key}: missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise VitalsError(f"{key}: expected a number, got {str(value)[:40]!r}")
    if not low <= value <= high:
        raise VitalsError(f"{key}: {value:g} is outside the plausible range {low:g}..{high:g}")
    return float(value)


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise VitalsError(f"{key}: expected true or false, got {str(value)[:40]!r}")
    return value


def parse_vitals(data: Any, phases: int = 1) -> Vitals:
    """The :class:`Vitals` in an answer; :class:`VitalsError` for anything else."""
    if not isinstance(data, dict):
        raise VitalsError(f"expected a JSON object, got {type(data).__name__}")
    connected = _flag(data, "vehicle_connected")
    closed = _flag(data, "contactor_closed")
    phase_keys = ("currentA_a", "currentB_a", "currentC_a")[:phases]
    currents = tuple(v for v in (_number(data, k, -1.0, MAX_A) for k in phase_keys) if v is not None)
    currents = tuple(max(c, 0.0) for c in currents)  # a few hundredths below zero: sensor offset
    vehicle = _number(data, "vehicle_current_a", -1.0, MAX_A)
    if not currents and vehicle is None:
        raise VitalsError("neither vehicle_current_a nor currentA_a in the answer")
    # The highest of what it measures: the car's current and each configured phase.
    current = max([*currents, vehicle if vehicle is not None else 0.0, 0.0])
    grid_v = _number(data, "grid_v", 0.0, MAX_V)
    voltages = tuple(
        v
        for v in (_number(data, k, 0.0, MAX_V) for k in ("voltageA_v", "voltageB_v", "voltageC_v")[:phases])
        if v is not None
    )
    state = _number(data, "evse_state", 0.0, 1000.0)
    alerts = data.get("current_alerts", [])
    if not isinstance(alerts, list):
        raise VitalsError("current_alerts: expected a list")
    temps = {
        k: t
        for k in ("pcba_temp_c", "handle_temp_c", "mcu_temp_c")
        if (t := _number(data, k, -60.0, 200.0)) is not None
    }
    return Vitals(
        vehicle_connected=connected,
        contactor_closed=closed,
        current_a=current if closed else 0.0,
        currents_a=currents,
        grid_v=grid_v if grid_v else None,
        voltages_v=voltages if any(voltages) else (),
        session_energy_wh=_number(data, "session_energy_wh", 0.0, 1e6),
        session_s=_number(data, "session_s", 0.0, 1e8),
        evse_state=int(state) if state is not None else None,
        alerts=tuple(str(a)[:80] for a in alerts[:20]),
        temps_c=temps,
    )


def parse_lifetime(data: Any) -> float:
    """The delivered energy (kWh) in a /api/1/lifetime answer."""
    if not isinstance(data, dict):
        raise VitalsError(f"expected a JSON object, got {type(data).__name__}")
    wh = _number(data, "energy_wh", 0.0, 1e10, optional=False)
    assert wh is not None
    return wh / 1000.0
