"""Unit helpers: rounding onto the charger's current grid and guards against garbage numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecotrack.core.units import (
    MAX_PLAUSIBLE_W,
    finite_or_none,
    nonneg,
    quantize,
    quantize_down,
    watts_per_amp,
)

GARBAGE = [math.nan, math.inf, -math.inf, -1.0, -0.05, 0.0]


@pytest.mark.parametrize(
    ("amps", "step", "frac", "expected"),
    [
        (7.9, 1.0, 1.0, 7.0),
        (7.0, 1.0, 1.0, 7.0),
        (7.999, 1.0, 1.0, 7.0),
        (7.49, 1.0, 0.5, 7.0),
        (7.5, 1.0, 0.5, 8.0),
        (7.51, 1.0, 0.5, 8.0),
        (0.4, 1.0, 0.5, 0.0),
        (0.5, 1.0, 0.5, 1.0),
        (8.69, 0.1, 1.0, 8.6),
        (8.6, 0.1, 1.0, 8.6),  # 8.6 / 0.1 is 85.999... in floats: must not drop a step
        (8.65, 0.1, 0.5, 8.7),
        (8.64, 0.1, 0.5, 8.6),
        (0.3, 0.1, 1.0, 0.3),
        (16.0, 0.1, 1.0, 16.0),
    ],
)
def test_quantize_table(amps: float, step: float, frac: float, expected: float) -> None:
    assert quantize(amps, step, frac) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("amps", "step", "expected"),
    [(7.9, 1.0, 7.0), (7.0, 1.0, 7.0), (0.99, 1.0, 0.0), (8.69, 0.1, 8.6), (8.6, 0.1, 8.6), (0.7, 0.1, 0.7)],
)
def test_quantize_down_table(amps: float, step: float, expected: float) -> None:
    assert quantize_down(amps, step) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("bad", GARBAGE)
@pytest.mark.parametrize("step", [1.0, 0.1])
def test_garbage_quantizes_to_zero(bad: float, step: float) -> None:
    assert quantize(bad, step, 1.0) == 0.0
    assert quantize(bad, step, 0.5) == 0.0
    assert quantize_down(bad, step) == 0.0


def _on_grid(value: float, step: float) -> bool:
    return abs(value / step - round(value / step)) < 1e-6


@settings(max_examples=500)
@given(
    amps=st.floats(min_value=0.0, max_value=1000.0, allow_nan=False),
    step=st.sampled_from([1.0, 0.1]),
)
def test_quantize_down_never_above_input_and_on_grid(amps: float, step: float) -> None:
    q = quantize_down(amps, step)
    # Float noise of a nano-amp is absorbed on purpose (8.6 / 0.1 == 85.999...), nothing more.
    assert 0.0 <= q <= amps + 1e-9
    assert _on_grid(q, step)
    # It is the largest such value: one more step would exceed the input (allowing float noise).
    assert q + step > amps - 1e-6


@settings(max_examples=500)
@given(
    amps=st.floats(min_value=0.0, max_value=1000.0, allow_nan=False),
    step=st.sampled_from([1.0, 0.1]),
    frac=st.sampled_from([1.0, 0.5]),
)
def test_quantize_is_within_one_step_and_on_grid(amps: float, step: float, frac: float) -> None:
    q = quantize(amps, step, frac)
    assert q >= 0.0
    assert _on_grid(q, step)
    if frac == 1.0:
        # Always rounding down: agrees with quantize_down up to float noise at exact multiples.
        assert q <= amps + 1e-6
        assert q + step > amps - 1e-6
    else:
        assert abs(q - amps) <= step / 2 + 1e-6


@pytest.mark.parametrize(
    "value", [None, math.nan, math.inf, -math.inf, MAX_PLAUSIBLE_W * 1.01, -MAX_PLAUSIBLE_W * 2]
)
def test_finite_or_none_rejects(value: float | None) -> None:
    assert finite_or_none(value) is None


def test_finite_or_none_accepts_and_converts() -> None:
    assert finite_or_none(-2500.0) == -2500.0
    assert finite_or_none(MAX_PLAUSIBLE_W) == MAX_PLAUSIBLE_W
    assert finite_or_none("12.5") == 12.5  # type: ignore[arg-type]
    assert finite_or_none("kaputt") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 0.0), (math.nan, 0.0), (-3.0, 0.0), (math.inf, 0.0), (7.5, 7.5)]
)
def test_nonneg(value: float | None, expected: float) -> None:
    assert nonneg(value) == expected


def test_watts_per_amp() -> None:
    assert watts_per_amp(1, 230.0) == 230.0
    assert watts_per_amp(3, 230.0) == 690.0
