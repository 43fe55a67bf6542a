"""A charger with a simulated car behind it, running on the injected clock.

It behaves like a well-mannered real wallbox: commands are clamped to its own
maximum, nonsense (NaN, negative, infinite) is rejected with a log line and
changes nothing, the car follows the offer with the lag of
:class:`~ecotrack.world.car.Car`, and the charger reports its state every
``report_interval_s`` rather than on every change (so the engine sees the same
measurement delay it will see with real hardware). It registers itself in the
:class:`~ecotrack.chargers.base.SimulatedWorld` so a replay meter includes its
power in the grid reading.

With ``switch_phases`` it has a 1p/3p contactor (the ``phases`` capability): :meth:`set_phases` refuses
while the car draws current (IEC 61851 forbids switching under load; the engine pauses first), otherwise
the contactor moves ``phase_switch_delay_s`` later, and the reports carry the phase count in use.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.clock import Clock, RealClock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext
from ecotrack.world.car import Car, CarParams

log = logging.getLogger(__name__)

#: The car model advances at least this often (clock seconds).
_MAX_STEP_S = 0.5
#: How many of the last commands :attr:`SimulatedCharger.commands` keeps.
COMMAND_HISTORY = 1000


class SimulatedCharger(Charger):
    """A simulated wallbox plus car."""

    def __init__(
        self,
        name: str,
        clock: Clock | None = None,
        *,
        max_a: float = 32.0,
        phases: int = 1,
        voltage_v: float = 230.0,
        car_connected: bool = True,
        car: CarParams | None = None,
        report_interval_s: float = 1.0,
        step_a: float = 1.0,
        switch_phases: bool = False,
        phase_switch_delay_s: float = 2.0,
    ) -> None:
        super().__init__(name)
        if not max_a > 0 or phases not in (1, 2, 3) or not voltage_v > 0 or not report_interval_s > 0:
            raise ValueError(
                f"charger {name!r}: bad parameters max_a={max_a}, phases={phases}, "
                f"voltage_v={voltage_v}, report_interval_s={report_interval_s}"
            )
        self.clock = clock if clock is not None else RealClock()
        self.max_a = float(max_a)
        self.step_a = float(step_a)
        self.phases = phases
        self.voltage_v = float(voltage_v)
        self.report_interval_s = float(report_interval_s)
        self.car = Car(car)
        self.car_connected = car_connected
        #: The current signalled to the car (A), after clamping.
        self.offered_a = 0.0
        #: The last accepted commands, in order (tests check "sent only on change" with it); bounded, so
        #: a demo that loops for days does not grow it forever.
        self.commands: deque[float] = deque(maxlen=COMMAND_HISTORY)
        #: Commands rejected as invalid.
        self.rejected = 0
        self._last_step_s: float | None = None
        #: 1p/3p contactor: the capability, how long it takes to move, and a switch under way (count, due at).
        self.can_switch_phases = bool(switch_phases)
        self.phase_switch_delay_s = max(0.0, float(phase_switch_delay_s))
        self._phase_switch: tuple[int, float] | None = None
        #: Phase switches made (for tests and the demo).
        self.phase_switches = 0

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> SimulatedCharger:
        """Build from a ``SimulatedChargerConfig`` and register in the simulated world."""
        car = CarParams(
            max_a=float(getattr(config, "car_max_a", 32.0)),
            start_delay_s=float(getattr(config, "start_delay_s", 5.0)),
            ramp_a_per_s=float(getattr(config, "ramp_a_per_s", 3.0)),
        )
        charger = cls(
            name,
            context.clock,
            max_a=float(getattr(config, "max_a", 32.0)),
            phases=int(getattr(config, "phases", 1)),
            voltage_v=float(getattr(config, "voltage_v", 230.0)),
            car_connected=bool(getattr(config, "car_connected", True)),
            car=car,
            report_interval_s=float(getattr(config, "report_interval_s", 1.0)),
            step_a=float(getattr(config, "step_a", 1.0)),
            switch_phases=bool(getattr(config, "switch_phases", False)),
            phase_switch_delay_s=float(getattr(config, "phase_switch_delay_s", 2.0)),
        )
        context.world.add(charger)
        return charger

    # -- what the world sees -------------------------------------------------
    def power_w(self) -> float:
        """Power the car draws now (W): measured amps x voltage x phases."""
        self._advance()
        return self.car.actual_a * self.voltage_v * self.phases

    def plug(self, connected: bool) -> None:
        """Connect or disconnect the car (demo and tests)."""
        self._advance()
        self.car_connected = connected
        if not connected:
            self.car.step(0.0, 0.0)

    # -- driver interface ----------------------------------------------------
    async def set_current(self, amps: float) -> None:
        """Offer ``amps`` (clamped to ``0..max_a``); NaN, infinite or negative values are rejected."""
        if not isinstance(amps, int | float) or math.isnan(amps) or math.isinf(amps) or amps < 0:
            self.rejected += 1
            log.warning("charger %s: rejected command %r A (keeping %.1f A)", self.name, amps, self.offered_a)
            return
        value = min(float(amps), self.max_a)
        if value != amps:
            log.warning("charger %s: command %.1f A clamped to its maximum %.1f A", self.name, amps, value)
        self._advance()
        self.offered_a = value
        self.commands.append(value)
        # A cut takes effect at once (the car never draws above the offer); a raise follows the car's lag.
        self.car.step(0.0, value if self.car_connected else 0.0)

    async def set_phases(self, phases: int) -> None:
        """Move the contactor to ``phases`` (1 or 3) after ``phase_switch_delay_s``.

        Raises ValueError for a charger without the capability, a count other than 1 or 3, or while the
        car still draws or is offered current (a real wallbox refuses to switch under load).
        """
        if not self.can_switch_phases:
            raise ValueError(f"charger {self.name!r} has no phase contactor (switch_phases: false)")
        if phases not in (1, 3) or isinstance(phases, bool):
            raise ValueError(f"charger {self.name!r}: phases must be 1 or 3, got {phases!r}")
        self._advance()
        if self.offered_a > 0.0 or self.car.actual_a > 0.0:
            raise ValueError(
                f"charger {self.name!r}: refusing to switch phases under load "
                f"(offered {self.offered_a:g} A, drawing {self.car.actual_a:g} A)"
            )
        if phases == self.phases:
            self._phase_switch = None
            return
        self._phase_switch = (phases, self.clock.now() + self.phase_switch_delay_s)

    async def run(self) -> None:
        """Advance the car model and report every ``report_interval_s`` until cancelled."""
        self._last_step_s = self.clock.now()
        self.error = None
        next_report = self._last_step_s
        tick = min(_MAX_STEP_S, self.report_interval_s)
        while True:
            self._advance()
            now = self.clock.now()
            if now >= next_report:
                self._publish(self._make_reading(now))
                next_report = max(next_report + self.report_interval_s, now)
            await self.clock.sleep(min(tick, max(0.0, next_report - now)) or tick)

    # -- internals -----------------------------------------------------------
    def _advance(self) -> None:
        """Step the car up to now, in slices of at most ``_MAX_STEP_S`` (the car model wants small steps)."""
        now = self.clock.now()
        if self._last_step_s is None:
            self._last_step_s = now
            return
        dt = now - self._last_step_s
        if dt <= 0.0:
            return
        self._last_step_s = now
        switch = self._phase_switch
        if switch is not None and now >= switch[1]:
            self._phase_switch = None
            if self.offered_a == 0.0 and self.car.actual_a == 0.0:
                self.phases = switch[0]
                self.phase_switches += 1
        offer = self.offered_a if self.car_connected else 0.0
        while dt > 0.0:
            slice_s = min(dt, _MAX_STEP_S)
            self.car.step(slice_s, offer)
            dt -= slice_s

    def _make_reading(self, now: float) -> ChargerReading:
        actual = self.car.actual_a if self.car_connected else 0.0
        return ChargerReading(
            t_s=now,
            connected=self.car_connected,
            charging=actual > 0.0,
            actual_a=actual,
            power_w=actual * self.voltage_v * self.phases,
            voltage_v=self.voltage_v,
            offered_a=self.offered_a,
            phases=self.phases if self.can_switch_phases else None,
        )
