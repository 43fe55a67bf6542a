"""Absurd but finite values never reach the core, a session or the state (issue 12, defect 4).

``prism/1/w 1e308`` once set a session's energy to 1.5e303 Wh, and a later 16.5 kWh limit then stopped the
car at 0 A as "energy-limit"; ``emon/data pwr1: -1e12`` was taken as the grid. Every reading and report
passes :mod:`ecotrack.core.bounds` in the House, whatever driver sent it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from ecotrack.core.bounds import ChargerBounds, EnergyCounter, LogLimiter, meter_reading_problem
from ecotrack.core.model import ChargerReading, LoadpointParams, MeterReading, Mode, SiteParams
from ecotrack.core.site import MeterRoles
from ecotrack.runtime.house import DriverLimits, House
from ecotrack.runtime.sessions import Session
from ecotrack.runtime.setup import SiteSetup

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def one_car(max_a: float = 16.0, driver_max_a: float = 32.0, phases: int = 1) -> tuple[House, list[float]]:
    now = [0.0]
    params = SiteParams(loadpoints=(LoadpointParams("garage", min_a=6, max_a=max_a, phases=phases, mode=Mode.NOW),))
    house = House(
        SiteSetup(params, MeterRoles("grid"), {"garage": "car"}),
        {"car": DriverLimits(driver_max_a)},
        wall=lambda: T0 + timedelta(seconds=now[0]),
    )
    return house, now


def report(t: float, **kw: float) -> ChargerReading:
    return ChargerReading(t_s=t, connected=True, charging=True, **kw)


def test_a_1e308_w_report_does_not_become_session_energy_nor_an_energy_limit_stop() -> None:
    house, now = one_car()
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=0.0))
    house.on_charger_reading("car", report(0.0, actual_a=16.0, power_w=3680.0), {})
    for t in range(1, 31):  # prism/1/w 1e308 for half a minute
        now[0] = float(t)
        house.on_charger_reading("car", report(float(t), actual_a=16.0, power_w=1e308), {})
    now[0] = 31.0
    house.on_charger_reading("car", report(31.0, actual_a=16.0, power_w=3680.0), {})
    session = house.loadpoint("garage").tracker.session
    assert session is not None and session.energy_wh <= 3680.0 * 31 / 3600 + 1e-6
    assert house.rejected["car"] == 30
    house.set_energy_limit("garage", 16.5)
    house.on_meter_reading("grid", MeterReading(t_s=31.0, grid_w=0.0))
    decision = house.step(31.0)
    assert decision is not None
    (lpd,) = decision.loadpoints
    assert lpd.current_a == 16.0 and house.loadpoint("garage").active_rule != "energy-limit"


@pytest.mark.parametrize(
    "fields",
    [
        {"actual_a": 1e308},  # prism/1/amp 1e308
        {"actual_a": -1e308},
        {"actual_a": 65.0},  # more than twice the 32 A charger
        {"actual_a": 10.0, "offered_a": 1e9},
        {"actual_a": 10.0, "power_w": 32 * 2 * 300.0 + 1.0},  # above 1 phase x 300 V x 64 A
        {"actual_a": 10.0, "power_w": -1e12},
    ],
)
def test_an_implausible_charger_report_is_ignored(fields: dict[str, float]) -> None:
    house, _ = one_car()
    good = report(0.0, actual_a=10.0)
    house.on_charger_reading("car", good, {})
    house.on_charger_reading("car", report(1.0, **fields), {})
    assert house.charger_readings["garage"] is good
    assert house.accepted_reports["garage"] is good


def test_the_bound_follows_the_charger_and_its_phases() -> None:
    assert ChargerBounds(32.0, 3).power_w == pytest.approx(3 * 300 * 64)
    house, _ = one_car(max_a=16.0, driver_max_a=16.0, phases=3)
    house.on_charger_reading("car", report(0.0, actual_a=16.5, power_w=11_400.0), {})  # a meter reading high
    assert house.charger_readings["garage"].power_w == 11_400.0


def test_an_offline_report_with_junk_still_counts_as_offline() -> None:
    house, _ = one_car()
    house.on_charger_reading("car", report(0.0, actual_a=10.0), {})
    house.on_charger_reading("car", ChargerReading(1.0, True, True, actual_a=1e308, online=False), {})
    kept = house.charger_readings["garage"]
    assert not kept.online and kept.actual_a == 0.0


@pytest.mark.parametrize(
    "reading",
    [
        MeterReading(t_s=1.0, grid_w=-1e12),  # emon/data pwr1: -1e12
        MeterReading(t_s=1.0, grid_w=1e308),
        MeterReading(t_s=1.0, grid_w=100.0, pv_w=5e6),
        MeterReading(t_s=1.0, grid_w=100.0, battery_soc_pct=250.0),
        MeterReading(t_s=1.0, grid_w=100.0, currents_a=(1.0, 1e9, 2.0)),
        MeterReading(t_s=1.0, grid_w=100.0, voltages_v=(230.0, 9e9, 230.0)),
    ],
)
def test_an_implausible_meter_reading_is_ignored_like_a_malformed_one(reading: MeterReading) -> None:
    house, _ = one_car()
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=-800.0))
    before = house.site
    assert house.on_meter_reading("grid", reading) is False
    assert house.site is before and house.meter_readings["grid"].grid_w == -800.0
    assert meter_reading_problem(reading) is not None


def test_implausible_values_are_logged_once_a_minute_per_device(caplog: pytest.LogCaptureFixture) -> None:
    house, _ = one_car()
    with caplog.at_level(logging.WARNING, logger="ecotrack.runtime.house"):
        for t in range(120):
            house.on_meter_reading("grid", MeterReading(t_s=float(t), grid_w=-1e12))
    lines = [r.getMessage() for r in caplog.records if "implausible" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "meter grid" in lines[0] and "-1e+12 W" in lines[0]
    assert "59 more" in lines[1]


def test_a_lifetime_counter_accepts_plausible_steps_and_resets_only() -> None:
    counter = EnergyCounter(max_power_w=7_400.0)
    assert counter.accept(1_000_000.0, 0.0) == 1_000_000.0
    assert counter.accept(1_000_500.0, 60.0) == 1_000_500.0  # 30 kW for a minute? no: 500 Wh + 1 kWh slack
    assert counter.accept(1e305, 61.0) is None  # absurd jump ignored
    assert counter.accept(float("nan"), 62.0) is None
    assert counter.accept(-5.0, 62.0) is None
    assert counter.accept(200.0, 63.0) == 200.0 and counter.resets == 1  # went back: a reset, a new base
    assert counter.accept(200.0 + 7_400.0 * 1.5 + 1_000.0, 3663.0) is not None


def test_an_absurd_lifetime_meter_does_not_reach_the_session() -> None:
    house, now = one_car()
    house.on_charger_reading("car", report(0.0, actual_a=10.0), {"lifetime_kwh": 1000.0})
    now[0] = 1.0
    house.on_charger_reading("car", report(1.0, actual_a=10.0), {"lifetime_kwh": 1e300})
    session = house.loadpoint("garage").tracker.session
    assert session is not None and session.meter_end_wh == 1_000_000.0


def test_a_stored_session_with_absurd_energy_resumes_from_zero() -> None:
    house, _ = one_car()
    stored = Session(id="a" * 32, loadpoint="garage", charger="car", started=T0, energy_wh=1.5e303, solar_wh=1e303)
    house.restore_session(stored)
    session = house.loadpoint("garage").tracker.session
    assert session is not None and session.energy_wh == 0.0 and session.id == stored.id


def test_the_log_limiter_holds_back_per_key() -> None:
    limiter = LogLimiter(60.0)
    assert limiter.allow("a", 0.0) == 0
    assert limiter.allow("a", 30.0) is None
    assert limiter.allow("b", 30.0) == 0
    assert limiter.allow("a", 61.0) == 1
