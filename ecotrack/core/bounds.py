"""Plausible ranges for what devices report, and a per-source rate limit for saying they did not.

A finite but absurd value (a charger reporting 1e308 W, a meter -1e12 W) is as wrong as a malformed
frame: it must be rejected before it reaches the control core or a session's energy, not stored as
1.5e303 Wh. The bounds are generous — they catch garbage, not an unusual but real site — and derived
from what the configuration says:

* a charger's current may not exceed :data:`CURRENT_MARGIN` × its maximum (a car draws what it is
  offered, a meter reads a few percent high; twice the maximum is never a real reading);
* its power may not exceed phases × :data:`MAX_PHASE_VOLTAGE_V` × that current bound;
* a site meter's powers may not exceed :data:`MAX_SITE_POWER_W` (1 MW: a large farm; a house has a
  main fuse of at most a few hundred amps);
* an energy counter (a charger's lifetime meter) never goes backwards — a lower value is a reset, not
  negative energy — and never grows faster than the power bound allows over the time elapsed.

Everything here is pure (times are passed in) so the house, the drivers and the tests share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecotrack.core.model import ChargerReading, MeterReading

__all__ = [
    "CURRENT_MARGIN",
    "MAX_PHASE_VOLTAGE_V",
    "MAX_SITE_POWER_W",
    "ChargerBounds",
    "EnergyCounter",
    "LogLimiter",
    "charger_reading_problem",
    "meter_reading_problem",
]

#: A charger's reported current may be at most this many times its maximum.
CURRENT_MARGIN = 2.0
#: Highest plausible phase (line-to-neutral) voltage; 230 V +10 % is 253 V, US split phase 240 V.
MAX_PHASE_VOLTAGE_V = 300.0
#: Highest plausible voltage a device may report at all (line-to-line of a 400 V supply, with margin).
MAX_REPORTED_VOLTAGE_V = 500.0
#: Highest plausible power through a site meter (W).
MAX_SITE_POWER_W = 1_000_000.0
#: Highest plausible current per phase through a site meter (A): the power bound at the lowest voltage.
MAX_SITE_CURRENT_A = MAX_SITE_POWER_W / 100.0
#: An energy counter may grow at most this much faster than the power bound (clock jitter, rounding).
ENERGY_RATE_MARGIN = 1.5


@dataclass(frozen=True, slots=True)
class ChargerBounds:
    """The plausible range of one charger's reports, from its maximum current and phase count."""

    max_a: float
    phases: int = 1

    @property
    def current_a(self) -> float:
        """Largest plausible current per phase (A)."""
        return CURRENT_MARGIN * max(self.max_a, 6.0)

    @property
    def power_w(self) -> float:
        """Largest plausible power (W)."""
        return max(self.phases, 1) * MAX_PHASE_VOLTAGE_V * self.current_a


def _out_of(value: float | None, name: str, lo: float, hi: float, unit: str) -> str | None:
    """A sentence when ``value`` is not a finite number within ``lo..hi`` (None is fine: not measured)."""
    if value is None:
        return None
    if not math.isfinite(value):
        return f"{name} {value!r} is not a finite number"
    if not lo <= value <= hi:
        return f"{name} {value:g} {unit} is outside the plausible range {lo:g}..{hi:g} {unit}"
    return None


def charger_reading_problem(reading: ChargerReading, bounds: ChargerBounds) -> str | None:
    """Why ``reading`` cannot be a real charger report, or None when it is plausible."""
    amps = bounds.current_a
    watts = bounds.power_w
    checks = (
        _out_of(reading.actual_a, "current", -amps, amps, "A"),
        _out_of(reading.offered_a, "offered current", 0.0, amps, "A"),
        _out_of(reading.power_w, "power", -watts, watts, "W"),
        _out_of(reading.t_s, "time", -math.inf, math.inf, "s"),
    )
    # The voltage is left out: an implausible one already falls back to the site's (core/power.py).
    return next((c for c in checks if c is not None), None)


def meter_reading_problem(reading: MeterReading, max_power_w: float = MAX_SITE_POWER_W) -> str | None:
    """Why ``reading`` cannot be a real meter reading, or None when it is plausible."""
    checks: list[str | None] = [
        _out_of(reading.grid_w, "grid power", -max_power_w, max_power_w, "W"),
        _out_of(reading.pv_w, "PV power", -max_power_w, max_power_w, "W"),
        _out_of(reading.battery_w, "battery power", -max_power_w, max_power_w, "W"),
        _out_of(reading.battery_soc_pct, "battery state of charge", -1.0, 101.0, "%"),
        _out_of(reading.voltage_v, "voltage", -1.0, MAX_REPORTED_VOLTAGE_V, "V"),
        _out_of(reading.t_s, "time", -math.inf, math.inf, "s"),
    ]
    current_bound = max_power_w / 100.0
    # A phase a device does not measure may come as NaN (it is dropped where phases are shown); a finite
    # absurd one is garbage.
    for i, v in enumerate(reading.voltages_v or ()):
        if math.isfinite(v):
            checks.append(_out_of(v, f"voltage L{i + 1}", -1.0, MAX_REPORTED_VOLTAGE_V, "V"))
    for i, a in enumerate(reading.currents_a or ()):
        if math.isfinite(a):
            checks.append(_out_of(a, f"current L{i + 1}", -current_bound, current_bound, "A"))
    return next((c for c in checks if c is not None), None)


class EnergyCounter:
    """Follows a cumulative energy counter (Wh) and accepts only plausible steps.

    :meth:`accept` returns the value to use, or None for a value to ignore: not finite, negative, or
    grown faster than ``max_power_w`` allows since the last accepted value. A value below the last one
    is a counter reset (a replaced unit, a firmware update): it is accepted as the new base, never
    turned into negative energy.
    """

    def __init__(self, max_power_w: float) -> None:
        self.max_power_w = max_power_w
        self.value_wh: float | None = None
        self._t_s: float | None = None
        #: Resets seen (a counter that went backwards).
        self.resets = 0

    def accept(self, value_wh: float, t_s: float) -> float | None:
        """``value_wh`` at clock time ``t_s`` when plausible, else None (see the class docstring)."""
        if not math.isfinite(value_wh) or value_wh < 0 or value_wh > 1e12:
            return None
        last, last_t = self.value_wh, self._t_s
        if last is not None and last_t is not None:
            if value_wh < last:
                self.resets += 1
            else:
                elapsed = max(t_s - last_t, 0.0)
                # A counter that reports in whole kWh may jump by one unit at once: allow 1 kWh of slack.
                allowed = self.max_power_w * elapsed / 3600.0 * ENERGY_RATE_MARGIN + 1000.0
                if value_wh - last > allowed:
                    return None
        self.value_wh, self._t_s = value_wh, t_s
        return value_wh


class LogLimiter:
    """At most one line per key (a source) per ``interval_s`` clock seconds; counts what it held back."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str, now_s: float) -> int | None:
        """None when a line for ``key`` must be held back; otherwise how many were held back before it."""
        last = self._last.get(key)
        if last is not None and now_s - last < self.interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        if len(self._last) > 10_000:  # keys are device names; never let garbage grow this without end
            self._last.clear()
            self._held.clear()
        self._last[key] = now_s
        return self._held.pop(key, 0)
