"""A charger that keeps drawing current after it acknowledged 0 A: the House escalates and shows a fault
(issue 12, defect 6). The same end to end over a pty is in tests/chargers/twc/test_pty.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from ecotrack.core.model import ChargerReading, LoadpointParams, MeterReading, Mode, SiteParams
from ecotrack.core.site import MeterRoles
from ecotrack.runtime.house import DriverLimits, House
from ecotrack.runtime.loadpoint import ChargerFacts
from ecotrack.runtime.setup import SiteSetup
from ecotrack.runtime.snapshot import Event

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def charging_then_off(escalation_s: float = 30.0) -> tuple[House, list[Event]]:
    params = SiteParams(loadpoints=(LoadpointParams("garage", min_a=6, max_a=16, mode=Mode.NOW),))
    house = House(
        SiteSetup(params, MeterRoles("grid"), {"garage": "car"}, stop_escalation_s=escalation_s),
        {"car": DriverLimits(32.0)},
        wall=lambda: T0,
    )
    events: list[Event] = []
    house.add_event_listener(events.append)
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=0.0))
    house.on_charger_reading("car", ChargerReading(0.0, True, True, actual_a=13.0), {})
    house.step(0.0)
    lp = house.loadpoint("garage")
    assert house.next_command("garage", 0.0) == 16.0
    lp.command_delivered(16.0)
    house.set_mode("garage", Mode.OFF)
    house.step(1.0)
    assert house.next_command("garage", 1.0) == 0.0
    lp.command_delivered(0.0)  # the charger acknowledged 0 A ...
    return house, events


def state(house: House) -> tuple[str, str]:
    reading = house.charger_readings["garage"]
    facts = ChargerFacts(reading=reading, error=None, running=True, details={})
    (snap,) = house.loadpoint_snapshots({"garage": facts})
    return snap.status, snap.reason


def test_a_charger_still_drawing_after_0a_is_escalated_and_shown_as_a_fault(caplog: pytest.LogCaptureFixture) -> None:
    house, events = charging_then_off()
    lp = house.loadpoint("garage")
    with caplog.at_level(logging.ERROR, logger="ecotrack.runtime.house"):
        for t in range(2, 32):  # ... and keeps charging at 13 A
            house.on_meter_reading("grid", MeterReading(t_s=float(t), grid_w=3000.0))
            house.on_charger_reading("car", ChargerReading(float(t), True, True, actual_a=13.0), {})
            house.step(float(t))
        assert lp.stop_fault is None  # 30 s of grace: a car may take a while to ramp down
        house.on_charger_reading("car", ChargerReading(33.0, True, True, actual_a=13.0), {})
        house.step(33.0)
    assert lp.escalation_due and lp.escalations == 1
    status, reason = state(house)
    assert status == "fault" and "13.0 A" in reason and "0 A" in reason
    assert [e.kind for e in events if e.kind == "fault"] == ["fault"]
    assert any("still draws 13.0 A" in r.getMessage() for r in caplog.records)
    house.step(40.0)
    assert lp.escalations == 1  # once per fault
    # the stop method worked: the fault clears
    house.on_charger_reading("car", ChargerReading(41.0, True, False, actual_a=0.0), {})
    house.step(41.0)
    assert lp.stop_fault is None and state(house)[0] != "fault"
    assert events[-1].kind == "recovered"


def test_a_charger_that_stops_in_time_is_no_fault() -> None:
    house, events = charging_then_off()
    for t in range(2, 10):
        house.on_charger_reading("car", ChargerReading(float(t), True, True, actual_a=13.0 - t), {})
        house.step(float(t))
    for t in range(10, 60):
        house.on_charger_reading("car", ChargerReading(float(t), True, False, actual_a=0.0), {})
        house.step(float(t))
    assert house.loadpoint("garage").stop_fault is None and not [e for e in events if e.kind == "fault"]


def test_a_stale_report_taken_before_the_bound_does_not_count() -> None:
    house, _ = charging_then_off(escalation_s=10.0)
    house.on_charger_reading("car", ChargerReading(5.0, True, True, actual_a=13.0), {})
    house.step(60.0)  # the last report is from 5 s: nothing is known about later
    assert house.loadpoint("garage").stop_fault is None
