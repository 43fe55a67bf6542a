"""Planning rules: schedules, plans (energy and SoC), daylight, non-scheduled action, TWCManager order."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ecotrack.core.model import Mode
from ecotrack.planning.config import RulesConfig
from ecotrack.planning.rules import DaylightRule, NonScheduledRule, PlanRule, PlanTarget, ScheduleRule
from ecotrack.planning.sun import is_daylight, sun_times
from ecotrack.runtime.rules import ChargeNow, RuleContext, RuleOutcome, default_rules, evaluate
from ecotrack.runtime.sessions import Session
from ecotrack.tariffs.base import PriceSlot
from ecotrack.tariffs.static import FlatTariff
from ecotrack.weekly.windows import WeeklyWindow

UTC_TZ = ZoneInfo("UTC")
NIGHT = WeeklyWindow(time(22, 0), time(6, 0), frozenset(range(7)), UTC_TZ)
NOW = datetime(2024, 6, 21, 23, 0, tzinfo=UTC)


def session(energy_wh: float = 0.0) -> Session:
    return Session(
        id="s", loadpoint="garage", charger="car", started=NOW - timedelta(hours=1), energy_wh=energy_wh
    )


def ctx(now: datetime = NOW, **kw: Any) -> RuleContext:
    base: dict[str, Any] = {"loadpoint": "garage", "now": now, "user_mode": Mode.PV, "session": session()}
    base.update(kw)
    return RuleContext(**base)


class Prices:
    """A tariff with hourly prices from NOW (the planner sees exactly these)."""

    currency = "EUR"
    feed_in = 0.08
    fallback_price = 0.40

    def __init__(self, prices: list[float]) -> None:
        self._slots = [
            PriceSlot(NOW + timedelta(hours=i), NOW + timedelta(hours=i + 1), p) for i, p in enumerate(prices)
        ]

    def price_at(self, when: datetime) -> float | None:
        return next((s.price for s in self._slots if s.start <= when < s.end), None)

    def slots(self, start: datetime, end: datetime) -> list[PriceSlot]:
        return [
            PriceSlot(max(s.start, start), min(s.end, end), s.price)
            for s in self._slots
            if s.end > start and s.start < end
        ]


def plan_rule(
    target: PlanTarget, prices: list[float], by: time = time(7, 0), power_w: float = 3680.0
) -> PlanRule:
    return PlanRule("commute", "garage", target, by, frozenset(range(7)), UTC_TZ, power_w, Prices(prices))


def test_twcmanagers_order_charge_now_schedule_plan_daylight_non_scheduled() -> None:
    plan = plan_rule(PlanTarget(energy_wh=3000), [0.1] * 8)
    rules = default_rules()
    rules[-1:-1] = [ScheduleRule("night", NIGHT, 16), plan, DaylightRule(52.5, 13.4), NonScheduledRule("off")]
    assert RulesConfig().order == ["schedule", "plan", "daylight", "non_scheduled"]
    # charge now beats the schedule
    request = ChargeNow(started=NOW, amps=10)
    assert evaluate(rules, ctx(charge_now=request)).rule == "charge-now"
    # the schedule beats the plan at 23:00
    assert evaluate(rules, ctx()) == RuleOutcome(Mode.NOW, max_a=16, rule="schedule:night")
    # at noon: no schedule, the plan needs nothing more (target reached) -> daylight
    noon = datetime(2024, 6, 21, 12, 0, tzinfo=UTC)
    assert evaluate(rules, ctx(noon, session=session(5000))).rule == "daylight"
    # at 21:30 UTC in Berlin it is dark: the non-scheduled action
    assert evaluate(
        rules, ctx(datetime(2024, 6, 21, 21, 30, tzinfo=UTC), session=session(5000))
    ) == RuleOutcome(Mode.OFF, rule="non-scheduled")


def test_rules_pass_when_the_user_switched_off_and_for_other_loadpoints() -> None:
    sched = ScheduleRule("night", NIGHT, 16, frozenset({"street"}))
    assert sched.evaluate(ctx()) is None
    assert ScheduleRule("night", NIGHT).evaluate(ctx(user_mode=Mode.OFF)) is None
    assert ScheduleRule("night", NIGHT, respect_off=False).evaluate(ctx(user_mode=Mode.OFF)) is not None
    assert (
        DaylightRule(0, 0).evaluate(ctx(datetime(2024, 6, 21, 12, 0, tzinfo=UTC), user_mode=Mode.OFF)) is None
    )
    assert NonScheduledRule("charge", 8).evaluate(ctx()) == RuleOutcome(
        Mode.NOW, max_a=8, rule="non-scheduled"
    )
    assert NonScheduledRule("pv").evaluate(ctx()) == RuleOutcome(Mode.PV, rule="non-scheduled")
    with pytest.raises(ValueError, match="unknown non-scheduled action"):
        NonScheduledRule("dance")


def test_a_plan_charges_in_its_cheapest_slots_and_passes_between_them() -> None:
    # 7 kWh by 07:00 at 3.68 kW from 23:00; prices by hour from 23:00: the cheapest are 02:00 and 03:00
    rule = plan_rule(PlanTarget(energy_wh=7000), [0.30, 0.30, 0.25, 0.10, 0.12, 0.30, 0.30, 0.30])
    assert rule.evaluate(ctx()) is None  # 23:00 is expensive: left to the rules after it
    assert rule.plan is not None and rule.plan.feasible
    assert "7.0 kWh by 2024-06-22 07:00" in rule.status
    at_two = NOW + timedelta(hours=3, minutes=10)
    assert rule.evaluate(ctx(at_two)) == RuleOutcome(Mode.NOW, rule="plan:commute")
    # once the session has the energy, the plan passes
    assert rule.evaluate(ctx(at_two + timedelta(minutes=1), session=session(7000))) is None
    # no car: idle
    assert rule.evaluate(ctx(session=None)) is None and rule.status == "no car connected"


def test_a_plan_that_cannot_be_met_charges_all_the_time_and_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # other tests may configure logging (dictConfig disables existing loggers); make sure this one logs
    monkeypatch.setattr(logging.getLogger("ecotrack.planning.rules"), "disabled", False)
    caplog.set_level(logging.WARNING, logger="ecotrack.planning.rules")
    rule = plan_rule(PlanTarget(energy_wh=60_000), [0.3] * 8)
    outcome = rule.evaluate(ctx())
    assert outcome == RuleOutcome(Mode.NOW, rule="plan:commute (cannot be met)")
    assert rule.plan is not None and not rule.plan.feasible
    assert rule.status.startswith("cannot be met: needs 60.0 kWh by 2024-06-22 07:00")
    assert "cannot be met" in caplog.text


def test_a_soc_plan_needs_the_vehicles_soc() -> None:
    rule = plan_rule(PlanTarget(soc_pct=80, battery_wh=50_000), [0.3] * 8)
    assert rule.evaluate(ctx()) is None and "does not report its state of charge" in rule.status
    assert rule.need_wh(ctx(soc_pct=40)) == pytest.approx(20_000)  # 40 % of 50 kWh
    rule.evaluate(ctx(soc_pct=40))
    assert rule.plan is not None and rule.plan.need_wh == pytest.approx(20_000)


def test_the_plan_deadline_is_the_next_selected_day(tmp_path: object) -> None:
    rule = PlanRule(
        "p",
        "garage",
        PlanTarget(energy_wh=1000),
        time(7, 0),
        frozenset({0}),
        ZoneInfo("Europe/Berlin"),
        3680,
        FlatTariff(0.3),
    )
    fri = datetime(2024, 6, 21, 12, 0, tzinfo=UTC)
    assert rule.next_deadline(fri) == datetime(2024, 6, 24, 5, 0, tzinfo=UTC)  # Monday 07:00 CEST


@pytest.mark.parametrize(
    ("lat", "lon", "day", "rise", "set_"),
    [
        # reference values from pvlib's SPA (sun_rise_set_transit_spa), in UTC
        (52.52, 13.4, date(2024, 6, 21), datetime(2024, 6, 21, 2, 43, 12), datetime(2024, 6, 21, 19, 33, 24)),
        (
            52.52,
            13.4,
            date(2024, 12, 21),
            datetime(2024, 12, 21, 7, 15, 9),
            datetime(2024, 12, 21, 14, 54, 12),
        ),
        (
            -33.87,
            151.2,
            date(2024, 6, 21),
            datetime(2024, 6, 20, 21, 0, 18),
            datetime(2024, 6, 21, 6, 53, 58),
        ),
        (
            40.7,
            -74.0,
            date(2024, 3, 10),
            datetime(2024, 3, 10, 11, 14, 52),
            datetime(2024, 3, 10, 22, 57, 55),
        ),
    ],
)
def test_sunrise_and_sunset_within_three_minutes_of_spa(
    lat: float, lon: float, day: date, rise: datetime, set_: datetime
) -> None:
    t = sun_times(day, lat, lon)
    assert t.sunrise is not None and t.sunset is not None
    assert abs(t.sunrise - rise.replace(tzinfo=UTC)) < timedelta(minutes=3)
    assert abs(t.sunset - set_.replace(tzinfo=UTC)) < timedelta(minutes=3)
    assert is_daylight(rise.replace(tzinfo=UTC) + timedelta(minutes=5), lat, lon)
    assert not is_daylight(rise.replace(tzinfo=UTC) - timedelta(minutes=5), lat, lon)
    assert not is_daylight(set_.replace(tzinfo=UTC) + timedelta(minutes=5), lat, lon)


def test_polar_day_and_night() -> None:
    assert sun_times(date(2024, 6, 21), 78.2, 15.6).polar == "day"  # Svalbard
    assert is_daylight(datetime(2024, 6, 21, 0, 0, tzinfo=UTC), 78.2, 15.6)
    assert not is_daylight(datetime(2024, 12, 21, 12, 0, tzinfo=UTC), 78.2, 15.6)
