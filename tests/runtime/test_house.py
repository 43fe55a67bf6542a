"""The House on its own: one car-power rule everywhere, meter roles, user intents that refuse junk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecotrack.core.model import ChargerReading, LoadpointParams, MeterReading, Mode, SiteParams
from ecotrack.core.site import MeterRoles
from ecotrack.runtime.house import DriverLimits, House
from ecotrack.runtime.loadpoint import ChargerFacts
from ecotrack.runtime.setup import SiteSetup

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def one_car(**site: object) -> tuple[House, list[float]]:
    """A site with one 1-phase loadpoint at 230 V nominal; returns the house and a settable clock."""
    now = [0.0]
    params = SiteParams(loadpoints=(LoadpointParams("garage", min_a=6, max_a=16, mode=Mode.PV),), **site)  # type: ignore[arg-type]
    house = House(
        SiteSetup(params, MeterRoles("grid", pv_meters=("roof",)), {"garage": "car"}),
        {"car": DriverLimits(32.0)},
        wall=lambda: T0 + timedelta(seconds=now[0]),
    )
    return house, now


def test_car_power_is_one_rule_for_the_core_the_session_and_the_state() -> None:
    """10 A at a reported 240 V, no power figure: 2,400 W everywhere (the dashboard used to say 2,300 W)."""
    house, now = one_car()
    sessions: list[tuple[str, float]] = []
    house.add_session_listener(lambda kind, s: sessions.append((kind, s.energy_wh)))
    report = ChargerReading(t_s=0.0, connected=True, charging=True, actual_a=10.0, voltage_v=240.0)
    house.on_charger_reading("car", report, {})
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=-500.0))
    assert house.power_w("garage") == pytest.approx(2400.0)
    # the core counts the car's 2,400 W as surplus it may keep using: 500 W export + 2,400 W
    decision = house.step(0.0)
    assert decision is not None and decision.surplus_w == pytest.approx(2900.0)
    # the session integrates the same power: 36 s at 2,400 W is 24 Wh
    now[0] = 36.0
    house.on_charger_reading("car", ChargerReading(36.0, True, True, actual_a=10.0, voltage_v=240.0), {})
    session = house.loadpoint("garage").tracker.session
    assert session is not None and session.energy_wh == pytest.approx(24.0)
    facts = ChargerFacts(reading=report, error=None, running=True, details={})
    (state,) = house.loadpoint_snapshots({"garage": facts})
    assert state.power_w == pytest.approx(2400.0)


def test_an_implausible_charger_voltage_falls_back_to_the_site_meter_then_nominal() -> None:
    house, _ = one_car()
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=0.0, voltage_v=236.0))
    house.on_charger_reading("car", ChargerReading(0.0, True, True, actual_a=10.0, voltage_v=9999.0), {})
    assert house.power_w("garage") == pytest.approx(2360.0)
    house.on_meter_reading("grid", MeterReading(t_s=1.0, grid_w=0.0, voltage_v=None))
    assert house.power_w("garage") == pytest.approx(2300.0)


def test_pv_comes_from_the_pv_meter_only_while_it_is_fresh() -> None:
    house, _ = one_car(max_meter_age_s=30.0)
    house.on_meter_reading("roof", MeterReading(t_s=0.0, pv_w=3000.0))
    house.on_meter_reading("grid", MeterReading(t_s=10.0, grid_w=-1000.0))
    assert house.site is not None and house.site.pv_w == 3000.0
    house.on_meter_reading("grid", MeterReading(t_s=45.0, grid_w=-1000.0))
    assert house.site is not None and house.site.pv_w is None  # the roof's reading is 45 s old


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("set_current_range", (5.0, 10.0)),  # below the configured minimum
        ("set_current_range", (6.0, 17.0)),  # above the configured maximum
        ("set_current_range", (float("nan"), 10.0)),
        ("charge_now", (40.0, None)),
        ("charge_now", (10.0, T0 - timedelta(seconds=1))),  # ends in the past
        ("charge_now", (10.0, datetime(2026, 6, 22))),  # no time zone
        ("set_energy_limit", (float("inf"),)),
        ("set_energy_limit", (-1.0,)),
        ("set_mode", ("fast",)),
    ],
)
def test_junk_intents_are_refused_and_change_nothing(call: str, args: tuple[object, ...]) -> None:
    house, _ = one_car()
    lp = house.loadpoint("garage")
    before = (lp.user_mode, lp.user_range, lp.charge_now_request, lp.energy_limit_wh)
    with pytest.raises(ValueError):
        getattr(house, call)("garage", *args)
    assert (lp.user_mode, lp.user_range, lp.charge_now_request, lp.energy_limit_wh) == before


def test_an_unknown_loadpoint_is_a_key_error() -> None:
    house, _ = one_car()
    with pytest.raises(KeyError):
        house.set_mode("driveway", Mode.NOW)


def test_a_raise_waits_for_a_decision_taken_after_the_last_intent_and_within_a_tick() -> None:
    """A user lowers the maximum between two steps: the stale 16 A must not go out."""
    house, _ = one_car()
    house.set_mode("garage", Mode.NOW)
    house.on_charger_reading("car", ChargerReading(t_s=0.0, connected=True, charging=True), {})
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=0.0))
    house.step(0.0)
    assert house.loadpoint("garage").desired_a == 16.0
    house.set_current_range("garage", max_a=10.0)
    assert house.next_command("garage", 0.0) is None  # the decision predates the intent
    house.step(0.0)
    assert house.next_command("garage", 0.0) == 10.0
    house.loadpoint("garage").command_delivered(10.0)
    house.set_current_range("garage", max_a=16.0)
    house.step(0.0)
    assert house.next_command("garage", 5.0) is None  # five seconds later: older than a tick
    house.step(5.0)
    assert house.next_command("garage", 5.0) == 16.0
