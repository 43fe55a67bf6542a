"""Snapshot → retained status topics, with a per-topic deadband and rate limit.

:func:`site_values` and :func:`loadpoint_values` turn a :class:`~ecotrack.runtime.snapshot.Snapshot` into
``{topic below the prefix: value}``; :class:`Throttle` decides what to publish (pure, time passed in):

* a numeric topic is published when it moved by at least its deadband (by unit suffix: ``_w``, ``_a``,
  ``_wh``, ``_v``; per-topic overrides) since the value last published; other values on any change;
* a topic is published at most every ``min_interval_s``; a change that arrives sooner is held and the
  latest held value goes out when the interval has passed (:meth:`Throttle.due`), so the last word is
  never lost;
* :meth:`Throttle.current` gives everything for a republish after a reconnect.

Missing values are published as ``None`` (Home Assistant's "unknown"); an empty retained payload would
delete the topic instead.

:func:`seed_status` builds the seed program's ``stat/prism/status`` JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecotrack.core.model import Mode
from ecotrack.services.mqtt.commands import topic_id
from ecotrack.services.mqtt.config import MqttStatusConfig

if TYPE_CHECKING:
    from ecotrack.runtime.snapshot import LoadpointSnapshot, Snapshot

__all__ = ["Throttle", "Value", "format_value", "loadpoint_values", "seed_status", "site_values"]

Value = float | int | bool | str | None

#: Decimals per unit suffix when formatting.
_DECIMALS = {"_w": 0, "_wh": 0, "_a": 1, "_v": 1, "_pct": 1, "_kwh": 3, "_s": 0}


def format_value(key: str, value: Value) -> str:
    """The payload of ``value`` for topic ``key``: numbers rounded by unit, bools ``true``/``false``."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return "None"
        for suffix, decimals in _DECIMALS.items():
            if key.endswith(suffix):
                number = round(float(value), decimals)
                return str(int(number)) if decimals == 0 else f"{number:.{decimals}f}"
        return f"{value:g}"
    return str(value)


def site_values(snap: Snapshot) -> dict[str, Value]:
    """``site/<key>`` values."""
    return {
        "site/grid_w": snap.grid_w,
        "site/pv_w": snap.pv_w,
        "site/battery_w": snap.battery_w,
        "site/battery_soc_pct": snap.battery_soc_pct,
        "site/voltage_v": snap.voltage_v,
        "site/surplus_w": snap.surplus_w,
        "site/failsafe": snap.failsafe,
    }


def loadpoint_values(lp: LoadpointSnapshot) -> dict[str, Value]:
    """``loadpoints/<id>/<key>`` values of one loadpoint."""
    base = f"loadpoints/{topic_id(lp.name)}/"
    session = lp.session
    charge_now = lp.charge_now
    values: dict[str, Value] = {
        "mode": lp.user_mode.value,
        "mode_in_force": lp.mode.value,
        "active_rule": lp.active_rule,
        "status": lp.status,
        "reason": lp.reason,
        "commanded_a": lp.commanded_a,
        "offered_a": lp.offered_a,
        "actual_a": lp.actual_a,
        "power_w": lp.power_w,
        "connected": lp.connected,
        "charging": lp.charging,
        "charger_online": lp.charger_online,
        "charger_error": lp.charger_error or "",
        "min_a": lp.min_a,
        "max_a": lp.max_a,
        "limit_min_a": lp.limit_min_a,
        "limit_max_a": lp.limit_max_a,
        "phases": lp.phases,
        "phases_choice": lp.phases_choice or "",
        "phase_switching": lp.phase_switching or "",
        "energy_limit_kwh": lp.energy_limit_wh / 1000.0 if lp.energy_limit_wh is not None else 0.0,
        "charge_now": _charge_now_json(charge_now),
        "session_energy_wh": session.energy_wh if session is not None else 0.0,
        "session_solar_wh": session.solar_wh if session is not None else 0.0,
    }
    values.update(_vehicle_values(lp.details))
    return {base + key: value for key, value in values.items()}


def _vehicle_values(details: dict[str, object]) -> dict[str, Value]:
    """The car's values (``vehicle``, ``vehicle_soc_pct``, ...) when a vehicle is on the loadpoint."""
    name = details.get("vehicle")
    if not isinstance(name, str):
        return {}
    out: dict[str, Value] = {"vehicle": name}
    for key, topic in (
        ("soc_pct", "vehicle_soc_pct"),
        ("charge_limit_pct", "vehicle_charge_limit_pct"),
        ("range_km", "vehicle_range_km"),
        ("vehicle_plugged_in", "vehicle_plugged_in"),
        ("vehicle_at_home", "vehicle_at_home"),
    ):
        value = details.get(key)
        out[topic] = value if isinstance(value, int | float | bool) else None
    return out


def _charge_now_json(request: object) -> str:
    if request is None:
        return "off"
    amps = getattr(request, "amps", None)
    until = getattr(request, "until", None)
    return json.dumps({"amps": amps, "until": until.isoformat() if until is not None else None})


@dataclass(slots=True)
class _TopicState:
    sent_value: Value = None
    sent_payload: str | None = None
    sent_t: float = -math.inf
    pending: tuple[Value, str] | None = None


class Throttle:
    """Deadband + rate limit per topic (see the module docstring)."""

    def __init__(self, config: MqttStatusConfig) -> None:
        self.config = config
        self._topics: dict[str, _TopicState] = {}

    def deadband(self, key: str) -> float:
        """The deadband of topic ``key`` (0: any change)."""
        cfg = self.config
        if key in cfg.deadbands:
            return cfg.deadbands[key]
        for suffix, band in (
            ("_wh", cfg.deadband_wh),
            ("_w", cfg.deadband_w),
            ("_a", cfg.deadband_a),
            ("_v", cfg.deadband_v),
        ):
            if key.endswith(suffix):
                return band
        return 0.0

    def _significant(self, key: str, state: _TopicState, value: Value, payload: str) -> bool:
        if state.sent_payload is None:
            return True
        if payload == state.sent_payload:
            return False
        old = state.sent_value
        numeric = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and isinstance(old, int | float)
            and not isinstance(old, bool)
            and math.isfinite(value)
            and math.isfinite(old)
        )
        if not numeric:
            return True
        assert isinstance(value, int | float) and isinstance(old, int | float)
        band = self.deadband(key)
        # Crossing zero (a car starting or stopping) is always news.
        if (old == 0) != (value == 0):
            return True
        return abs(value - old) >= band

    def update(self, values: dict[str, Value], now_s: float) -> list[tuple[str, str]]:
        """``(key, payload)`` to publish now for new ``values``; held changes go out via :meth:`due`."""
        out: list[tuple[str, str]] = []
        for key, value in values.items():
            payload = format_value(key, value)
            state = self._topics.setdefault(key, _TopicState())
            if not self._significant(key, state, value, payload):
                state.pending = None
                continue
            if now_s - state.sent_t >= self.config.min_interval_s:
                self._mark(state, value, payload, now_s)
                out.append((key, payload))
            else:
                state.pending = (value, payload)
        return out

    def due(self, now_s: float) -> list[tuple[str, str]]:
        """Held changes whose interval has passed."""
        out: list[tuple[str, str]] = []
        for key, state in self._topics.items():
            if state.pending is not None and now_s - state.sent_t >= self.config.min_interval_s:
                value, payload = state.pending
                self._mark(state, value, payload, now_s)
                out.append((key, payload))
        return out

    def current(self) -> list[tuple[str, str]]:
        """Every topic's latest payload (held ones included), for a republish after reconnecting."""
        out: list[tuple[str, str]] = []
        for key, state in self._topics.items():
            if state.pending is not None:
                out.append((key, state.pending[1]))
            elif state.sent_payload is not None:
                out.append((key, state.sent_payload))
        return out

    def forget(self, keys: set[str]) -> None:
        """Drop topics (a republish must not resurrect them)."""
        for key in keys:
            self._topics.pop(key, None)

    @staticmethod
    def _mark(state: _TopicState, value: Value, payload: str, now_s: float) -> None:
        state.sent_value = value
        state.sent_payload = payload
        state.sent_t = now_s
        state.pending = None


def _seed_mode(lp: LoadpointSnapshot) -> str:
    """The seed's word for the loadpoint's state: auto, eco, full, a number of amps, pause."""
    if lp.charge_now is not None:
        return "full" if lp.charge_now.amps is None else f"{lp.charge_now.amps:g}"
    return {Mode.MINPV: "auto", Mode.PV: "eco", Mode.NOW: "full", Mode.OFF: "pause"}[lp.user_mode]


def seed_status(lp: LoadpointSnapshot, voltage_v: float | None, session_s: float | None) -> dict[str, object]:
    """The seed program's ``stat/prism/status`` object for ``lp``."""
    session = lp.session
    energy_kwh = session.energy_wh / 1000.0 if session is not None else 0.0
    period = "00:00:00"
    if session_s is not None and session_s >= 0:
        seconds = int(session_s)
        period = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return {
        "status": "charging" if lp.charging else ("waiting" if lp.connected else "idle"),
        "cmax": lp.commanded_a,
        "mode": _seed_mode(lp),
        "enabled": lp.mode is not Mode.OFF,
        "energy": f"{energy_kwh:.1f}kW.h",
        "period": period,
        "limit": lp.energy_limit_wh / 1000.0 if lp.energy_limit_wh is not None else None,
        "current": round(lp.actual_a, 1),
        "voltage": round(voltage_v, 1) if voltage_v is not None else None,
        "power": round(lp.power_w),
    }
