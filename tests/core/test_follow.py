"""The car's draw while the charger's report lags the meter: the pure estimate, and the controller using it.

The controller tests replay what a charger whose report is one reading late looks like: the meter
already shows the car at its new current while the report still shows the old one. Before the
estimate, each of them cut, raised back or restarted on a phantom deficit or surplus.
"""

from __future__ import annotations

import math

import pytest

from ecotrack.core.control import Controller
from ecotrack.core.follow import (
    MAX_REPORT_DELAY_S,
    FollowModel,
    estimated_draw_a,
    following_a,
    learned_report_delay_s,
)
from ecotrack.core.model import ChargerReading, Mode, SiteReading

from .harness import V, lp, site, tuning

CAR = FollowModel(start_s=5.0, dead_s=1.0, ramp_a_per_s=3.0, cut_s=5.0)


# ------------------------------------------------------------------ the pure model
@pytest.mark.parametrize(
    ("before_a", "command_a", "since_s", "expected_a"),
    [
        (0.0, 10.0, 0.0, 0.0),  # from a pause: nothing during the start delay
        (0.0, 10.0, 4.9, 0.0),
        (0.0, 10.0, 5.0, 6.0),  # then the minimum ...
        (0.0, 10.0, 6.0, 9.0),  # ... and the ramp
        (0.0, 10.0, 60.0, 10.0),  # never above the command
        (0.0, 4.0, 5.0, 4.0),  # a command below the minimum is all the car gets
        (12.0, 15.0, 1.0, 12.0),  # a charging car: dead time
        (12.0, 15.0, 2.0, 15.0),  # then 3 A/s
        (6.0, 16.0, 3.0, 12.0),
        (12.0, 8.0, 0.0, 8.0),  # not a raise: the command
    ],
)
def test_following(before_a: float, command_a: float, since_s: float, expected_a: float) -> None:
    got = following_a(before_a=before_a, command_a=command_a, min_a=6.0, since_s=since_s, model=CAR)
    assert got == pytest.approx(expected_a)


@pytest.mark.parametrize(
    ("reported_a", "previous_a", "command_a", "from_a", "since_from_s", "since_command_s", "expected_a"),
    [
        # A raise 12 -> 15 two seconds ago, the report still says 12: the car draws 15 by now.
        (12.0, 12.0, 15.0, 12.0, 2.0, 2.0, 15.0),
        # ... one second ago: still in its dead time, the report is right.
        (12.0, 12.0, 15.0, 12.0, 1.0, 1.0, 12.0),
        # The report already shows more than the model: the report wins.
        (14.0, 12.0, 16.0, 12.0, 1.0, 1.0, 14.0),
        # The report shows the car followed: the report.
        (14.5, 12.0, 15.0, 12.0, 2.0, 2.0, 14.5),
        # Past the window without the report following (a car capped at 4 A): the report, no wind-up.
        (4.0, 0.0, 10.0, 0.0, 10.0, 10.0, 4.0),
        # A start cut back to 6 A before the report showed anything: the car ramps to the 6 A from the start.
        (0.0, 10.0, 6.0, 0.0, 8.0, 6.0, 6.0),
        # A cut 16 -> 10: the report counts while the car may still be cutting (5 s) ...
        (16.0, 16.0, 10.0, 16.0, 2.0, 2.0, 16.0),
        # ... then never more than the command.
        (16.0, 16.0, 10.0, 16.0, 6.0, 6.0, 10.0),
        # A cut the report shows: the report.
        (9.5, 16.0, 10.0, 16.0, 6.0, 6.0, 9.5),
    ],
)
def test_estimated_draw(
    reported_a: float,
    previous_a: float,
    command_a: float,
    from_a: float,
    since_from_s: float,
    since_command_s: float,
    expected_a: float,
) -> None:
    got = estimated_draw_a(
        reported_a=reported_a,
        previous_a=previous_a,
        command_a=command_a,
        from_a=from_a,
        since_from_s=since_from_s,
        since_command_s=since_command_s,
        min_a=6.0,
        window_s=10.0,
        tolerance_a=1.0,
        model=CAR,
    )
    assert got == pytest.approx(expected_a)


@pytest.mark.parametrize(
    ("delays_s", "expected_s"),
    [
        ((), 0.0),
        ((0.0, 0.0), 0.0),
        ((2.0, 0.0, 10.0), 10.0),  # the largest recent one
        ((30.0, 0.0, 0.0, 0.0, 0.0, 0.0), 0.0),  # only the last five cuts count
        ((math.nan, 4.0), 4.0),
        ((1e6,), MAX_REPORT_DELAY_S),
    ],
)
def test_learned_report_delay(delays_s: tuple[float, ...], expected_s: float) -> None:
    assert learned_report_delay_s(delays_s) == expected_s


# ------------------------------------------------------------------ the controller with a lagging report
class LaggingSite:
    """One ``pv`` car that follows every command before the next reading, and a report one reading late."""

    def __init__(self, surplus_w: float, **lp_kw: object) -> None:
        params = lp(mode=Mode.PV, enable_delay_s=0.0, disable_energy_wh=0.0, **lp_kw)
        self.controller = Controller(site(params, tuning=tuning(round_up_fraction=0.9)))
        self.surplus_w = surplus_w
        self.drawn_a = 0.0  # what the car draws now (the meter sees it)
        self.reported_a = 0.0  # what the charger says (the draw one reading ago)

    def reading(self, t: float) -> float:
        c = self.controller
        c.on_charger_reading(
            "car",
            ChargerReading(t_s=t, connected=True, charging=self.reported_a > 0, actual_a=self.reported_a),
        )
        c.on_site_reading(SiteReading(t_s=t, grid_w=-self.surplus_w + self.drawn_a * V))
        offered = c.step(t).current_of("car")
        self.reported_a = self.drawn_a
        self.drawn_a = offered  # a quick car: draws the offer by the next reading
        return offered


def test_a_steady_sun_with_a_lagging_report_does_not_flip_between_currents() -> None:
    # 15.7 A of surplus. Without the estimate: 15 A, then the meter shows 15 A beside a report of 12 A
    # (a 690 W phantom deficit), cut to 12 A, raise to 15 A, ... every 4 s.
    s = LaggingSite(3_608.0)
    s.drawn_a = s.reported_a = 12.0
    s.controller.set_mode("car", Mode.PV)
    offers = [s.reading(float(t)) for t in range(0, 120, 2)]
    assert offers[5:] == [15.0] * len(offers[5:])


def test_a_cut_is_not_raised_back_while_the_report_still_shows_the_draw_before_it() -> None:
    c = Controller(site(lp(mode=Mode.MINPV), tuning=tuning(settle_s=10.0)))

    def at(t: float, reported_a: float, grid_w: float) -> float:
        c.on_charger_reading("car", ChargerReading(t_s=t, connected=True, charging=True, actual_a=reported_a))
        c.on_site_reading(SiteReading(t_s=t, grid_w=grid_w))
        return c.step(t).current_of("car")

    assert at(0.0, 16.0, -0.0) == 16.0
    # A cloud: 2300 W of surplus, the car at 16 A imports 1380 W: cut to 10 A.
    assert at(2.0, 16.0, 16 * V - 2_300.0) == 10.0
    # The car cut at once (the meter shows 10 A), the report still says 16 A: the surplus reads 3680 W.
    # Raising back to 16 A would import 1380 W again.
    assert at(4.0, 16.0, 10 * V - 2_300.0) == 10.0
    # The report catches up: 10 A, no change.
    assert at(6.0, 10.0, 10 * V - 2_300.0) == 10.0


def test_a_stopped_car_is_not_restarted_on_the_draw_its_report_still_shows() -> None:
    c = Controller(
        site(lp(mode=Mode.PV, enable_delay_s=0.0, disable_energy_wh=0.0), tuning=tuning(settle_s=10.0))
    )

    def at(t: float, reported_a: float, grid_w: float) -> float:
        c.on_charger_reading("car", ChargerReading(t_s=t, connected=True, charging=True, actual_a=reported_a))
        c.on_site_reading(SiteReading(t_s=t, grid_w=grid_w))
        return c.step(t).current_of("car")

    assert at(0.0, 0.0, -2_300.0) == 10.0
    assert at(20.0, 10.0, 0.0) == 10.0  # followed
    # Surplus gone (the car at 10 A imports it all): stopped.
    assert at(22.0, 10.0, 10 * V + 300.0) == 0.0
    # The car stopped (the meter shows only the house); its report still says 10 A: 2000 W "surplus".
    d = c.step(23.0)
    for t in (24.0, 26.0):
        assert at(t, 10.0, 300.0) == 0.0, t
    d = c.step(26.0)
    assert d.loadpoints[0].reason == "pv: waiting for the charger to report the stop"


def test_the_settle_time_grows_with_how_late_the_reports_run() -> None:
    # A charger whose reports run 10 s late (OCPP MeterValues every 10 s): after a start, the meter shows
    # the car long before the report. Learned from a cut, the controller waits that much longer.
    c = Controller(
        site(lp(mode=Mode.PV, enable_delay_s=0.0, disable_energy_wh=0.0), tuning=tuning(settle_s=10.0))
    )

    def at(t: float, reported_a: float, grid_w: float) -> float:
        c.on_charger_reading("car", ChargerReading(t_s=t, connected=True, charging=True, actual_a=reported_a))
        c.on_site_reading(SiteReading(t_s=t, grid_w=grid_w))
        return c.step(t).current_of("car")

    # Charging at 12 A, settled; a cut to 8 A that the report shows only 10 s later.
    assert at(0.0, 0.0, -12 * V) == 12.0
    assert at(30.0, 12.0, 0.0) == 12.0
    assert at(32.0, 12.0, 4 * V) == 8.0
    for t in range(34, 44, 2):
        assert at(float(t), 12.0, 0.0) == 8.0, t
    assert at(44.0, 8.0, 0.0) == 8.0
    # Now a raise to 12 A: the car follows within 3 s, the report shows it 10 s later; the surplus stays.
    assert at(60.0, 8.0, -4 * V) == 12.0
    for t in range(62, 76, 2):
        assert at(float(t), 8.0, 0.0) == 12.0, t  # settle_s alone (10 s) would cut at 70 s
    assert at(76.0, 12.0, 0.0) == 12.0
