"""Gen3 Wall Connector (read-only) against a loopback HTTP server serving its documented vitals/lifetime.

And what "read-only" means for the decisions: its loadpoint observes, its car is house load, and a
commandable charger sharing its circuit gets only what the Gen3 may leave.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from meters.http_server import HANG_S, Reply, VendorServer, vendor_server

from ecotrack.chargers.twc3.driver import PollError, Twc3Charger
from ecotrack.chargers.twc3.vitals import VitalsError, parse_lifetime, parse_vitals
from ecotrack.config_load import parse_config
from ecotrack.core.model import ChargerReading, CircuitParams, LoadpointParams, MeterReading, Mode, SiteParams
from ecotrack.core.site import MeterRoles
from ecotrack.devices.context import DeviceContext
from ecotrack.devices.registry import builtin_registry
from ecotrack.runtime.house import DriverLimits, House
from ecotrack.runtime.setup import SiteSetup
from tests.manual_clock import ManualClock

__all__ = ["vendor_server"]

CHARGING = {
    "contactor_closed": True,
    "vehicle_connected": True,
    "session_s": 3512,
    "grid_v": 231.4,
    "grid_hz": 49.98,
    "vehicle_current_a": 15.9,
    "currentA_a": 15.9,
    "currentB_a": 15.8,
    "currentC_a": 16.1,
    "currentN_a": 0.1,
    "voltageA_v": 231.0,
    "voltageB_v": 230.2,
    "voltageC_v": 232.1,
    "relay_coil_v": 11.9,
    "pcba_temp_c": 31.2,
    "handle_temp_c": 24.0,
    "mcu_temp_c": 38.5,
    "uptime_s": 831580,
    "input_thermopile_uv": -233,
    "prox_v": 1.9,
    "pilot_high_v": 5.9,
    "pilot_low_v": -11.8,
    "session_energy_wh": 10540.2,
    "config_status": 5,
    "evse_state": 11,
    "current_alerts": [],
}
IDLE = {
    **CHARGING,
    "contactor_closed": False,
    "vehicle_connected": False,
    "session_s": 0,
    "vehicle_current_a": 0.1,
    "currentA_a": 0.0,
    "currentB_a": -0.02,
    "currentC_a": 0.0,
    "session_energy_wh": 0.0,
    "evse_state": 1,
}
LIFETIME = {
    "contactor_cycles": 91,
    "contactor_cycles_loaded": 0,
    "alert_count": 2,
    "thermal_foldbacks": 0,
    "avg_startup_temp": 24.1,
    "charge_starts": 91,
    "energy_wh": 1234567,
    "connector_cycles": 36,
    "uptime_s": 8315800,
    "charging_time_s": 1051200,
}


def charger(url: str, clock: ManualClock | None = None, **extra: Any) -> Twc3Charger:
    cfg = parse_config(
        {
            "site": {"grid_meter": "m"},
            "meters": {"m": {"type": "replay"}},
            # A timeout no loaded machine reaches for an answer that comes; the hang test sets its own.
            "chargers": {"gen3": {"type": "twc3", "url": url, "timeout_s": 10.0, **extra}},
            "loadpoints": {"garage": {"charger": "gen3"}},
        }
    )
    built = builtin_registry().create(
        "charger", "gen3", cfg.chargers["gen3"], DeviceContext(clock=clock or ManualClock(real_pause_s=0.01))
    )
    assert isinstance(built, Twc3Charger)
    return built


# ------------------------------------------------------------------------------------ pure parsing
@pytest.mark.parametrize(
    ("payload", "phases", "expected"),
    [
        (CHARGING, 3, (True, True, 16.1, (15.9, 15.8, 16.1), 231.4)),
        (CHARGING, 1, (True, True, 15.9, (15.9,), 231.4)),
        (IDLE, 1, (False, False, 0.0, (0.0,), 231.4)),
        ({**CHARGING, "contactor_closed": False}, 1, (True, False, 0.0, (15.9,), 231.4)),  # open: no current
        (
            {k: v for k, v in CHARGING.items() if not k.startswith("current")},
            1,
            (True, True, 15.9, (), 231.4),
        ),
        ({**CHARGING, "grid_v": 0}, 1, (True, True, 15.9, (15.9,), None)),
    ],
)
def test_vitals_table(payload: dict[str, Any], phases: int, expected: tuple[Any, ...]) -> None:
    v = parse_vitals(payload, phases)
    assert (v.vehicle_connected, v.contactor_closed, v.current_a, v.currents_a, v.grid_v) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected a JSON object"),
        ({**CHARGING, "vehicle_connected": "yes"}, "vehicle_connected: expected true or false"),
        ({**CHARGING, "currentA_a": 900.0}, "currentA_a: 900 is outside"),
        ({**CHARGING, "grid_v": "230"}, "grid_v: expected a number"),
        ({**CHARGING, "grid_v": float("nan")}, "grid_v: expected a number"),
        ({**CHARGING, "current_alerts": "none"}, "current_alerts: expected a list"),
        ({"vehicle_connected": True, "contactor_closed": True}, "neither vehicle_current_a nor currentA_a"),
    ],
)
def test_vitals_junk_is_refused(payload: Any, message: str) -> None:
    with pytest.raises(VitalsError, match=message):
        parse_vitals(payload, 3)


def test_lifetime() -> None:
    assert parse_lifetime(LIFETIME) == pytest.approx(1234.567)
    for junk in ({}, {"energy_wh": -1}, {"energy_wh": "many"}, None):
        with pytest.raises(VitalsError):
            parse_lifetime(junk)


# ------------------------------------------------------------------------------------ the driver
async def test_driver_reads_vitals_and_lifetime_and_cannot_be_commanded(vendor_server: VendorServer) -> None:
    vendor_server.routes["GET", "/api/1/vitals"] = Reply.json(CHARGING)
    vendor_server.routes["GET", "/api/1/lifetime"] = Reply.json(LIFETIME)
    gen3 = charger(vendor_server.url, phases=3)
    assert gen3.can_control is False and gen3.max_a == 32.0
    await gen3.poll()
    r = gen3.reading()
    assert r == ChargerReading(
        t_s=0.0, connected=True, charging=True, actual_a=16.1, voltage_v=231.4, online=True
    )
    await gen3.set_current(6.0)  # nothing to send: remembered only
    details = gen3.details()
    assert details["can_control"] is False and "read-only" in str(details["control"])
    assert details["requested_a"] == 6.0 and details["lifetime_kwh"] == pytest.approx(1234.567)
    assert details["session_energy_wh"] == 10540.2 and details["evse_state"] == 11
    assert [req.path for req in vendor_server.requests] == ["/api/1/vitals", "/api/1/lifetime"]
    await gen3.poll()  # the lifetime counter is read only every lifetime_every_s
    assert [req.path for req in vendor_server.requests][-1] == "/api/1/vitals"
    assert all(req.method == "GET" for req in vendor_server.requests)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply("Internal Server Error", status=500, content_type="text/plain"), "HTTP 500"),
        (Reply('{"contactor_closed": tru'), "invalid JSON"),
        (Reply("<html>captive portal</html>", content_type="text/html"), "invalid JSON"),
        (Reply.json({**CHARGING, "vehicle_current_a": 1e9, "currentA_a": None}), "vehicle_current_a"),
        (Reply("{}", delay_s=HANG_S), "no answer within 0.5 s"),  # hung: never answers
    ],
)
async def test_driver_failures_are_clear_errors(
    vendor_server: VendorServer, reply: Reply, message: str
) -> None:
    vendor_server.routes["GET", "/api/1/vitals"] = reply
    gen3 = charger(vendor_server.url, **({"timeout_s": 0.5} if reply.delay_s else {}))
    with pytest.raises(PollError, match=message):
        await gen3.poll()
    assert gen3.reading() is None


async def test_a_silent_wall_connector_goes_offline_and_comes_back(
    vendor_server: VendorServer, caplog: pytest.LogCaptureFixture
) -> None:
    vendor_server.routes["GET", "/api/1/vitals"] = Reply.json(CHARGING)
    vendor_server.routes["GET", "/api/1/lifetime"] = Reply.json(LIFETIME)
    clock = ManualClock(real_pause_s=0.01)
    gen3 = charger(vendor_server.url, clock, poll_s=2.0, offline_after_s=5.0)
    readings: list[ChargerReading] = []
    gen3.add_listener(lambda _name, r: readings.append(r))
    task = asyncio.create_task(gen3.run())
    try:
        while not readings:
            await asyncio.sleep(0.01)
        vendor_server.routes["GET", "/api/1/vitals"] = Reply("oops", status=500, content_type="text/plain")
        while readings[-1].online:
            await asyncio.sleep(0.01)
        assert readings[-1].connected and not readings[-1].charging
        assert readings[-1].t_s - max(r.t_s for r in readings if r.online) >= 5.0
        assert caplog.text.count("HTTP 500") == 1  # logged once, not on every poll
        vendor_server.routes["GET", "/api/1/vitals"] = Reply.json(IDLE)
        while not readings[-1].online:
            await asyncio.sleep(0.01)
        assert not readings[-1].connected
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ------------------------------------------------------------------------------------ decisions
def house_with_gen3_and_twc(gen3_mode: Mode = Mode.PV) -> House:
    """A Gen3 (read-only, 16 A) and a commandable charger on one 24 A circuit, both in a solar mode."""
    site = SiteParams(
        loadpoints=(
            LoadpointParams("gen3", min_a=6, max_a=16, circuit="garage", mode=gen3_mode, priority=5),
            LoadpointParams("twc", min_a=6, max_a=16, circuit="garage", mode=Mode.NOW),
        ),
        circuits=(CircuitParams("garage", 24.0),),
    )
    return House(
        SiteSetup(site, MeterRoles("grid"), {"gen3": "ch_gen3", "twc": "ch_twc"}),
        {"ch_gen3": DriverLimits(32.0, can_control=False), "ch_twc": DriverLimits(32.0)},
        wall=lambda: datetime(2026, 6, 21, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("gen3_report", "twc_a", "gen3_kept_a"),
    [
        (ChargerReading(t_s=0.0, connected=True, charging=True, actual_a=16.0), 8.0, 16.0),
        (ChargerReading(t_s=0.0, connected=True, charging=False), 8.0, 16.0),  # a full car may start any time
        (ChargerReading(t_s=0.0, connected=False, charging=False), 16.0, 0.0),  # no car: room for the other
        (ChargerReading(t_s=0.0, connected=False, charging=False, online=False), 8.0, 16.0),  # unknown
        (None, 8.0, 16.0),  # never heard of
    ],
)
def test_a_read_only_charger_keeps_its_room_on_a_shared_circuit(
    gen3_report: ChargerReading | None, twc_a: float, gen3_kept_a: float
) -> None:
    house = house_with_gen3_and_twc()
    assert house.params.loadpoints[0].observe_only and not house.params.loadpoints[1].observe_only
    if gen3_report is not None:
        house.on_charger_reading("ch_gen3", gen3_report, {})
    house.on_charger_reading("ch_twc", ChargerReading(t_s=0.0, connected=True, charging=True), {})
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=0.0))
    decision = house.step(0.0)
    assert decision is not None
    gen3, twc = decision.loadpoints
    assert (gen3.current_a, gen3.status, twc.current_a) == (gen3_kept_a, "observing", twc_a)


def test_a_read_only_chargers_car_is_house_load_not_surplus() -> None:
    # The Gen3's car draws 16 A (3680 W) and the site exports 1000 W: only 1000 W is surplus for the
    # other car, whatever mode the Gen3 loadpoint is in (it cannot be lowered to make room).
    site = SiteParams(
        loadpoints=(
            LoadpointParams("gen3", min_a=6, max_a=16, mode=Mode.PV),
            LoadpointParams("twc", min_a=1, max_a=16, mode=Mode.MINPV),
        ),
    )
    house = House(
        SiteSetup(site, MeterRoles("grid"), {"gen3": "a", "twc": "b"}),
        {"a": DriverLimits(32.0, can_control=False), "b": DriverLimits(32.0)},
        wall=lambda: datetime(2026, 6, 21, tzinfo=UTC),
    )
    house.on_charger_reading("a", ChargerReading(t_s=0.0, connected=True, charging=True, actual_a=16.0), {})
    house.on_charger_reading("b", ChargerReading(t_s=0.0, connected=True, charging=False), {})
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=-1000.0))
    decision = house.step(0.0)
    assert decision is not None
    assert decision.surplus_w == pytest.approx(1000.0)
    assert decision.current_of("twc") == 4.0  # floor(1000 W / 230 V), not 20 A


def test_a_read_only_chargers_commands_are_delivered_at_once_so_cuts_never_wait_on_it() -> None:
    house = house_with_gen3_and_twc()
    house.on_charger_reading(
        "ch_gen3", ChargerReading(t_s=0.0, connected=True, charging=True, actual_a=16), {}
    )
    house.on_charger_reading("ch_twc", ChargerReading(t_s=0.0, connected=True, charging=True), {})
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=0.0))
    house.step(0.0)
    assert house.next_command("gen3", 0.0) == 16.0  # the reserve: the driver takes it as a no-op
    house.loadpoint("gen3").command_delivered(16.0)
    assert house.next_command("twc", 0.0) == 8.0
    house.loadpoint("twc").command_delivered(8.0)
    # The Gen3's car is unplugged: its reserve falls at once and the other car may take the room.
    house.on_charger_reading("ch_gen3", ChargerReading(t_s=1.0, connected=False, charging=False), {})
    house.step(1.0)
    assert house.next_command("gen3", 1.0) == 0.0
    house.loadpoint("gen3").command_delivered(0.0)
    assert house.next_command("twc", 1.0) == 16.0


def test_a_narrower_user_range_does_not_shrink_the_room_kept_for_a_read_only_charger() -> None:
    house = house_with_gen3_and_twc()
    house.on_charger_reading("ch_gen3", ChargerReading(t_s=0.0, connected=True, charging=True, actual_a=16), {})
    house.on_charger_reading("ch_twc", ChargerReading(t_s=0.0, connected=True, charging=True), {})
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=0.0))
    house.set_current_range("gen3", 6.0, 6.0)  # the user cannot lower what the Gen3 delivers
    decision = house.step(0.0)
    assert decision is not None
    assert (decision.current_of("gen3"), decision.current_of("twc")) == (16.0, 8.0)
