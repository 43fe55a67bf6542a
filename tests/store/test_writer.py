"""The background writer: batching, coalescing, a blocked or failing database, bounded memory."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ecotrack.services.store.db import Batch, Store
from ecotrack.services.store.records import EventRecord, SessionRecord, SiteRow
from ecotrack.services.store.writer import StoreWriter

T0 = datetime(2024, 6, 21, 10, 0, tzinfo=UTC)


def row(i: int) -> SiteRow:
    return SiteRow(T0 + timedelta(seconds=i), float(-i), 1000.0, None, None, float(i))


class GatedStore(Store):
    """A store whose writes wait for ``gate`` and fail while ``failing`` is set."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Event()
        self.gate.set()
        self.failing = False
        self.calls = 0
        self.entered = threading.Event()

    def write(self, batch: Batch) -> None:
        self.calls += 1
        self.entered.set()
        self.gate.wait()
        if self.failing:
            raise OSError("database unreachable")
        super().write(batch)


def test_rows_are_written_in_batches_and_sessions_coalesced(db_url: str) -> None:
    store = Store(db_url)
    writer = StoreWriter(store, flush_interval_s=60)
    writer.start()
    try:
        for i in range(500):
            writer.add_site(row(i))
        for e in range(1, 11):  # ten updates of one session: only the last is written
            writer.put_session(SessionRecord("s", "garage", "car", T0, energy_wh=100.0 * e))
        assert writer.flush(10)
        assert store.count("site_readings") == 500
        [s] = store.sessions()
        assert s.energy_wh == 1000.0
        assert writer.stats.sessions_written == 1 and writer.stats.readings_written == 500
        assert writer.stats.batches <= 2
    finally:
        writer.stop()
        store.close()


def test_a_blocked_database_does_not_block_producers(tmp_path: Path) -> None:
    store = GatedStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    writer = StoreWriter(store, flush_interval_s=0.01)
    writer.start()
    try:
        store.gate.clear()
        writer.add_site(row(0))
        assert store.entered.wait(5)  # the writer thread now hangs inside the database call
        for i in range(1, 2001):  # the producers still get through (a blocking add would hang this test)
            writer.add_site(row(i))
            writer.add_event(EventRecord(T0, "mode", f"change {i}"))
        assert writer.pending() == 4000
        store.gate.set()
        assert writer.flush(10)
        assert store.count("site_readings") == 2001 and store.count("events") == 2000
    finally:
        store.gate.set()
        writer.stop()
        store.close()


def test_a_failing_database_keeps_the_data_and_retries(tmp_path: Path) -> None:
    store = GatedStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    writer = StoreWriter(store, flush_interval_s=0.01, backoff_max_s=0.05)
    store.failing = True
    writer.start()
    try:
        writer.add_site(row(0))
        writer.put_session(SessionRecord("s", "garage", "car", T0, energy_wh=1.0), urgent=True)
        writer.add_event(EventRecord(T0, "fault", "meter lost"))
        assert not writer.flush(0.3)
        assert writer.stats.failures >= 1 and "unreachable" in (writer.stats.last_error or "")
        # a newer session state arriving while the database is down wins over the failed batch's
        writer.put_session(
            SessionRecord("s", "garage", "car", T0, energy_wh=2.0, ended=T0 + timedelta(hours=1))
        )
        store.failing = False
        assert writer.flush(10)
        assert writer.stats.last_error is None
        [s] = store.sessions()
        assert s.energy_wh == 2.0 and s.ended is not None
        assert store.count("site_readings") == 1 and store.count("events") == 1
    finally:
        writer.stop()
        store.close()


def test_readings_beyond_max_pending_are_dropped_oldest_first(tmp_path: Path) -> None:
    store = GatedStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    writer = StoreWriter(store, flush_interval_s=0.01, max_pending=100, backoff_max_s=0.05)
    store.failing = True
    writer.start()
    try:
        for i in range(250):
            writer.add_site(row(i))
        writer.put_session(SessionRecord("s", "garage", "car", T0), urgent=True)
        assert writer.pending() <= 101
        assert writer.stats.readings_dropped >= 150
        store.failing = False
        assert writer.flush(10)
        kept = store.site_readings()
        assert kept[-1].time == row(249).time  # the newest survive
        assert len(kept) == 250 - writer.stats.readings_dropped
        assert store.count("sessions") == 1  # sessions are never dropped
    finally:
        writer.stop()
        store.close()


def test_stop_writes_what_is_pending(db_url: str) -> None:
    store = Store(db_url)
    writer = StoreWriter(store, flush_interval_s=3600)
    writer.start()
    writer.add_site(row(1))
    assert writer.stop(10)
    assert store.count("site_readings") == 1
    store.close()
