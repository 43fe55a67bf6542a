"""Sessions and chart history from the history store, when the app was given one.

The store (:mod:`ecotrack.services.store`) keeps everything across restarts; the in-memory buffers of
:mod:`ecotrack.services.web.history` are only the fallback when no store is configured (or its database is not
open, or a read fails). Store reads are blocking SQLAlchemy calls, so the endpoints run the functions
here through ``asyncio.to_thread``: the event loop (and with it the control loop) never waits for the
database. Every store read (:class:`~ecotrack.services.web.source.HistoryReader`) checks out its own connection, so calling it
from a worker thread is safe.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ecotrack.services.store.records import SessionRecord
from ecotrack.services.web.history import FIELDS, Sample, resample
from ecotrack.services.web.schemas import HistoryResponse

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ecotrack.runtime.sessions import Session
    from ecotrack.services.web.source import HistoryReader

__all__ = ["DEFAULT_SPAN", "MAX_POINTS", "merge_sessions", "read_history", "read_sessions", "record_of"]

#: The chart's range when the request gives no ``from``.
DEFAULT_SPAN = timedelta(hours=24)
#: Without an explicit ``step``, readings are averaged so that a range gives at most this many points.
MAX_POINTS = 1440
#: Width of the store's roll-up buckets (s): older readings survive only as these.
_AGGREGATE_S = 300.0


def read_sessions(store: HistoryReader) -> list[SessionRecord]:
    """Every stored session (blocking: run it in a thread)."""
    return store.sessions()


def record_of(session: Session) -> SessionRecord:
    """A live engine session in the store's form (no cost: that is the store's to compute)."""
    return SessionRecord.from_session(session)


def merge_sessions(stored: Iterable[SessionRecord], live: Iterable[Session]) -> list[SessionRecord]:
    """Stored sessions with the engine's newer figures laid over them; open ones first, then newest first.

    The writer batches updates, so a running session's stored energy lags a little and a session that
    just ended may not be written yet: the engine's own view (the memory log) is newer for those, while
    the store keeps the cost.
    """
    by_id = {rec.id: rec for rec in stored}
    for session in live:
        rec = by_id.get(session.id)
        fresh = record_of(session)
        if rec is None:
            by_id[session.id] = fresh
        elif rec.ended is None or session.ended is not None:
            by_id[session.id] = dataclasses.replace(
                fresh, cost=rec.cost, savings=rec.savings, currency=rec.currency, updated=rec.updated
            )
    records = sorted(by_id.values(), key=lambda r: (r.started, r.id), reverse=True)
    return [r for r in records if r.ended is None] + [r for r in records if r.ended is not None]


def read_history(
    store: HistoryReader,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    step_s: float | None,
    resolution_s: float,
) -> HistoryResponse:
    """PV, house, car, grid and battery power between ``start`` and ``end`` from the store (blocking).

    Defaults to the last 24 h before ``now``. Raw readings (one per ``resolution_s``) are used where
    they are kept; older parts of the range come from the 5-minute roll-ups. Without ``step_s`` the
    step grows with the range so that it gives at most :data:`MAX_POINTS` points.
    """
    hi = end if end is not None else now
    lo = start if start is not None else hi - DEFAULT_SPAN
    # the store's ranges are half-open; the API's are inclusive
    upper = hi + timedelta(microseconds=1)
    points: dict[datetime, list[float | None]] = {}  # time -> grid, pv, battery
    car: defaultdict[datetime, float] = defaultdict(float)
    for row in store.site_readings(lo, upper):
        points[row.time] = [row.grid_w, row.pv_w, row.battery_w]
    for lp in store.loadpoint_readings(lo, upper):
        car[lp.time] += lp.power_w if math.isfinite(lp.power_w) else 0.0
    first_raw = min([*points, *car], default=None)
    rolled_up = False
    if first_raw is None or first_raw > lo:  # the start of the range may be rolled up already
        agg_end = first_raw if first_raw is not None else upper
        for agg in store.site_aggregates(lo, agg_end):
            points[agg["bucket"]] = [agg["grid_w"], agg["pv_w"], agg["battery_w"]]
            rolled_up = True
        for agg in store.loadpoint_aggregates(lo, agg_end):
            car[agg["bucket"]] += _num(agg.get("power_w")) or 0.0
            rolled_up = True
    samples: list[Sample] = []
    for t in sorted(points.keys() | car.keys()):
        grid, pv, battery = points.get(t, [None, None, None])
        car_w = car.get(t, 0.0)
        house = None if grid is None else grid + (pv or 0.0) + (battery or 0.0) - car_w
        samples.append(Sample(t.timestamp(), (pv, house, car_w, grid, battery)))
    base = max(resolution_s, _AGGREGATE_S) if rolled_up else resolution_s
    step = max(base, step_s) if step_s is not None else base
    span_s = (hi - lo).total_seconds()
    if step_s is None and span_s / step > MAX_POINTS:
        step = max(step, math.ceil(span_s / MAX_POINTS / resolution_s) * resolution_s)
    if step > resolution_s or len(samples) > MAX_POINTS:
        samples = resample(samples, step)
    columns: dict[str, Any] = {name: [s.values[i] for s in samples] for i, name in enumerate(FIELDS)}
    return HistoryResponse(source="store", step_s=step, t=[s.t for s in samples], **columns)


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
