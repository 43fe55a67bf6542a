"""The clairvoyant dip analysis (ecotrack.sim.bounds) on hand-made surplus series."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecotrack.sim.bounds import (
    Dip,
    clairvoyant_frontier,
    find_dips,
    first_starts,
    frontier_grid_kwh,
    min_grid_for_stops,
)

MIN_W = 1380.0  # 6 A x 1 phase x 230 V


def surplus(*parts: tuple[float, int]) -> np.ndarray:
    """A per-second series made of (watts, seconds) stretches."""
    return np.concatenate([np.full(n, w, dtype=np.float64) for w, n in parts])


# ------------------------------------------------------------------------------------------ find_dips


def test_a_dip_between_two_sunny_stretches() -> None:
    s = surplus((2000.0, 100), (1000.0, 30), (2000.0, 50))
    (dip,) = find_dips(s, MIN_W)
    assert dip.start_s == 100
    assert dip.duration_s == 30
    assert dip.ride_cost_wh == pytest.approx(380.0 * 30 / 3600)


def test_import_inside_a_dip_costs_the_whole_minimum() -> None:
    # Negative surplus (the house imports): riding at the minimum pulls the full minimum power, no more.
    s = surplus((1500.0, 10), (-800.0, 20), (500.0, 40), (1500.0, 10))
    (dip,) = find_dips(s, MIN_W)
    assert (dip.start_s, dip.duration_s) == (10, 60)
    assert dip.ride_cost_wh == pytest.approx((MIN_W * 20 + (MIN_W - 500.0) * 40) / 3600)


def test_exactly_the_minimum_is_enough() -> None:
    s = surplus((MIN_W, 10), (MIN_W - 1.0, 5), (MIN_W, 10))
    (dip,) = find_dips(s, MIN_W)
    assert (dip.start_s, dip.duration_s) == (10, 5)
    assert dip.ride_cost_wh == pytest.approx(5 / 3600)
    assert find_dips(surplus((MIN_W, 30)), MIN_W) == []


def test_leading_and_trailing_low_stretches_are_not_dips() -> None:
    s = surplus((0.0, 100), (2000.0, 60), (300.0, 20), (2000.0, 60), (-500.0, 100))
    dips = find_dips(s, MIN_W)
    assert [(d.start_s, d.duration_s) for d in dips] == [(160, 20)]
    assert find_dips(surplus((0.0, 50), (2000.0, 50)), MIN_W) == []
    assert find_dips(surplus((2000.0, 50), (0.0, 50)), MIN_W) == []
    assert find_dips(surplus((0.0, 50), (2000.0, 10), (0.0, 50)), MIN_W) == []


def test_several_dips_in_order() -> None:
    s = surplus((2000.0, 10), (0.0, 3), (2000.0, 1), (1000.0, 7), (1400.0, 2))
    dips = find_dips(s, MIN_W)
    assert [(d.start_s, d.duration_s) for d in dips] == [(10, 3), (14, 7)]
    assert dips[0].ride_cost_wh == pytest.approx(MIN_W * 3 / 3600)


def test_empty_and_all_low_series_have_no_dips() -> None:
    assert find_dips(np.array([], dtype=np.float64), MIN_W) == []
    assert find_dips(surplus((0.0, 100)), MIN_W) == []
    assert find_dips(surplus((5000.0, 1)), MIN_W) == []


# ------------------------------------------------------------------------------ frontier and bound

DIPS = [Dip(0, 60, c) for c in (1.0, 12.0, 3.0, 40.0, 3.0, 250.0)]


def test_frontier_rides_the_cheapest_dips() -> None:
    points = clairvoyant_frontier(DIPS, [0.0, 3.0, 12.0, 1000.0])
    assert [p.stopped_dips for p in points] == [6, 3, 2, 0]
    assert [p.grid_kwh for p in points] == pytest.approx([0.0, 0.007, 0.019, 0.309])
    assert [p.ride_up_to_wh for p in points] == [0.0, 3.0, 12.0, 1000.0]
    assert clairvoyant_frontier([], [0.0, 10.0])[1].stopped_dips == 0


def test_min_grid_for_stops_by_hand() -> None:
    assert min_grid_for_stops(DIPS, 6) == 0.0
    assert min_grid_for_stops(DIPS, 100) == 0.0
    assert min_grid_for_stops(DIPS, 5) == pytest.approx(0.001)
    assert min_grid_for_stops(DIPS, 0) == pytest.approx(0.309)
    assert min_grid_for_stops(DIPS, -3) == pytest.approx(0.309)  # fewer stops than none: ride everything
    assert min_grid_for_stops([], 0) == 0.0


costs = st.lists(st.floats(min_value=0.0, max_value=500.0, allow_nan=False), min_size=0, max_size=8)


@settings(max_examples=200, deadline=None)
@given(costs=costs, budgets=st.lists(st.floats(min_value=0.0, max_value=600.0), min_size=1, max_size=10))
def test_frontier_is_monotonic(costs: list[float], budgets: list[float]) -> None:
    dips = [Dip(i * 100, 60, c) for i, c in enumerate(costs)]
    points = clairvoyant_frontier(dips, sorted(budgets))
    for a, b in itertools.pairwise(points):
        assert b.stopped_dips <= a.stopped_dips
        assert b.grid_kwh >= a.grid_kwh - 1e-12
    for p in points:
        assert 0 <= p.stopped_dips <= len(dips)
        # A frontier point is what the bound says for its number of stops.
        assert p.grid_kwh == pytest.approx(min_grid_for_stops(dips, p.stopped_dips), abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(costs=costs, max_stopped=st.integers(min_value=-2, max_value=10))
def test_min_grid_for_stops_matches_brute_force(costs: list[float], max_stopped: int) -> None:
    """Over every choice of dips to stop in (at most max_stopped), riding the rest: the least grid energy."""
    dips = [Dip(i * 100, 60, c) for i, c in enumerate(costs)]
    best = min(
        sum(c for i, c in enumerate(costs) if i not in stopped) / 1000.0
        for k in range(0, max(0, min(max_stopped, len(costs))) + 1)
        for stopped in map(set, itertools.combinations(range(len(costs)), k))
    )
    assert min_grid_for_stops(dips, max_stopped) == pytest.approx(best, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    parts=st.lists(
        st.tuples(st.floats(min_value=-3000.0, max_value=5000.0, allow_nan=False), st.integers(1, 20)),
        min_size=0,
        max_size=12,
    )
)
def test_find_dips_against_a_direct_scan(parts: list[tuple[float, int]]) -> None:
    """Dips are exactly the maximal low runs with a sunny second on both sides, costed second by second."""
    s = surplus(*parts) if parts else np.array([], dtype=np.float64)
    ok = [bool(v >= MIN_W) for v in s]
    expected = []
    i = 0
    while i < len(s):
        if ok[i]:
            i += 1
            continue
        j = i
        while j < len(s) and not ok[j]:
            j += 1
        if i > 0 and j < len(s):
            cost = sum(MIN_W - max(float(v), 0.0) for v in s[i:j]) / 3600.0
            expected.append((i, j - i, cost))
        i = j
    got = find_dips(s, MIN_W)
    assert [(d.start_s, d.duration_s) for d in got] == [(a, n) for a, n, _ in expected]
    assert [d.ride_cost_wh for d in got] == pytest.approx([c for _, _, c in expected])


# ------------------------------------------------------------------------ frontier at a run's own starts

#: Three dips between four sunny stretches: 380 W for 60 s (6.33 Wh), 1380 W for 30 s (11.5 Wh),
#: 880 W for 120 s (29.33 Wh); a dark morning and evening around them.
DAY = surplus(
    (0.0, 300),
    (2000.0, 100),
    (1000.0, 60),
    (2000.0, 100),
    (0.0, 30),
    (3000.0, 50),
    (500.0, 120),
    (2000.0, 10),
    (0.0, 300),
)
DAY_COSTS_WH = (380.0 * 60 / 3600, MIN_W * 30 / 3600, 880.0 * 120 / 3600)


@pytest.mark.parametrize(
    ("starts", "expected_wh"),
    [
        (4, 0.0),  # one first start + a stop in every dip: no grid energy
        (9, 0.0),  # more starts than needed
        (3, DAY_COSTS_WH[0]),  # one dip ridden: the cheapest
        (2, DAY_COSTS_WH[0] + DAY_COSTS_WH[1]),
        (1, sum(DAY_COSTS_WH)),  # only the first start: ride them all
        (0, sum(DAY_COSTS_WH)),  # took no sunny stretch: held to riding every dip
    ],
)
def test_frontier_grid_at_a_runs_own_starts(starts: int, expected_wh: float) -> None:
    assert first_starts(DAY, MIN_W) == 1
    assert frontier_grid_kwh(DAY, MIN_W, starts) == pytest.approx(expected_wh / 1000.0)


def test_frontier_of_a_day_without_enough_surplus_is_zero() -> None:
    dark = surplus((0.0, 100), (MIN_W - 1.0, 100))
    assert first_starts(dark, MIN_W) == 0
    assert frontier_grid_kwh(dark, MIN_W, 0) == 0.0
    assert first_starts(np.array([], dtype=np.float64), MIN_W) == 0
