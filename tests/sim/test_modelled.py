"""Modelled days: clear sky + seeded clouds, seeded household load."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pvlib")

from ecotrack.world.modelled import modelled_day, write_trace_csv
from ecotrack.world.trace import Trace, load_trace

SEEDS = range(6)


def mean_abs_step_9_16(tr: Trace) -> float:
    # local day starts at index 0; 1-minute steps
    return float(np.abs(np.diff(np.asarray(tr.pv_w[9 * 60 : 16 * 60]))).mean())


def test_shape_and_metadata() -> None:
    tr = modelled_day("cloudy")
    assert tr.name == "modelled-2024-06-21-cloudy"
    assert len(tr) == 1440
    assert tr.step_s == 60.0
    assert tr.utc_offset_s == 7200.0
    assert tr.start == datetime(2024, 6, 20, 22, tzinfo=UTC)
    assert tr.local_seconds_of_day(0) == 0.0
    for arr in (np.asarray(tr.pv_w), np.asarray(tr.load_w)):
        assert np.all(arr >= 0)
        assert np.all(arr == np.round(arr))


@pytest.mark.parametrize("kind", ["sunny", "cloudy", "overcast"])
def test_deterministic_per_seed(kind: str) -> None:
    a = modelled_day(kind, seed=3)  # type: ignore[arg-type]
    b = modelled_day(kind, seed=3)  # type: ignore[arg-type]
    c = modelled_day(kind, seed=4)  # type: ignore[arg-type]
    assert np.array_equal(a.pv_w, b.pv_w) and np.array_equal(a.load_w, b.load_w)
    assert not np.array_equal(a.load_w, c.load_w)
    if kind != "sunny":
        assert not np.array_equal(a.pv_w, c.pv_w)


def test_same_household_for_all_kinds() -> None:
    loads = [modelled_day(k, seed=2).load_w for k in ("sunny", "cloudy", "overcast")]
    assert np.array_equal(loads[0], loads[1]) and np.array_equal(loads[0], loads[2])


@pytest.mark.parametrize(
    ("kind", "lo", "hi"), [("sunny", 35.0, 46.0), ("cloudy", 20.0, 39.0), ("overcast", 8.0, 14.0)]
)
def test_pv_energy_per_kind(kind: str, lo: float, hi: float) -> None:
    for seed in SEEDS:
        tr = modelled_day(kind, seed=seed)  # type: ignore[arg-type]
        assert lo <= tr.pv_kwh <= hi, (seed, tr.pv_kwh)
        assert max(tr.pv_w) <= 5000.0
        assert max(tr.pv_w[: 3 * 60]) == 0.0  # night
        assert max(tr.pv_w[23 * 60 :]) == 0.0


def test_household_load() -> None:
    for seed in SEEDS:
        tr = modelled_day(seed=seed)
        assert 8.0 <= tr.load_kwh <= 14.0, (seed, tr.load_kwh)
        assert 2000.0 <= max(tr.load_w) <= 7500.0
        night = tr.load_w[2 * 60 : 4 * 60]
        assert min(night) >= 120.0 and max(night) <= 600.0  # base load + fridge


def test_cloudy_swings_sunny_smooth() -> None:
    for seed in SEEDS:
        cloudy = modelled_day("cloudy", seed=seed)
        assert mean_abs_step_9_16(cloudy) > 150.0
        assert np.abs(np.diff(np.asarray(cloudy.pv_w))).max() > 1500.0
        assert mean_abs_step_9_16(modelled_day("sunny", seed=seed)) < 40.0
        overcast = modelled_day("overcast", seed=seed)
        assert mean_abs_step_9_16(overcast) < 60.0
        assert max(overcast.pv_w) < 0.4 * 5000


def test_parameters() -> None:
    tr = modelled_day("sunny", peak_w=8000.0, step_s=300.0, day=date(2024, 12, 21), tz_offset_h=1.0)
    assert len(tr) == 288
    assert tr.step_s == 300.0
    assert max(tr.pv_w) <= 8000.0
    summer = modelled_day("sunny", peak_w=8000.0, step_s=300.0)
    assert tr.pv_kwh < 0.6 * summer.pv_kwh  # short winter day
    with pytest.raises(ValueError):
        modelled_day("rainy")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        modelled_day(step_s=7.0)


def test_write_load_round_trip(tmp_path: Path) -> None:
    tr = modelled_day("cloudy", seed=5)
    p = tmp_path / f"{tr.name}.csv"
    write_trace_csv(tr, p)
    lines = p.read_text().splitlines()
    assert lines[0] == "timestamp,pv_w,load_w"
    assert lines[1].startswith("2024-06-20T22:00:00Z,0,")
    assert len(lines) == 1441
    back = load_trace(p)
    assert back.name == tr.name
    assert back.start == tr.start
    assert back.step_s == tr.step_s
    assert back.utc_offset_s == tr.utc_offset_s  # inferred: 22:00Z whole day -> UTC+2
    assert np.array_equal(back.pv_w, tr.pv_w)
    assert np.array_equal(back.load_w, tr.load_w)


def test_write_fractional_values(tmp_path: Path) -> None:
    tr = Trace("x", datetime(2024, 1, 1, tzinfo=UTC), 1.5, np.array([0.25, 1.0]), np.array([2.0, 3.5]))
    p = tmp_path / "x.csv"
    write_trace_csv(tr, p)
    back = load_trace(p)
    assert back.step_s == 1.5
    assert list(back.pv_w) == [0.25, 1.0] and list(back.load_w) == [2.0, 3.5]
