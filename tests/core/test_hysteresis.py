"""Start/stop hysteresis of ``pv`` loadpoints, with a fake clock and a car that follows at once.

Every number the tests depend on is set explicitly (the defaults are tuned in the simulator).
Minimum power: 6 A x 230 V = 1380 W.
"""

from __future__ import annotations

from ecotrack.core.model import Mode

from .harness import MIN_W, FakeSite, lp, site

EVERY_S = 5.0
ENOUGH_W = 2_000.0  # above the minimum: 8 A
LITTLE_W = 500.0  # far below the minimum


def make(**kw: object) -> FakeSite:
    params: dict[str, object] = {
        "mode": Mode.PV,
        "enable_threshold_w": 0.0,
        "enable_delay_s": 60.0,
        "disable_threshold_w": 0.0,
        "disable_delay_s": 3_600.0,
        "disable_energy_wh": 10_000.0,
    }
    params.update(kw)
    fs = FakeSite(site(lp(**params)))
    fs.connect(0.0)
    return fs


def drive(fs: FakeSite, profile: list[tuple[float, float]], t_end: float) -> list[tuple[float, float, str]]:
    """Readings every EVERY_S s until ``t_end``; ``profile`` = [(from_t, house_surplus_w), ...]."""
    out = []
    t = 0.0
    while t < t_end:
        surplus = [w for t0, w in profile if t0 <= t][-1]
        d = fs.reading(t, surplus)
        out.append((t, d.current_of("car"), d.loadpoints[0].status))
        t += EVERY_S
    return out


def first_on(trace: list[tuple[float, float, str]]) -> float | None:
    return next((t for t, a, _ in trace if a > 0), None)


def first_off_after(trace: list[tuple[float, float, str]], t0: float) -> float | None:
    return next((t for t, a, _ in trace if t > t0 and a == 0.0), None)


# ------------------------------------------------------------------ start
def test_starts_after_the_enable_delay_of_enough_surplus() -> None:
    trace = drive(make(enable_delay_s=60.0), [(0.0, ENOUGH_W)], 200.0)
    assert first_on(trace) == 60.0
    assert all(status == "starting" for t, _, status in trace if t < 60.0)
    assert dict((t, a) for t, a, _ in trace)[60.0] == 8.0


def test_zero_delay_starts_on_the_first_reading() -> None:
    assert first_on(drive(make(enable_delay_s=0.0), [(0.0, ENOUGH_W)], 20.0)) == 0.0


def test_a_short_peak_does_not_start() -> None:
    trace = drive(make(enable_delay_s=60.0), [(0.0, ENOUGH_W), (40.0, LITTLE_W)], 900.0)
    assert first_on(trace) is None


def test_a_dip_during_the_delay_restarts_the_timer() -> None:
    profile = [(0.0, ENOUGH_W), (45.0, LITTLE_W), (50.0, ENOUGH_W)]
    assert first_on(drive(make(enable_delay_s=60.0), profile, 300.0)) == 110.0


def test_the_enable_threshold_asks_for_more_than_the_minimum() -> None:
    fs_kw = {"enable_delay_s": 0.0, "enable_threshold_w": 300.0}
    assert first_on(drive(make(**fs_kw), [(0.0, MIN_W + 200.0)], 300.0)) is None
    assert first_on(drive(make(**fs_kw), [(0.0, MIN_W + 300.0)], 300.0)) == 0.0


def test_surplus_below_the_minimum_never_starts() -> None:
    assert first_on(drive(make(enable_delay_s=0.0), [(0.0, MIN_W - 1.0)], 3_600.0)) is None


# ------------------------------------------------------------------- stop
def test_a_short_dip_holds_the_minimum_and_does_not_stop() -> None:
    fs = make(enable_delay_s=0.0, disable_delay_s=300.0, disable_energy_wh=50.0)
    # A 30 s kettle: 0 W surplus; 1380 W x 30 s = 11.5 Wh, well inside 50 Wh and 300 s.
    trace = drive(fs, [(0.0, ENOUGH_W), (100.0, 0.0), (130.0, ENOUGH_W)], 400.0)
    during = [(a, s) for t, a, s in trace if 100.0 <= t < 130.0]
    assert during and all(a == 6.0 and s == "holding" for a, s in during)
    assert all(a > 0 for _, a, _ in trace)
    assert trace[-1][1] == 8.0


def test_stops_when_the_grid_energy_exceeds_the_budget() -> None:
    budget_wh = 10.0
    fs = make(enable_delay_s=0.0, disable_delay_s=3_600.0, disable_energy_wh=budget_wh)
    dip_at = 100.0
    trace = drive(fs, [(0.0, ENOUGH_W), (dip_at, LITTLE_W)], 400.0)
    # Each reading in the dip adds (1380 - 500) W x 5 s of grid energy; the charge stops at the first
    # reading that takes the total over the budget.
    per_reading_wh = (MIN_W - LITTLE_W) * EVERY_S / 3600.0
    k = 1
    while k * per_reading_wh <= budget_wh:
        k += 1
    expected_stop = dip_at + (k - 1) * EVERY_S
    assert first_off_after(trace, 0.0) == expected_stop
    held = [a for t, a, _ in trace if dip_at <= t < expected_stop]
    assert held and set(held) == {6.0}
    stop_status = next(s for t, _, s in trace if t == expected_stop)
    assert stop_status == "waiting"


def test_stops_when_the_deficit_lasts_longer_than_the_delay() -> None:
    # A small deficit (80 W) that would take hours to use up the energy budget.
    fs = make(enable_delay_s=0.0, disable_delay_s=60.0, disable_energy_wh=10_000.0)
    trace = drive(fs, [(0.0, ENOUGH_W), (100.0, MIN_W - 80.0)], 400.0)
    assert first_off_after(trace, 0.0) == 160.0
    assert all(a == 6.0 for t, a, _ in trace if 100.0 <= t < 160.0)


def test_stop_is_not_followed_by_a_restart_without_a_new_enable_delay() -> None:
    fs = make(enable_delay_s=60.0, disable_delay_s=30.0, disable_energy_wh=10_000.0)
    trace = drive(fs, [(0.0, ENOUGH_W), (100.0, LITTLE_W), (200.0, ENOUGH_W)], 400.0)
    assert first_on(trace) == 60.0
    assert first_off_after(trace, 60.0) == 130.0
    restart = next(t for t, a, _ in trace if t > 130.0 and a > 0)
    assert restart == 260.0


def test_surplus_above_the_minimum_pays_the_budget_back() -> None:
    budget_wh = 10.0
    per_reading_wh = (MIN_W - LITTLE_W) * EVERY_S / 3600.0  # 1.22 Wh
    # 6 deficit readings (7.3 Wh), then 6 readings paying back the same amount, then a long dip.
    payback_w = MIN_W + (MIN_W - LITTLE_W)
    profile = [(0.0, ENOUGH_W), (100.0, LITTLE_W), (130.0, payback_w), (160.0, LITTLE_W)]
    fs = make(enable_delay_s=0.0, disable_delay_s=3_600.0, disable_energy_wh=budget_wh)
    trace = drive(fs, profile, 600.0)
    k = 1
    while k * per_reading_wh <= budget_wh:
        k += 1
    # With the budget paid back, the second dip again lasts k readings; without it, it would stop sooner.
    assert first_off_after(trace, 0.0) == 160.0 + (k - 1) * EVERY_S
    assert k > 6  # the first dip alone must not use up the budget (else the test proves nothing)


def test_deficit_band_of_the_disable_threshold_keeps_charging_without_using_the_budget() -> None:
    fs = make(enable_delay_s=0.0, disable_threshold_w=200.0, disable_delay_s=30.0, disable_energy_wh=1.0)
    trace = drive(fs, [(0.0, ENOUGH_W), (100.0, MIN_W - 150.0)], 1_000.0)
    assert all(a == 6.0 for t, a, _ in trace if t >= 100.0)
    trace = drive(
        make(enable_delay_s=0.0, disable_threshold_w=200.0, disable_delay_s=30.0, disable_energy_wh=1.0),
        [(0.0, ENOUGH_W), (100.0, MIN_W - 250.0)],
        1_000.0,
    )
    assert first_off_after(trace, 0.0) is not None


def test_minpv_never_stops_for_lack_of_surplus() -> None:
    fs = make(mode=Mode.MINPV, disable_delay_s=10.0, disable_energy_wh=0.1)
    trace = drive(fs, [(0.0, 0.0), (300.0, -3_000.0)], 900.0)  # even while importing
    assert {a for _, a, _ in trace} == {6.0}


def test_mode_change_resets_the_hysteresis() -> None:
    fs = make(enable_delay_s=60.0)
    drive(fs, [(0.0, ENOUGH_W)], 50.0)  # timer at 45 s
    fs.controller.set_mode("car", Mode.MINPV)
    fs.controller.set_mode("car", Mode.PV)
    trace = [(t, fs.reading(t, ENOUGH_W).current_of("car")) for t in (50.0, 55.0, 60.0, 105.0, 110.0)]
    assert trace == [(50.0, 0.0), (55.0, 0.0), (60.0, 0.0), (105.0, 0.0), (110.0, 8.0)]


# ------------------------------------------------------------- solar credit
SHALLOW_W = 1_000.0  # 380 W short of the minimum; the car still takes 1000 W of solar while holding


def test_solar_taken_while_holding_grows_the_budget() -> None:
    budget_wh = 10.0
    dip_at = 100.0
    # Without credit the shallow dip ends the charge once 380 W x t passes 10 Wh (~95 s).
    plain = drive(
        make(enable_delay_s=0.0, disable_energy_wh=budget_wh), [(0.0, ENOUGH_W), (dip_at, SHALLOW_W)], 500.0
    )
    stop = first_off_after(plain, 0.0)
    assert stop is not None and dip_at + 90.0 <= stop <= dip_at + 100.0
    # With half the solar credited (500 W x t) the budget grows faster than the deficit: it holds on.
    credited = make(enable_delay_s=0.0, disable_energy_wh=budget_wh, disable_solar_credit=0.5)
    held = drive(credited, [(0.0, ENOUGH_W), (dip_at, SHALLOW_W)], 500.0)
    assert first_off_after(held, 0.0) is None
    assert {s for t, _, s in held if t > dip_at} == {"holding"}


def test_a_deep_dip_still_stops_with_solar_credit() -> None:
    # 880 W short, 500 W of solar: the budget grows by 250 W x t, the deficit by 880 W x t, so the charge
    # stops once 630 W x t passes 10 Wh (~57 s), later than without credit (~41 s) but well before the cap.
    fs = make(enable_delay_s=0.0, disable_energy_wh=10.0, disable_solar_credit=0.5)
    trace = drive(fs, [(0.0, ENOUGH_W), (100.0, LITTLE_W)], 400.0)
    stop = first_off_after(trace, 0.0)
    assert stop is not None and 150.0 <= stop <= 160.0


# ------------------------------------------------------------- a report older than the meter
def test_a_deficit_while_the_charger_has_not_followed_does_not_stop_the_car() -> None:
    from ecotrack.core.control import Controller
    from ecotrack.core.model import ChargerReading, SiteReading

    from .harness import tuning

    c = Controller(site(lp(disable_energy_wh=0.0, enable_delay_s=0.0), tuning=tuning(settle_s=10.0)))
    idle = ChargerReading(t_s=0.0, connected=True, charging=False, actual_a=0.0)
    c.on_charger_reading("car", idle)
    c.on_site_reading(SiteReading(t_s=0.0, grid_w=-2_500.0))
    assert c.step(0.0).current_of("car") == 10.0  # 2500 W -> 10 A
    # The meter already sees the car at 10 A; the charger still reports 0 A: the surplus reads 200 W.
    for t in (2.0, 4.0, 8.0, 12.0):
        c.on_charger_reading("car", ChargerReading(t_s=t, connected=True, charging=False, actual_a=0.0))
        c.on_site_reading(SiteReading(t_s=t, grid_w=-200.0))
        d = c.step(t)
        assert d.current_of("car") > 0.0, t
        assert d.loadpoints[0].status in ("holding", "charging")
    # Past settle_s + the car's start delay (5 s) without the charger following, a deficit is a deficit
    # again: the 0 Wh budget stops it.
    c.on_charger_reading("car", ChargerReading(t_s=16.0, connected=True, charging=False, actual_a=0.0))
    c.on_site_reading(SiteReading(t_s=16.0, grid_w=-200.0))
    assert c.step(16.0).current_of("car") == 0.0
