"""A Gen3 Wall Connector controlled through the car (``control_vehicle``), against a loopback HTTP server
serving the Gen3's documented vitals for what a slow simulated car draws.

Driver level (raise, cut, stop, start, a car ignoring set_charging_amps, a car away, the Gen3 going
silent), House level (a Gen3+car and another charger on one circuit: what they may draw together stays
within the circuit while the car takes its time or ignores a cut), and the running daemon (app wiring).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecotrack.app import build_app
from ecotrack.chargers.twc3.driver import Twc3Charger
from ecotrack.clock import ScaledClock
from ecotrack.config_load import ConfigError, parse_config
from ecotrack.core.model import ChargerReading, CircuitParams, LoadpointParams, MeterReading, Mode, SiteParams
from ecotrack.core.site import MeterRoles
from ecotrack.runtime.house import DriverLimits, House
from ecotrack.runtime.setup import SiteSetup
from ecotrack.vehicles.config import SimulatedVehicleConfig
from ecotrack.vehicles.control import CommandError
from ecotrack.vehicles.gen3 import Gen3CarCharger
from ecotrack.vehicles.simulated import SimulatedCar
from tests.manual_clock import ManualClock
from tests.meters.http_server import Reply, Request, VendorServer
from tests.web.conftest import until, write_trace

#: The documented /api/1/vitals answer (see tests/chargers/test_twc3.py), currents filled in per request.
VITALS: dict[str, Any] = {
    "contactor_closed": False,
    "vehicle_connected": True,
    "session_s": 0,
    "grid_v": 231.4,
    "grid_hz": 49.98,
    "vehicle_current_a": 0.0,
    "currentA_a": 0.0,
    "currentB_a": 0.0,
    "currentC_a": 0.0,
    "currentN_a": 0.0,
    "voltageA_v": 231.0,
    "voltageB_v": 0.0,
    "voltageC_v": 0.0,
    "relay_coil_v": 11.9,
    "pcba_temp_c": 31.2,
    "handle_temp_c": 24.0,
    "mcu_temp_c": 38.5,
    "uptime_s": 831580,
    "session_energy_wh": 0.0,
    "config_status": 5,
    "evse_state": 4,
    "current_alerts": [],
}
LIFETIME = {"energy_wh": 1234567, "charge_starts": 91, "contactor_cycles": 91}


class DeafCar(SimulatedCar):
    """A car that takes set_charging_amps and does nothing with it (it follows start and stop)."""

    async def set_charging_amps(self, amps: int) -> None:
        self.commands.append((self.clock.now(), "set_charging_amps", float(amps)))


class Gen3Site:
    """A Gen3 whose vitals show what ``car`` draws (through its cable), served over loopback HTTP."""

    def __init__(self, server: VendorServer, car: SimulatedCar) -> None:
        self.server = server
        self.car = car
        self.answering = True
        #: Another car on the cable, drawing this much (None: ``car`` is the one plugged in).
        self.guest_a: float | None = None
        server.routes["GET", "/api/1/vitals"] = self._vitals
        server.routes["GET", "/api/1/lifetime"] = Reply.json(LIFETIME)

    def _vitals(self, _req: Request) -> Reply:
        if not self.answering:
            return Reply("Internal Server Error", status=500, content_type="text/plain")
        a = self.car.drawing_a if self.guest_a is None else self.guest_a
        return Reply.json(
            {
                **VITALS,
                "vehicle_connected": self.car.plugged_in or self.guest_a is not None,
                "contactor_closed": a > 0,
                "vehicle_current_a": a,
                "currentA_a": a,
                "evse_state": 11 if a > 0 else 4,
            }
        )


@pytest.fixture
def server() -> Iterator[VendorServer]:
    s = VendorServer()
    # headers and body go out as two writes: without TCP_NODELAY every keep-alive answer waits ~40 ms
    s.httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    try:
        yield s
    finally:
        s.close()


def rig(
    server: VendorServer, car_type: type[SimulatedCar] = SimulatedCar, **gen3: Any
) -> tuple[ManualClock, SimulatedCar, Gen3CarCharger, Gen3Site]:
    clock = ManualClock(real_pause_s=0.005)
    cfg = parse_config(
        {
            "site": {"grid_meter": "m"},
            "meters": {"m": {"type": "replay"}},
            "vehicles": {"car": {"type": "simulated", "reaction_s": 20, "capacity_kwh": 60, "soc_pct": 40}},
            "chargers": {
                "gen3": {"type": "twc3", "url": server.url, "timeout_s": 1, "control_vehicle": "car", **gen3}
            },
            "loadpoints": {"garage": {"charger": "gen3", "vehicle": "car"}},
        }
    )
    car_cfg = cfg.vehicles["car"]
    assert isinstance(car_cfg, SimulatedVehicleConfig)
    car = car_type("car", car_cfg, clock)
    site = Gen3Site(server, car)
    inner = Twc3Charger("gen3", cfg.chargers["gen3"], clock)  # type: ignore[arg-type]
    return clock, car, Gen3CarCharger(inner, car, clock), site


async def at(t: float, clock: ManualClock, car: SimulatedCar, gen3: Gen3CarCharger) -> ChargerReading:
    """Time ``t``: the car moves on, the Gen3 is read, the charger checks the car; the report it publishes."""
    clock.t = t
    car.step(t)
    await gen3.inner.poll()
    await gen3.check()
    reading = gen3.reading()
    assert reading is not None
    return reading


def sent(car: SimulatedCar, since: int = 0) -> list[tuple[str, float | None]]:
    return [c[1:] for c in car.commands[since:]]


# ------------------------------------------------------------------------------------------- the driver
async def test_raise_cut_stop_and_start_go_to_the_car_and_the_gen3_measures(server: VendorServer) -> None:
    clock, car, gen3, _ = rig(server)
    assert gen3.can_control and gen3.max_a == 32.0
    r = await at(0, clock, car, gen3)
    assert (r.connected, r.charging, r.actual_a) == (True, False, 0.0)

    await gen3.set_current(16.4)  # raise from a stop: whole amps, rounded down, then start
    assert sent(car) == [("set_charging_amps", 16.0), ("charge_start", None)]
    for t in (5, 10, 19):  # the car takes 20 s: the report is what the Gen3 measures, the offer the command
        r = await at(t, clock, car, gen3)
        assert (r.actual_a, r.offered_a) == (0.0, 16.0)
    r = await at(21, clock, car, gen3)
    assert (r.charging, r.actual_a, r.offered_a, r.voltage_v) == (True, 16.0, 16.0, 231.4)

    n = len(car.commands)
    await gen3.set_current(6.9)  # a cut: at once, never rounded up
    assert sent(car, n) == [("set_charging_amps", 6.0)]
    for t in (25, 35, 40):  # not carried out yet: the higher of command and measurement is offered
        r = await at(t, clock, car, gen3)
        assert (r.actual_a, r.offered_a) == (16.0, 16.0)
    r = await at(42, clock, car, gen3)
    assert (r.actual_a, r.offered_a) == (6.0, 6.0)

    n = len(car.commands)
    await gen3.set_current(0.0)
    assert sent(car, n) == [("charge_stop", None)]
    r = await at(50, clock, car, gen3)
    assert (r.actual_a, r.offered_a) == (6.0, 6.0)
    r = await at(63, clock, car, gen3)
    assert (r.charging, r.actual_a, r.offered_a) == (False, 0.0, 0.0)

    n = len(car.commands)
    await gen3.set_current(10.0)  # charging again needs charge_start
    assert sent(car, n) == [("set_charging_amps", 10.0), ("charge_start", None)]
    r = await at(90, clock, car, gen3)
    assert (r.actual_a, r.offered_a) == (10.0, 10.0)
    await gen3.set_current(10.0)  # the same amps are not sent twice
    assert len(car.commands) == n + 2
    assert gen3.fault is None and gen3.error is None  # a car that takes 20 s to follow is no fault
    details = gen3.details()
    assert details["vehicle_controlled"] == "car" and details["can_control"] is True
    assert details["lifetime_kwh"] == pytest.approx(1234.567)


async def test_never_more_than_the_charger_or_32_a(server: VendorServer) -> None:
    clock, car, gen3, _ = rig(server, max_a=20)
    await at(0, clock, car, gen3)
    for amps in (40.0, 25.0, math.inf, math.nan, 19.99, 0.5):
        await gen3.set_current(amps)
    values = [v for name, v in sent(car) if name == "set_charging_amps"]
    assert values == [20.0, 19.0] and sent(car)[-1] == ("charge_stop", None)


async def test_a_car_that_ignores_set_charging_amps_is_stopped_and_faulted(server: VendorServer) -> None:
    clock, car, gen3, _ = rig(server, DeafCar, follow_timeout_s=30, fault_retry_s=600)
    car.requested_a = 16.0  # what the car draws on its own
    await at(0, clock, car, gen3)
    await gen3.set_current(16)
    await at(21, clock, car, gen3)
    await gen3.set_current(6)  # the car takes the command and goes on drawing 16 A
    for t in (22, 30, 40, 50):
        r = await at(t, clock, car, gen3)
        assert r.offered_a == 16.0 and gen3.fault is None  # counted at 16 A meanwhile
    n = len(car.commands)
    r = await at(52, clock, car, gen3)  # 31 s after the cut: it does not follow
    assert gen3.fault is not None and "ignores set_charging_amps" in gen3.fault
    assert gen3.error == gen3.fault and gen3.escalations == 1
    assert sent(car, n) == [("charge_stop", None)]
    with pytest.raises(CommandError, match="ignores set_charging_amps"):
        await gen3.set_current(10)  # no new charge while faulted
    await gen3.set_current(0)  # a stop is always fine
    r = await at(75, clock, car, gen3)
    assert (r.actual_a, r.offered_a) == (0.0, 0.0)
    car.unplug()  # unplugging ends the fault
    r = await at(80, clock, car, gen3)
    assert not r.connected and gen3.fault is None and gen3.error is None


async def test_after_the_retry_time_the_last_wanted_current_is_carried_out(server: VendorServer) -> None:
    clock, car, gen3, _ = rig(server, DeafCar, follow_timeout_s=10, fault_retry_s=60)
    car.requested_a = 16.0
    await at(0, clock, car, gen3)
    await gen3.set_current(16)
    await at(21, clock, car, gen3)
    await gen3.set_current(8)
    await at(40, clock, car, gen3)
    assert gen3.fault is not None
    n = len(car.commands)
    await at(101, clock, car, gen3)
    assert gen3.fault is None and sent(car, n) == [("set_charging_amps", 8.0), ("charge_start", None)]


async def test_a_car_that_started_by_itself_is_told_to_stop(server: VendorServer) -> None:
    clock, car, gen3, _ = rig(server)
    await at(0, clock, car, gen3)
    await gen3.set_current(0)  # nothing to stop yet: nothing sent
    assert car.commands == []
    car.wants_charge = True  # plugged in again: a Tesla starts on its own
    await at(1, clock, car, gen3)
    assert sent(car) == [("charge_stop", None)] and gen3.fault is None
    await at(5, clock, car, gen3)  # not repeated while the car takes its time
    assert len(car.commands) == 1


async def test_a_car_away_is_not_commanded(server: VendorServer) -> None:
    clock, car, gen3, site = rig(server)
    car.unplug()  # its source says unplugged: the car on the Gen3 is another one
    site.guest_a = 16.0
    r = await at(0, clock, car, gen3)
    assert r.actual_a == 16.0 and car.state.plugged_in is False
    with pytest.raises(CommandError, match="not plugged in"):
        await gen3.set_current(10)
    with pytest.raises(CommandError, match="cannot be told 0 A"):
        await gen3.set_current(0)  # failed: the engine counts the guest car as still drawing
    site.guest_a = None
    await at(1, clock, car, gen3)
    await gen3.set_current(0)  # nobody draws: 0 A needs no command
    assert car.commands == []


async def test_the_gen3_going_silent_reports_offline_and_the_car_can_still_be_stopped(server: VendorServer) -> None:
    clock, car, gen3, site = rig(server, poll_s=2, offline_after_s=6)
    readings: list[ChargerReading] = []
    gen3.add_listener(lambda _n, r: readings.append(r))
    await at(0, clock, car, gen3)
    await gen3.set_current(16)
    await at(21, clock, car, gen3)
    site.answering = False
    task = asyncio.create_task(gen3.run())
    try:
        await until(lambda: not readings[-1].online, 5, "an offline report")
        assert readings[-1].offered_a is None and not readings[-1].charging
        n = len(car.commands)
        await gen3.set_current(0)  # what the engine decides for an offline charger
        assert sent(car, n) == [("charge_stop", None)]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ------------------------------------------------------------------------------------ configuration
def _cfg(**gen3: Any) -> dict[str, Any]:
    return {
        "site": {"grid_meter": "m"},
        "meters": {"m": {"type": "replay"}},
        "vehicles": {"tm": {"type": "teslamate"}},
        "mqtt": {"host": "localhost"},
        "chargers": {"gen3": {"type": "twc3", "url": "http://192.168.1.30", **gen3}},
        "loadpoints": {"garage": {"charger": "gen3"}},
    }


@pytest.mark.parametrize(
    ("vehicle", "message"),
    [("van", "unknown vehicle 'van'"), ("tm", "vehicle 'tm' cannot be commanded")],
)
def test_control_vehicle_must_name_a_car_that_can_be_commanded(vehicle: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        parse_config(_cfg(control_vehicle=vehicle))
    assert "chargers.gen3.control_vehicle" in str(e.value)


def test_without_control_vehicle_the_gen3_stays_read_only() -> None:
    cfg = parse_config({**_cfg(), "http": {"enabled": False}, "store": {"enabled": False}})
    engine = build_app(cfg, services=False).engine
    assert isinstance(engine.chargers["gen3"], Twc3Charger) and not engine.chargers["gen3"].can_control
    assert engine.house.params.loadpoints[0].observe_only


# ------------------------------------------------------------------------------------ the house
class SharedCircuit:
    """A Gen3+car loadpoint (``gen3``) and an obedient charger (``twc``) on one 24 A circuit, both 6-16 A.

    The test is the engine's actuator: commands the house allows go out at once (the twc draws what it
    was delivered, the car what it follows); the invariant is checked on what they *draw*.
    """

    def __init__(self, clock: ManualClock, car: SimulatedCar, gen3: Gen3CarCharger) -> None:
        site = SiteParams(
            loadpoints=(
                LoadpointParams("gen3", min_a=6, max_a=16, circuit="garage", mode=Mode.NOW),
                LoadpointParams("twc", min_a=6, max_a=16, circuit="garage", mode=Mode.OFF, priority=5),
            ),
            circuits=(CircuitParams("garage", 24.0),),
        )
        self.house = House(
            SiteSetup(site, MeterRoles("grid"), {"gen3": "gen3", "twc": "twc"}),
            {"gen3": DriverLimits(gen3.max_a, gen3.step_a, 0.0, gen3.can_control), "twc": DriverLimits(32.0)},
            wall=lambda: datetime(2026, 6, 21, tzinfo=UTC),
            cut_confirm_timeout_s=60.0,
        )
        self.clock, self.car, self.gen3 = clock, car, gen3
        self.twc_a = 0.0
        self.worst_a = 0.0
        gen3.add_listener(lambda name, r: self.house.on_charger_reading(name, r, {}))

    async def second(self, t: float) -> None:
        await at(t, self.clock, self.car, self.gen3)
        self.house.on_charger_reading(
            "twc", ChargerReading(t_s=t, connected=True, charging=True, actual_a=self.twc_a, offered_a=self.twc_a), {}
        )
        self.house.on_meter_reading("grid", MeterReading(t_s=t, grid_w=0.0))
        self.house.step(t)
        for name in ("gen3", "twc"):
            amps = self.house.next_command(name, t)
            if amps is None:
                continue
            lp = self.house.loadpoint(name)
            if name == "gen3":
                try:
                    await self.gen3.set_current(amps)
                except CommandError as e:
                    lp.command_failed(amps, str(e))
                    continue
            else:
                self.twc_a = amps
            lp.command_delivered(amps)
        drawn = self.car.drawing_a + self.twc_a
        self.worst_a = max(self.worst_a, drawn)
        assert drawn <= 24.0 + 1e-9, (t, self.car.drawing_a, self.twc_a)


async def test_a_slow_cut_holds_back_the_other_charger_on_the_circuit(server: VendorServer) -> None:
    clock, car, gen3, _ = rig(server)
    site = SharedCircuit(clock, car, gen3)
    for t in range(0, 30):
        await site.second(t)
    assert car.drawing_a == 16.0 and site.twc_a == 0.0
    site.house.set_mode("twc", Mode.NOW)  # the other car (higher priority) wants 16 A: the Gen3's is cut to 8
    for t in range(30, 100):
        await site.second(t)
    assert (car.drawing_a, site.twc_a) == (8.0, 16.0) and site.worst_a == 24.0
    assert gen3.fault is None


async def test_a_car_ignoring_its_cut_is_stopped_before_the_other_charger_is_raised(server: VendorServer) -> None:
    clock, car, gen3, _ = rig(server, DeafCar, follow_timeout_s=30)
    car.requested_a = 16.0
    site = SharedCircuit(clock, car, gen3)
    for t in range(0, 30):
        await site.second(t)
    site.house.set_mode("twc", Mode.NOW)
    for t in range(30, 130):
        await site.second(t)
    assert gen3.fault is not None and car.drawing_a == 0.0 and site.twc_a == 16.0


# ------------------------------------------------------------------------------------ the daemon
async def test_the_daemon_sets_the_gen3_current_through_the_car(server: VendorServer, tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "day.csv", 6000, 500)
    cfg = parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid"], "max_meter_age_s": 10},
            "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 1}},
            "vehicles": {"car": {"type": "simulated", "reaction_s": 20, "capacity_kwh": 60, "soc_pct": 40}},
            "chargers": {
                "gen3": {
                    "type": "twc3", "url": server.url, "control_vehicle": "car", "max_a": 32,
                    "poll_s": 2, "offline_after_s": 10, "timeout_s": 1,
                }
            },
            "loadpoints": {"garage": {"charger": "gen3", "vehicle": "car", "mode": "now", "min_a": 6, "max_a": 13}},
            "control": {"tick_s": 1},
        }
    )
    engine = build_app(cfg, clock=ScaledClock(40), services=False).engine
    gen3 = engine.chargers["gen3"]
    assert isinstance(gen3, Gen3CarCharger) and not engine.house.params.loadpoints[0].observe_only
    car = gen3.vehicle
    assert isinstance(car, SimulatedCar)
    site = Gen3Site(server, car)
    task = asyncio.create_task(engine.run())
    try:
        await until(lambda: car.drawing_a == 13, 10, "the car charging at 13 A")
        await until(lambda: engine.snapshot().loadpoint("garage").actual_a == 13, 5, "the Gen3 measuring 13 A")
        site.answering = False  # the Wall Connector goes silent: the car is stopped
        await until(lambda: car.commands[-1][1] == "charge_stop", 10, "stopped through the car")
        assert engine.snapshot().loadpoint("garage").status == "offline"
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)
