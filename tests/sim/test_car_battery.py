"""The simulated car's battery (ecotrack.world.car): tapering above the taper SoC and stopping when full."""

from __future__ import annotations

import itertools

import pytest

from ecotrack.world.car import Car, CarParams


def charge(car: Car, offered_a: float, seconds: int) -> list[float]:
    return [car.step(1.0, offered_a) for _ in range(seconds)]


def test_without_a_capacity_the_car_always_wants_energy() -> None:
    car = Car(CarParams(start_delay_s=0.0, ramp_a_per_s=100.0))
    assert charge(car, 16.0, 5)[-1] == 16.0
    assert car.soc_pct == 50.0  # not tracked


def test_full_power_below_the_taper_then_less_then_nothing_when_full() -> None:
    # 1 kWh battery at 79 %, 16 A x 230 V = 3.68 kW: 1 % takes ~9.8 s at full power.
    params = CarParams(
        max_a=16.0, capacity_kwh=1.0, soc_pct=79.0, taper_from_pct=80.0, start_delay_s=0.0, ramp_a_per_s=100.0
    )
    car = Car(params)
    draws = charge(car, 16.0, 3_600)
    assert draws[1] == 16.0  # below 80 %
    at_90 = next(i for i in range(len(draws)) if car_soc_after(params, draws, i) >= 90.0)
    assert draws[at_90 + 1] == pytest.approx(
        16.0 * 0.5, abs=0.3
    )  # halfway through the taper: half the current
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(draws[15:]))  # never rises in the taper
    assert car.soc_pct == pytest.approx(100.0, abs=0.5)
    assert draws[-1] < 0.1  # full (or all but): no more current


def car_soc_after(params: CarParams, draws: list[float], i: int) -> float:
    return params.soc_pct + sum(draws[: i + 1]) * params.w_per_a / 36_000.0 / (params.capacity_kwh or 1.0)


def test_a_full_car_draws_nothing() -> None:
    car = Car(CarParams(capacity_kwh=50.0, soc_pct=100.0, start_delay_s=0.0))
    assert charge(car, 16.0, 30) == [0.0] * 30
