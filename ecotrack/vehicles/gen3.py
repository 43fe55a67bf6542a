"""A Gen3 Wall Connector controlled through the car (``control_vehicle:``), as TWCManager does.

The Gen3's local API measures (``/api/1/vitals``: current per phase, contactor, plug) but takes no
current setting. :class:`Gen3CarCharger` wraps the read-only driver
(:class:`~ecotrack.chargers.twc3.driver.Twc3Charger`) and makes its loadpoint controllable:

* ``set_current`` goes to the named car through :class:`~ecotrack.vehicles.amps.CarAmps` (whole amps
  1..min(max_a, 32), ``charge_stop`` below 1 A, ``charge_start`` when raising from a stop, raises
  bounded per hour), the same code as the ``tesla-vehicle`` charger;
* what the loadpoint reports comes from the Wall Connector (faster and more trustworthy than the car's
  API), with ``offered_a`` the *higher* of the command and the measured current: a cut the car has not
  carried out yet keeps counting, so the loadpoints sharing a circuit are not raised into it
  (:mod:`ecotrack.core.cuts`);
* a car still drawing more than every command of the last ``follow_timeout_s`` (it ignores
  ``set_charging_amps``) is stopped through the car and the charger shows a fault (its ``error``, so the
  loadpoint shows it and an event is written); it is charged again once unplugged, or after
  ``fault_retry_s``. A car still drawing after 0 A goes through the engine's stop escalation
  (``control.stop_escalation_s``), whose stop method here is ``charge_stop``;
* the car is commanded only while its source does not say it is unplugged or away: a command then
  fails (the engine counts it as possibly delivered and retries), so a guest car on the Wall
  Connector is never mistaken for one ecotrack controls, and a car charging elsewhere is left alone;
* when the Wall Connector stops answering it reports offline (after its ``offline_after_s``), the engine
  then decides 0 A and the car is stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.chargers.twc3.config import Twc3ChargerConfig
from ecotrack.chargers.twc3.driver import Twc3Charger
from ecotrack.clock import Clock
from ecotrack.core.model import ChargerReading
from ecotrack.vehicles.amps import CarAmps, amps_for
from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.control import CommandError

__all__ = ["FOLLOW_TOLERANCE_A", "Gen3CarCharger", "wrap_car_control"]

log = logging.getLogger(__name__)

#: Measured current this far above what the car may draw (A) means it does not follow (meter noise below).
FOLLOW_TOLERANCE_A = 1.0
#: Below this measured current (A) the car is not drawing.
DRAWING_A = 1.0


class Gen3CarCharger(Charger):
    """See the module docstring."""

    can_control = True
    step_a = 1.0
    safe_current_a = 0.0

    def __init__(self, inner: Twc3Charger, vehicle: Vehicle, clock: Clock) -> None:
        super().__init__(inner.name)
        if vehicle.control is None:
            raise ValueError(
                f"charger {inner.name!r}: vehicle {vehicle.name!r} cannot be commanded "
                "(use type: tesla, or add control: {type: tesla-ble, ...})"
            )
        self.inner = inner
        self.config: Twc3ChargerConfig = inner.config
        self.vehicle = vehicle
        self.clock = clock
        self.car = CarAmps(
            inner.name, vehicle, vehicle.control, inner.config.max_a, inner.config.max_commands_per_hour, clock
        )
        self.max_a = self.car.max_a
        #: Why control was given up (the car did not follow), or None.
        self.fault: str | None = None
        self._fault_at_s = 0.0
        #: Times the car was stopped because it did not follow.
        self.escalations = 0
        #: The last current the engine asked for (None before the first command).
        self.wanted_a: float | None = None
        inner.add_listener(self._on_inner)

    # the engine reads and sets ``error`` on the driver it was given: the Gen3's failure, or the fault
    @property
    def error(self) -> str | None:
        if self.fault is not None:
            return self.fault
        return self.inner.error

    @error.setter
    def error(self, value: str | None) -> None:
        if hasattr(self, "inner"):
            self.inner.error = value

    # ------------------------------------------------------------------ reports
    def _on_inner(self, _name: str, reading: ChargerReading) -> None:
        self._publish(self._report(reading))

    def _report(self, reading: ChargerReading) -> ChargerReading:
        """The Gen3's reading with the offer: the higher of the command and what the car is measured drawing."""
        if not reading.online:
            return reading
        return dataclasses.replace(reading, offered_a=max(self.car.commanded_a, reading.actual_a))

    def _measured(self) -> ChargerReading | None:
        reading = self.inner.reading()
        return reading if reading is not None and reading.online else None

    def _car_away(self) -> str | None:
        """Why the car cannot be the one on this Wall Connector (its source says so), or None."""
        s = self.vehicle.state
        if s.plugged_in is False:
            return f"vehicle {self.vehicle.name!r} reports it is not plugged in"
        if s.at_home is False:
            return f"vehicle {self.vehicle.name!r} reports it is away from home"
        return None

    # ------------------------------------------------------------------ commands
    async def set_current(self, amps: float) -> None:
        """Tell the car ``amps``; CommandError when it cannot be told (see the module docstring)."""
        self.wanted_a = amps
        await self.inner.set_current(amps)  # remembered for the details
        measured = self._measured()
        drawing = measured.actual_a if measured is not None else None
        charging = measured is not None and measured.actual_a >= DRAWING_A
        target = amps_for(amps, self.max_a)
        away = self._car_away()
        if away is not None:
            if target == 0 and not charging:
                self.car.forget_start()
                return
            raise CommandError(f"{away}; the car on the Wall Connector cannot be told {target} A")
        if self.fault is not None and target > 0:
            raise CommandError(f"{self.fault} (no new charge before it is unplugged or the retry time)")
        await self.car.apply(amps, drawing_a=drawing, charging=charging)

    async def stop_charging(self) -> None:
        """The stop method (the engine's escalation, a car ignoring its amps): ``charge_stop`` through the car."""
        away = self._car_away()
        if away is not None:
            raise CommandError(f"{away}; cannot stop the car on the Wall Connector")
        measured = self._measured()
        await self.car.stop(drawing_a=measured.actual_a if measured is not None else None)

    # ------------------------------------------------------------------ watching the car follow
    async def check(self) -> None:
        """Compare what the Wall Connector measures with what the car was told; escalate or clear a fault."""
        reading = self._measured()
        now = self.clock.now()
        window = self.config.follow_timeout_s
        if self.fault is not None:
            unplugged = reading is not None and not reading.connected
            if unplugged or now - self._fault_at_s >= self.config.fault_retry_s:
                self._clear_fault("the car was unplugged" if unplugged else "retry time reached")
                if not unplugged:
                    await self._resume_wanted()
                return
            if reading is not None and reading.actual_a >= DRAWING_A and self._stop_due(now, window):
                await self._try_stop("still drawing after charge_stop")
            return
        if reading is None or self.wanted_a is None:
            return
        if not self.car.started:
            if not reading.connected:
                self.car.forget_start()
            elif (
                reading.actual_a > amps_for(self.wanted_a, self.max_a) + FOLLOW_TOLERANCE_A
                and self._car_away() is None
                and self._stop_due(now, window)
            ):
                # the car started by itself (plugged in, or woken) while ecotrack has not started it
                log.info(
                    "charger %s: the car draws %.1f A while not told to charge; charge_stop", self.name, reading.actual_a
                )
                await self._try_stop("charging while told to stop")
            return
        allowed = self.car.may_draw_a(reading.t_s, window)
        if reading.actual_a > allowed + FOLLOW_TOLERANCE_A:
            self.fault = (
                f"the car draws {reading.actual_a:.1f} A although it was told at most {allowed:g} A for "
                f"{window:g} s (it ignores set_charging_amps); charge stopped through the car"
            )
            self._fault_at_s = now
            self.escalations += 1
            log.error("charger %s: %s", self.name, self.fault)
            await self._try_stop("ignores set_charging_amps")

    def _stop_due(self, now: float, window: float) -> bool:
        return self.car.stopped_at_s is None or now - self.car.stopped_at_s >= window

    async def _try_stop(self, why: str) -> None:
        try:
            await self.stop_charging()
        except CommandError as e:
            log.error("charger %s: charge_stop through the car failed (%s): %s", self.name, why, e)

    def _clear_fault(self, why: str) -> None:
        log.warning("charger %s: control through the car resumes (%s)", self.name, why)
        self.fault = None
        self.car.forget_start()

    async def _resume_wanted(self) -> None:
        """After a fault: carry out the current the engine last asked for (it may not ask again)."""
        if self.wanted_a is not None and self.wanted_a > 0:
            try:
                await self.set_current(self.wanted_a)
            except CommandError as e:
                log.warning("charger %s: resuming %g A failed: %s", self.name, self.wanted_a, e)

    # ------------------------------------------------------------------ running
    async def run(self) -> None:
        """The Wall Connector's polling (its failure is this driver's), and a check of the car every poll."""
        watch = asyncio.create_task(self._watch())
        try:
            await self.inner.run()
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            await self.clock.sleep(self.config.poll_s)
            try:
                await self.check()
            except Exception:  # a bug here must not stop the Wall Connector's polling
                log.exception("charger %s: checking the car failed; carrying on", self.name)

    def details(self) -> dict[str, object]:
        """The Gen3's details, and the car that controls it."""
        now = self.clock.now()
        return {
            **self.inner.details(),
            "can_control": True,
            "control": f"through vehicle {self.vehicle.name} (set_charging_amps, charge_start, charge_stop)",
            "vehicle_controlled": self.vehicle.name,
            "charging_amps_sent": self.car.sent_a if self.car.started else 0,
            "car_may_draw_a": self.car.may_draw_a(now, self.config.follow_timeout_s),
            "commands_left_this_hour": self.car.budget.remaining(now),
            "raises_held_back": self.car.budget.refused,
            "control_fault": self.fault,
            "control_escalations": self.escalations,
        }


def wrap_car_control(
    chargers: Mapping[str, Charger], configs: Mapping[str, Any], vehicles: Mapping[str, Vehicle], clock: Clock
) -> dict[str, Charger]:
    """``chargers`` with every Gen3 that names a ``control_vehicle`` controlled through that car."""
    out = dict(chargers)
    for name, cfg in configs.items():
        vehicle_name = getattr(cfg, "control_vehicle", None)
        if vehicle_name is None:
            continue
        inner = chargers[name]
        if not isinstance(inner, Twc3Charger):
            raise ValueError(f"charger {name!r}: control_vehicle is for type twc3")
        vehicle = vehicles.get(vehicle_name)
        if vehicle is None:
            raise ValueError(f"charger {name!r}: unknown vehicle {vehicle_name!r} (define it under vehicles:)")
        out[name] = Gen3CarCharger(inner, vehicle, clock)
    return out
