"""Failsafe: a grid reading older than ``max_meter_age_s`` stops ``pv`` and drops ``minpv`` to its minimum."""

from __future__ import annotations

import math

import pytest

from ecotrack.core.control import Controller
from ecotrack.core.model import ChargerReading, Decision, Mode, SiteReading

from .harness import lp, site

SURPLUS_W = 3_000.0  # 13 A on one phase


def make(max_age_s: float = 30.0) -> Controller:
    params = site(
        lp("pv", mode=Mode.PV, enable_delay_s=0.0),
        lp("minpv", mode=Mode.MINPV),
        lp("now", mode=Mode.NOW),
        lp("off", mode=Mode.OFF),
        max_meter_age_s=max_age_s,
    )
    c = Controller(params)
    for name in ("pv", "minpv", "now", "off"):
        c.on_charger_reading(name, ChargerReading(t_s=0.0, connected=True, charging=False))
    return c


def amps(d: Decision) -> dict[str, float]:
    return {x.name: x.current_a for x in d.loadpoints}


def test_failsafe_fires_one_tick_after_the_max_age() -> None:
    c = make(30.0)
    c.on_site_reading(SiteReading(t_s=0.0, grid_w=-3 * SURPLUS_W))  # enough for both solar cars
    first = c.step(0.0)
    assert not first.failsafe
    assert amps(first)["pv"] > 6.0 and amps(first)["minpv"] > 6.0
    normal = amps(first)
    for t in (1.0, 10.0, 29.0, 30.0):  # at exactly the max age: still normal
        d = c.step(t)
        assert not d.failsafe, t
        assert amps(d) == normal, t
    d = c.step(31.0)  # the next 1 s tick
    assert d.failsafe
    assert d.surplus_w is None
    assert amps(d) == {"pv": 0.0, "minpv": 6.0, "now": 16.0, "off": 0.0}
    assert {x.name: x.status for x in d.loadpoints}["pv"] == "failsafe"
    assert c.step(500.0).failsafe


def test_failsafe_between_ticks() -> None:
    c = make(30.0)
    c.on_site_reading(SiteReading(t_s=0.0, grid_w=-9_000.0))
    c.step(0.0)
    assert c.step(30.000001).failsafe


def test_no_reading_at_all_is_failsafe() -> None:
    d = make().step(0.0)
    assert d.failsafe
    assert amps(d) == {"pv": 0.0, "minpv": 6.0, "now": 16.0, "off": 0.0}


@pytest.mark.parametrize("junk", [None, math.nan, math.inf, -math.inf, 1e12])
def test_junk_grid_readings_are_ignored_and_the_held_one_ages(junk: float | None) -> None:
    c = make(30.0)
    c.on_site_reading(SiteReading(t_s=0.0, grid_w=-9_000.0))
    c.step(0.0)
    for t in (10.0, 20.0, 30.0):
        assert c.on_site_reading(SiteReading(t_s=t, grid_w=junk)) is False
        assert not c.step(t).failsafe
    assert c.on_site_reading(SiteReading(t_s=31.0, grid_w=junk)) is False
    d = c.step(31.0)
    assert d.failsafe
    assert amps(d)["pv"] == 0.0 and amps(d)["minpv"] == 6.0


def test_an_older_reading_arriving_late_does_not_refresh() -> None:
    c = make(30.0)
    c.on_site_reading(SiteReading(t_s=20.0, grid_w=-9_000.0))
    c.step(20.0)
    assert c.on_site_reading(SiteReading(t_s=15.0, grid_w=-9_000.0)) is False
    assert c.step(51.0).failsafe


def test_a_non_finite_timestamp_is_refused() -> None:
    c = make(30.0)
    assert c.on_site_reading(SiteReading(t_s=math.nan, grid_w=-9_000.0)) is False
    assert c.on_site_reading(SiteReading(t_s=math.inf, grid_w=-9_000.0)) is False
    assert c.step(0.0).failsafe


def test_fresh_readings_resume_normal_control() -> None:
    c = make(30.0)
    c.on_site_reading(SiteReading(t_s=0.0, grid_w=-2 * SURPLUS_W))
    c.step(0.0)
    assert c.step(40.0).failsafe
    # The cars report what they draw in failsafe (pv 0 A, minpv 6 A) and a fresh reading arrives.
    c.on_charger_reading("minpv", ChargerReading(t_s=41.0, connected=True, charging=True, actual_a=6.0))
    c.on_site_reading(SiteReading(t_s=41.0, grid_w=-2 * SURPLUS_W + 6 * 230.0))
    d = c.step(41.0)
    assert not d.failsafe
    assert d.surplus_w == pytest.approx(2 * SURPLUS_W)
    # pv starts again (enable delay 0) and the two share the surplus: 3000 W each -> 13 A.
    assert amps(d) == {"pv": 13.0, "minpv": 13.0, "now": 16.0, "off": 0.0}


def test_max_age_is_the_configured_one() -> None:
    c = make(5.0)
    c.on_site_reading(SiteReading(t_s=0.0, grid_w=-9_000.0))
    assert not c.step(5.0).failsafe
    assert c.step(6.0).failsafe


def test_pv_restarts_only_after_a_new_enable_delay_once_data_is_back() -> None:
    params = site(lp("pv", mode=Mode.PV, enable_delay_s=20.0), max_meter_age_s=30.0)
    c = Controller(params)
    c.on_charger_reading("pv", ChargerReading(t_s=0.0, connected=True, charging=False))
    got = []
    for t in [0.0, 10.0, 20.0, 51.0, 60.0, 70.0, 80.0]:
        if t != 51.0:  # the meter falls silent between 20 and 60
            c.on_site_reading(SiteReading(t_s=t, grid_w=-3_000.0))
        got.append((t, c.step(t).current_of("pv")))
    assert got == [(0.0, 0.0), (10.0, 0.0), (20.0, 13.0), (51.0, 0.0), (60.0, 0.0), (70.0, 0.0), (80.0, 13.0)]


def test_a_reading_from_the_future_does_not_freeze_the_controller() -> None:
    c = make(30.0)
    c.on_site_reading(SiteReading(t_s=1_000_000.0, grid_w=-9_000.0))  # a meter with a broken clock
    c.step(0.0)
    # The house now imports 5 kW; readings with correct timestamps keep arriving.
    for t in range(10, 101, 10):
        c.on_site_reading(SiteReading(t_s=float(t), grid_w=5_000.0))
    d = c.step(100.0)
    assert amps(d)["pv"] == 0.0
    assert amps(d)["minpv"] == 6.0
