"""The in-memory chart buffer: one averaged sample per step of engine time, bounded, resampled on request;
and the session log."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from ecotrack.core.model import Mode
from ecotrack.runtime.sessions import Session
from ecotrack.runtime.snapshot import LoadpointSnapshot, Snapshot
from ecotrack.services.web.history import HistoryBuffer, SessionLog

T0 = datetime(2024, 6, 21, 10, 0, tzinfo=UTC)


def snap(t_s: float, pv_w: float | None, grid_w: float | None, car_w: float = 0.0) -> Snapshot:
    lp = LoadpointSnapshot(
        name="garage", charger="car", mode=Mode.PV, status="charging", reason="", commanded_a=0, sent_a=None,
        offered_a=None, actual_a=0, power_w=car_w, connected=True, charging=car_w > 0, charger_online=True,
        charger_error=None,
    )  # fmt: skip
    return Snapshot(
        t_s=t_s, time=T0 + timedelta(seconds=t_s), grid_w=grid_w, pv_w=pv_w, battery_w=None, battery_soc_pct=None,
        voltage_v=None, surplus_w=None, data_age_s=0.0, failsafe=False, loadpoints=(lp,), devices=(), decision=None,
    )  # fmt: skip


def test_samples_average_each_step_and_the_open_bucket_comes_last() -> None:
    buf = HistoryBuffer(points=10, step_s=60)
    for t in range(0, 150, 10):  # buckets [0,60) [60,120) [120,180)
        buf.add(snap(t, pv_w=float(t), grid_w=-100.0, car_w=1000.0))
    samples = buf.samples()
    assert len(samples) == 3 == len(buf)
    assert samples[0].values[0] == sum(range(0, 60, 10)) / 6  # PV averaged over the bucket
    assert samples[0].t == (T0 + timedelta(seconds=50)).timestamp()  # stamped with its last snapshot
    assert samples[0].values[1] == -100 + samples[0].values[0] - 1000  # house = grid + pv - car
    assert samples[0].values[2] == 1000 and samples[0].values[4] is None  # car; no battery
    assert samples[-1].values[0] == (120 + 130 + 140) / 3  # the open bucket


def test_missing_and_non_finite_values_are_gaps_not_zeros() -> None:
    buf = HistoryBuffer(points=10, step_s=60)
    buf.add(snap(0, pv_w=None, grid_w=None))
    buf.add(snap(1, pv_w=math.nan, grid_w=math.inf))
    (only,) = buf.samples()
    assert only.values[0] is None and only.values[1] is None and only.values[3] is None


def test_the_ring_buffer_keeps_the_newest_points_only() -> None:
    buf = HistoryBuffer(points=5, step_s=1)
    for t in range(100):
        buf.add(snap(t, pv_w=float(t), grid_w=0.0))
    values = [s.values[0] for s in buf.samples()]
    assert values == [94.0, 95.0, 96.0, 97.0, 98.0, 99.0]  # five closed + the open one


def test_query_window_and_resampling() -> None:
    buf = HistoryBuffer(points=100, step_s=60)
    for t in range(0, 3600, 30):
        buf.add(snap(t, pv_w=1000.0 if t < 1800 else 3000.0, grid_w=0.0))
    hourly = buf.query(step_s=1800)
    assert hourly.step_s == 1800 and hourly.pv_w == [1000.0, 3000.0]
    window = buf.query(T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
    assert len(window.t) == 10 and all(T0.timestamp() + 600 <= t <= T0.timestamp() + 1200 for t in window.t)
    finer = buf.query(step_s=1)  # finer than the buffer: as stored
    assert finer.step_s == 60 and len(finer.t) == 60


def test_session_log_open_first_then_newest_ended() -> None:
    log = SessionLog(keep=2)
    sessions = [
        Session(id=f"s{i}", loadpoint="garage", charger="car", started=T0 + timedelta(hours=i))
        for i in range(4)
    ]
    for s in sessions[:3]:
        log.on_session("start", s)
        log.on_session("end", s)
    log.on_session("start", sessions[3])
    log.on_session("update", sessions[3])
    assert [s.id for s in log.sessions()] == ["s3", "s2", "s1"]  # s0 fell out of the bounded log
