"""The planner: minimum cost against brute force on small cases, surplus first, clear infeasibility."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecotrack.planning.planner import plan_charge
from ecotrack.tariffs.base import PriceSlot

NOW = datetime(2024, 6, 21, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hourly(prices: list[float]) -> list[PriceSlot]:
    return [PriceSlot(NOW + i * HOUR, NOW + (i + 1) * HOUR, p) for i, p in enumerate(prices)]


def brute_force(
    need: int, caps: list[int], prices: list[float], solar: list[int], feed_in: float
) -> float | None:
    """Cheapest cost of exactly ``need`` kWh in whole kWh per slot (None when impossible)."""
    best: float | None = None
    for energy in itertools.product(*(range(c + 1) for c in caps)):
        if sum(energy) != need:
            continue
        cost = 0.0
        for e, price, s in zip(energy, prices, solar, strict=True):
            # inside a slot the cheaper source goes first
            first, second = (feed_in, price) if feed_in <= price else (price, feed_in)
            first_cap = s if feed_in <= price else e
            a = min(e, first_cap)
            cost += a * first + (e - a) * second
        if best is None or cost < best - 1e-12:
            best = cost
    return best


@settings(max_examples=250, deadline=None)
@given(
    prices=st.lists(st.integers(-5, 40).map(lambda c: c / 100), min_size=1, max_size=5),
    power_kw=st.integers(1, 3),
    need=st.integers(0, 12),
    solar_seed=st.lists(st.integers(0, 3), min_size=5, max_size=5),
    feed_in=st.sampled_from([0.0, 0.08, 0.5]),
)
def test_the_plan_costs_what_brute_force_finds(
    prices: list[float], power_kw: int, need: int, solar_seed: list[int], feed_in: float
) -> None:
    n = len(prices)
    solar = [min(s, power_kw) for s in solar_seed[:n]]
    forecast = {NOW + i * HOUR: solar[i] * 1000.0 for i in range(n)}
    plan = plan_charge(
        need * 1000.0,
        NOW,
        NOW + n * HOUR,
        max_power_w=power_kw * 1000.0,
        prices=hourly(prices),
        feed_in=feed_in,
        surplus_wh=lambda a, b: forecast[a],
        slot_s=3600,
    )
    best = brute_force(need, [power_kw] * n, prices, solar, feed_in)
    if best is None:
        assert not plan.feasible and plan.shortfall_wh == pytest.approx((need - power_kw * n) * 1000)
        assert "cannot be met" in plan.message
        return
    assert plan.feasible
    assert plan.cost == pytest.approx(best, abs=1e-9)
    assert plan.grid_wh + plan.solar_wh == pytest.approx(need * 1000.0)
    for s in plan.slots:  # never more than the charger can do, never more surplus than expected
        assert s.grid_wh + s.solar_wh <= power_kw * 1000.0 * s.hours + 1e-6
        assert s.solar_wh <= forecast[s.start] + 1e-6


def test_surplus_first_then_the_cheapest_hours() -> None:
    # 10 kWh by 02:00 at 3.7 kW; 4 kWh of surplus expected 18-19h; night prices 0.35, 0.20, 0.15, 0.30, ...
    prices = [0.40, 0.35, 0.30, 0.25, 0.20, 0.15, 0.30, 0.35]
    plan = plan_charge(
        10_000,
        NOW,
        NOW + 8 * HOUR,
        max_power_w=3700,
        prices=hourly(prices),
        feed_in=0.08,
        surplus_wh=lambda a, b: 4000.0 * (b - a) / HOUR if a < NOW + HOUR else 0.0,
    )
    assert plan.feasible
    assert plan.solar_wh == pytest.approx(3700)  # the first hour: all the car can take, from the sun
    bought: dict[int, float] = {}
    for s in plan.slots:  # 15-minute slots, summed per hour
        if s.grid_wh > 0:
            bought[s.start.hour] = bought.get(s.start.hour, 0.0) + s.grid_wh
    # 6.3 kWh from the grid: 3.7 at 0.15 (23h) and 2.6 at 0.20 (22h); the dearer hours stay empty
    assert bought == pytest.approx({23: 3700, 22: 2600})
    assert plan.cost == pytest.approx(3.7 * 0.08 + 3.7 * 0.15 + 2.6 * 0.20)
    assert plan.slot_at(NOW + 4 * HOUR + timedelta(minutes=5)) is not None
    assert plan.slot_at(NOW + 2 * HOUR) is None
    assert "10.0 kWh by" in plan.message


def test_prices_unknown_beyond_the_horizon_use_the_fallback() -> None:
    plan = plan_charge(
        2000, NOW, NOW + 4 * HOUR, max_power_w=2000, prices=hourly([0.50]), fallback_price=0.25
    )
    assert plan.feasible and all(s.price == 0.25 for s in plan.slots)
    assert plan.slots[0].start == NOW + HOUR  # the earliest of the cheaper (fallback) hours


def test_infeasible_plans_say_so_and_charge_everywhere() -> None:
    plan = plan_charge(40_000, NOW, NOW + 5 * HOUR, max_power_w=3680, prices=hourly([0.3] * 5))
    assert not plan.feasible
    assert plan.shortfall_wh == pytest.approx(40_000 - 5 * 3680)
    assert plan.message.startswith("cannot be met: needs 40.0 kWh by 2024-06-21 23:00 but at most 18.4 kWh")
    assert sum(s.grid_wh for s in plan.slots) == pytest.approx(5 * 3680)
    late = plan_charge(1000, NOW, NOW - HOUR, max_power_w=3680)
    assert not late.feasible and "has passed" in late.message
    assert plan_charge(0, NOW, NOW + HOUR, max_power_w=3680).message == "target reached"
