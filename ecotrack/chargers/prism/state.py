"""What a Prism reports, and how its current limit is lowered in stages (pure, no I/O).

The Prism tolerates a car drawing up to 10 % above its limit; more stops the charge. A car takes a
moment to follow a lower pilot signal, so cutting 16 A straight to 6 A could trip a slow car. The limit
is therefore lowered in stages: each stage is at least the car's *measured* current divided by
``ratio`` (1.08 by default), and the next stage is computed when the next measurement shows the car
followed. A car that already draws little gets the target at once. Raises and pauses are never staged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from ecotrack.core.model import ChargerReading
from ecotrack.transport.mqtt.payloads import Bad, to_number

__all__ = [
    "PRISM_MAX_A",
    "PRISM_MIN_A",
    "PrismMode",
    "PrismState",
    "PrismStatus",
    "format_amps",
    "next_stage",
]

#: The Prism clamps its limit to this range; below the minimum the driver pauses instead.
PRISM_MIN_A = 6.0
PRISM_MAX_A = 32.0

#: Most unknown status keys kept (newer firmware adds a few; 20,000 random ones are an attack).
MAX_EXTRA_KEYS = 32

#: Plausible range of each numeric status value (issue 12: ``prism/1/w 1e308`` became 1.5e303 Wh). A
#: current is at most twice the Prism's maximum, a power at most three phases at 300 V of that.
_RANGES: dict[str, tuple[float, float]] = {
    "amp": (0.0, 2 * PRISM_MAX_A * 1000.0),  # mA
    "pilot": (0.0, 2 * PRISM_MAX_A),
    "user_amp": (0.0, 2 * PRISM_MAX_A),
    "w": (-3 * 300.0 * 2 * PRISM_MAX_A, 3 * 300.0 * 2 * PRISM_MAX_A),
    "volt": (0.0, 500.0),
    "session_time": (0.0, 10 * 365 * 86400.0),
    "wh": (0.0, 1e7),
    "wh_total": (0.0, 1e10),
    "error": (0.0, 1e6),
    "mode": (0.0, 255.0),
}


class PrismState(IntEnum):
    """``<base>/<port>/state``."""

    IDLE = 1
    WAITING = 2  #: car connected, not charging
    CHARGING = 3
    PAUSE = 4


class PrismMode(IntEnum):
    """``<base>/<port>/mode`` and the ``set_mode`` command."""

    SOLAR = 1
    NORMAL = 2
    PAUSE = 3
    HYBRID = 4
    AUTOLIMIT = 7  #: paused by the Prism's own load balancing


def format_amps(amps: float) -> str:
    """A limit as the Prism wants it: amps with one decimal (``"9.6"``)."""
    return f"{amps:.1f}"


def _ceil_tenth(value: float) -> float:
    return math.ceil(round(value * 10.0, 6)) / 10.0


def next_stage(limit_a: float | None, target_a: float, actual_a: float, ratio: float) -> float:
    """The next limit to send on the way from ``limit_a`` down to ``target_a``.

    ``limit_a`` is the limit the Prism has now (None when unknown: the target is sent at once), ``actual_a``
    the car's measured current. The result is never above ``limit_a`` and never below ``target_a``; it
    equals ``limit_a`` when the car has not followed far enough for another stage yet.
    """
    if limit_a is None or target_a >= limit_a:
        return target_a
    floor = _ceil_tenth(actual_a / ratio)
    return min(limit_a, max(target_a, floor))


@dataclass(slots=True)
class PrismStatus:
    """The Prism's last reported values (from retained MQTT topics or a ubus ``get_status``)."""

    state: int | None = None
    mode: int | None = None
    volt: float | None = None
    w: float | None = None
    amp_ma: float | None = None
    pilot: float | None = None
    user_amp: float | None = None
    session_time_s: float | None = None
    wh: float | None = None
    wh_total: float | None = None
    error: int = 0
    #: The setpoint the Prism reports (ubus ``current_max``); MQTT does not report it, only ``pilot``.
    limit_a: float | None = None
    firmware: str | None = None
    phases: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    #: MQTT topic suffix -> (attribute, integer?)
    TOPICS: ClassVar[dict[str, tuple[str, bool]]] = {
        "state": ("state", True),
        "mode": ("mode", True),
        "volt": ("volt", False),
        "w": ("w", False),
        "amp": ("amp_ma", False),
        "pilot": ("pilot", False),
        "user_amp": ("user_amp", False),
        "session_time": ("session_time_s", False),
        "wh": ("wh", False),
        "wh_total": ("wh_total", False),
        "error": ("error", True),
    }

    def apply(self, key: str, payload: bytes) -> Bad | None:
        """Store the value of topic ``<base>/<port>/<key>``; Bad (nothing changed) when it is not usable.

        Unknown keys (newer firmware) are kept as text in ``extra`` and not an error, at most
        :data:`MAX_EXTRA_KEYS` of them (more are ignored: a device must not make us keep without end).
        A value outside its plausible range is Bad like a malformed one.
        """
        spec = self.TOPICS.get(key)
        if spec is None:
            if len(payload) <= 256 and (key in self.extra or len(self.extra) < MAX_EXTRA_KEYS):
                self.extra[key] = payload.decode("utf-8", "replace")
            return None
        attr, integer = spec
        number = to_number(payload)
        if isinstance(number, Bad):
            return Bad(f"{key}: {number.reason}")
        if number < 0 and key != "w":
            return Bad(f"{key}: negative value {number}")
        lo, hi = _RANGES.get(key, (-math.inf, math.inf))
        if not lo <= number <= hi:
            return Bad(f"{key}: {number:g} is outside the plausible range {lo:g}..{hi:g}")
        if integer:
            if number != int(number):
                return Bad(f"{key}: expected an integer, got {number}")
            if key == "state" and int(number) not in (1, 2, 3, 4):
                return Bad(f"state: unknown value {int(number)} (expected 1-4)")
            setattr(self, attr, int(number))
        else:
            setattr(self, attr, number)
        return None

    @property
    def actual_a(self) -> float:
        """Measured current (A)."""
        return (self.amp_ma or 0.0) / 1000.0

    @property
    def connected(self) -> bool:
        """A car is plugged in (waiting, charging or paused)."""
        return self.state in (PrismState.WAITING, PrismState.CHARGING, PrismState.PAUSE)

    @property
    def charging(self) -> bool:
        """Current flows to the car."""
        return self.state == PrismState.CHARGING

    def reading(self, t_s: float, online: bool, phases: int) -> ChargerReading:
        """The engine's view of this status at ``t_s``."""
        actual = self.actual_a if self.charging else 0.0
        offered: float | None
        if self.mode == PrismMode.PAUSE or self.state == PrismState.PAUSE:
            offered = 0.0
        else:
            offered = self.limit_a if self.limit_a is not None else self.pilot
        return ChargerReading(
            t_s=t_s,
            connected=self.connected,
            charging=self.charging and actual > 0.0,
            actual_a=actual,
            power_w=self.w if self.w is not None and self.charging else (0.0 if self.w is not None else None),
            voltage_v=self.volt if self.volt is not None and 100.0 <= self.volt <= 480.0 else None,
            offered_a=offered,
            online=online and self.state is not None,
        )

    def details(self) -> dict[str, object]:
        """Facts for the state view: energy counters, firmware, mode."""
        out: dict[str, object] = {}
        if self.wh_total is not None:
            out["lifetime_kwh"] = round(self.wh_total / 1000.0, 3)
        if self.wh is not None:
            out["session_wh"] = self.wh
        if self.session_time_s is not None:
            out["session_time_s"] = self.session_time_s
        if self.volt is not None:
            out["voltages_v"] = [self.volt]
        if self.mode is not None:
            out["prism_mode"] = self.mode
        if self.firmware:
            out["firmware"] = self.firmware
        if self.error:
            out["prism_error"] = self.error
        return out
