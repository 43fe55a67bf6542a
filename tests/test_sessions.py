"""Session accounting: start/end on plug events, energy and solar share, gaps, restore after restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecotrack.runtime.sessions import Session, SessionTracker

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def feed(tr: SessionTracker, t_s: float, **kw: object) -> list[tuple[str, Session]]:
    args: dict[str, object] = {"connected": True, "power_w": 0.0, "grid_w": 0.0}
    args.update(kw)
    return tr.update(t_s=t_s, now=T0 + timedelta(seconds=t_s), **args)  # type: ignore[arg-type]


def test_a_session_runs_from_plug_in_to_unplug_and_splits_solar_from_grid() -> None:
    tr = SessionTracker("garage", "car")
    assert feed(tr, 0, connected=False) == []
    [(kind, s)] = feed(tr, 10, power_w=0)
    assert kind == "start" and s.started == T0 + timedelta(seconds=10)
    feed(tr, 20, power_w=3600, grid_w=-500)  # all solar
    feed(tr, 3620, power_w=3600, grid_w=1800)  # 3600 W x 1 h... but gaps > 60 s are not counted
    assert tr.session is not None and tr.session.energy_wh == pytest.approx(0.0)
    for t in range(3630, 3630 + 3600, 10):  # one hour at 3.6 kW, half of it bought
        feed(tr, t, power_w=3600, grid_w=1800)
    s = tr.session
    assert s is not None
    assert s.energy_wh == pytest.approx(3600, rel=0.01)
    assert s.solar_wh == pytest.approx(1800, rel=0.01)
    assert s.grid_wh == pytest.approx(1800, rel=0.01)
    assert s.max_power_w == 3600
    [(kind, ended)] = feed(tr, 7300, connected=False)
    assert kind == "end" and ended.ended is not None and ended.energy_wh >= s.energy_wh
    assert tr.session is None


def test_updates_are_rate_limited_and_the_vehicle_is_picked_up() -> None:
    tr = SessionTracker("garage", "car", update_every_s=10)
    feed(tr, 0)
    kinds = [k for t in range(1, 31) for k, _ in feed(tr, t, power_w=1000)]
    assert kinds.count("update") == 3
    [(kind, s)] = feed(tr, 31.5, power_w=1000, vehicle="5YJ3E1EA7KF000001")
    assert kind == "update" and s.vehicle == "5YJ3E1EA7KF000001"


def test_unknown_grid_and_battery_discharge_are_not_solar() -> None:
    tr = SessionTracker("garage", "car")
    feed(tr, 0)
    for t in range(1, 61):
        feed(tr, t, power_w=3600, grid_w=None)
    for t in range(61, 121):
        feed(tr, t, power_w=3600, grid_w=-100, battery_w=3600)
    s = tr.session
    assert s is not None and s.energy_wh == pytest.approx(120, rel=0.02)
    assert s.solar_wh == pytest.approx(0.0, abs=1.0)


def test_a_restored_session_continues_when_still_plugged_in_or_ends_otherwise() -> None:
    old = Session(id="abc", loadpoint="garage", charger="car", started=T0, energy_wh=5000, solar_wh=4000)
    tr = SessionTracker("garage", "car")
    tr.restore(old)
    [(kind, s)] = feed(tr, 0, power_w=2000)
    assert kind == "update" and s.id == "abc" and s.energy_wh == 5000
    feed(tr, 36, power_w=2000, grid_w=-3000)
    assert tr.session is not None and tr.session.energy_wh == pytest.approx(5020)

    tr2 = SessionTracker("garage", "car")
    tr2.restore(old)
    [(kind, s)] = feed(tr2, 0, connected=False)
    assert kind == "end" and s.id == "abc" and s.energy_wh == 5000
    with pytest.raises(ValueError, match="already ended"):
        tr2.restore(s)


def test_meter_readings_bracket_the_session() -> None:
    tr = SessionTracker("garage", "car")
    [(_, s)] = feed(tr, 0, meter_wh=1_000_000)
    assert s.meter_start_wh == 1_000_000
    feed(tr, 1, meter_wh=1_000_500)
    [(_, s)] = feed(tr, 2, connected=False, meter_wh=1_001_000)
    assert (s.meter_start_wh, s.meter_end_wh) == (1_000_000, 1_001_000)
