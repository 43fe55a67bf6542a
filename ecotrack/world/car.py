"""A car behind a charger, as the simulator and the simulated charger see it.

The model is deliberately simple and pessimistic where it matters for control:

* the car **never draws more than the offered current** (a cut takes effect at once);
* after the offer rises it follows with a dead time and then a ramp (amps per second);
* after a pause (offer below the minimum) it needs ``start_delay_s`` before current flows;
* it never draws more than its own on-board charger allows (``max_a``);
* optionally (``capacity_kwh`` set) it has a battery: above ``taper_from_pct`` state of charge it draws
  less and less (the constant-voltage phase of a lithium battery, linear down to 0 A at 100 %), and it
  stops drawing when full. Without a capacity it always wants energy (the benchmarks' assumption, so
  that every figure measures only the controller).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class CarParams:
    """How a simulated car responds to the offered current."""

    max_a: float = 32.0
    #: Below this offer the car does not charge (IEC 61851: 6 A).
    min_a: float = 6.0
    #: Seconds from an offer >= min after a pause until current starts to flow.
    start_delay_s: float = 5.0
    #: Seconds from a raised offer until the car starts to follow it.
    dead_time_s: float = 1.0
    #: How fast the car raises its draw, amps per second.
    ramp_a_per_s: float = 3.0
    #: Usable battery capacity (kWh); None: a battery that never fills.
    capacity_kwh: float | None = None
    #: State of charge at the start (%), with ``capacity_kwh``.
    soc_pct: float = 50.0
    #: Above this state of charge (%) the car draws less and less, down to 0 A at 100 %.
    taper_from_pct: float = 80.0
    #: Watts drawn per amp (volts x phases), to turn amps into energy for the state of charge.
    w_per_a: float = 230.0


class Car:
    """State of one simulated car; call :meth:`step` once per simulated interval."""

    __slots__ = ("_last_offer_a", "_rise_wait_s", "_waiting_s", "actual_a", "params", "soc_pct")

    def __init__(self, params: CarParams | None = None) -> None:
        self.params = params if params is not None else CarParams()
        self.actual_a = 0.0
        self.soc_pct = self.params.soc_pct
        self._waiting_s = 0.0
        self._rise_wait_s = 0.0
        self._last_offer_a = 0.0

    def taper_max_a(self) -> float:
        """The most the car will draw at its state of charge (``max_a`` below the taper, 0 when full)."""
        p = self.params
        if p.capacity_kwh is None or self.soc_pct <= p.taper_from_pct:
            return p.max_a
        if self.soc_pct >= 100.0:
            return 0.0
        return p.max_a * (100.0 - self.soc_pct) / max(100.0 - p.taper_from_pct, 1e-9)

    def step(self, dt_s: float, offered_a: float) -> float:
        """Advance ``dt_s`` seconds under ``offered_a`` and return the current drawn."""
        amps = self._follow(dt_s, offered_a)
        p = self.params
        if p.capacity_kwh is not None:
            cap = self.taper_max_a()
            if amps > cap:
                amps = self.actual_a = cap
            if p.capacity_kwh > 0:
                self.soc_pct = min(100.0, self.soc_pct + amps * p.w_per_a * dt_s / 36_000.0 / p.capacity_kwh)
        return amps

    def _follow(self, dt_s: float, offered_a: float) -> float:
        """The draw of a car that always wants energy: follows the offer with its delays and ramp."""
        p = self.params
        if offered_a < p.min_a:
            self.actual_a = 0.0
            self._waiting_s = 0.0
            self._last_offer_a = offered_a
            return 0.0
        target = offered_a if offered_a < p.max_a else p.max_a
        if self.actual_a <= 0.0:
            # Paused car: it needs the start delay before it draws anything.
            self._waiting_s += dt_s
            if self._waiting_s < p.start_delay_s:
                self._last_offer_a = offered_a
                return 0.0
            self.actual_a = min(p.min_a, target)
            self._rise_wait_s = 0.0
        if offered_a > self._last_offer_a:
            self._rise_wait_s = p.dead_time_s
        self._last_offer_a = offered_a
        if self.actual_a > target:
            self.actual_a = target
        elif self.actual_a < target:
            if self._rise_wait_s > 0.0:
                self._rise_wait_s -= dt_s
            else:
                self.actual_a = min(target, self.actual_a + p.ramp_a_per_s * dt_s)
        return self.actual_a
