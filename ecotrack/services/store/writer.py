"""Batched writes on a thread of their own, so a slow or unreachable database never delays control.

The engine's callbacks run on the event loop and only append to in-memory lists under a lock (a few
microseconds). A background thread swaps the lists out every ``flush_interval_s`` (sooner when a
session ends or an event arrives) and writes them in one transaction. When the database fails, the
batch is put back and retried with backoff; readings beyond ``max_pending`` are dropped oldest first
(and counted), sessions and events are kept. Session updates are coalesced: only the newest state of
each session is written.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ecotrack.services.store.db import Batch, Store
from ecotrack.services.store.records import EventRecord, LoadpointRow, SessionRecord, SiteRow

__all__ = ["StoreWriter", "WriterStats"]

log = logging.getLogger(__name__)

#: Events kept while the database is unreachable (beyond it the oldest are dropped).
MAX_PENDING_EVENTS = 10_000


@dataclass(slots=True)
class WriterStats:
    batches: int = 0
    readings_written: int = 0
    readings_dropped: int = 0
    events_written: int = 0
    events_dropped: int = 0
    sessions_written: int = 0
    failures: int = 0
    last_error: str | None = None
    #: Wall seconds the last successful batch took.
    last_write_s: float = 0.0
    max_write_s: float = 0.0


class StoreWriter:
    """Collects rows from any thread and writes them in batches on its own thread."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval_s: float = 2.0,
        max_pending: int = 100_000,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.backoff_max_s = backoff_max_s
        self.stats = WriterStats()
        self._lock = threading.Lock()
        self._pending = Batch.empty()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._writing = False
        self._stop = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ producers (any thread, cheap)
    def add_site(self, row: SiteRow) -> None:
        with self._lock:
            self._pending.site.append(row)
            self._trim()

    def add_loadpoint(self, row: LoadpointRow) -> None:
        with self._lock:
            self._pending.loadpoints.append(row)
            self._trim()

    def put_session(self, session: SessionRecord, *, urgent: bool = False) -> None:
        """Queue the newest state of a session; ``urgent`` (a start or an end) is written right away."""
        with self._lock:
            self._pending.sessions[session.id] = session
        if urgent:
            self._wake.set()

    def add_event(self, event: EventRecord) -> None:
        with self._lock:
            self._pending.events.append(event)
            if len(self._pending.events) > MAX_PENDING_EVENTS:
                del self._pending.events[0]
                self.stats.events_dropped += 1
        self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _trim(self) -> None:
        """Drop the oldest readings beyond ``max_pending`` (lock held)."""
        p = self._pending
        excess = len(p.site) + len(p.loadpoints) - self.max_pending
        if excess <= 0:
            return
        total = len(p.site) + len(p.loadpoints)
        n_site = excess * len(p.site) // total
        n_lp = excess - n_site
        del p.site[:n_site]
        del p.loadpoints[:n_lp]
        self.stats.readings_dropped += n_site + n_lp

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="ecotrack-store-writer", daemon=True)
        self._thread.start()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued before the call was written (True) or ``timeout_s`` passed."""
        deadline = time.monotonic() + timeout_s
        self._wake.set()
        with self._idle:
            while len(self._pending) or self._writing:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._wake.set()
                self._idle.wait(min(remaining, 0.05))
        return True

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Write what is pending (up to ``timeout_s``) and end the thread; True when nothing was left."""
        flushed = self.flush(timeout_s) if self._thread is not None else self.pending() == 0
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=max(0.1, timeout_s))
            self._thread = None
        if not flushed:
            log.warning("store: %d rows could not be written before shutdown", self.pending())
        return flushed

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        backoff = 0.0
        while not self._stop:
            self._wake.wait(timeout=backoff if backoff > 0 else self.flush_interval_s)
            self._wake.clear()
            if backoff > 0 and self._stop:
                break
            backoff = self._write_once(backoff)

    def _write_once(self, backoff: float) -> float:
        """Write the pending batch; returns the backoff before the next try (0 after success)."""
        with self._lock:
            batch, self._pending = self._pending, Batch.empty()
            self._writing = True
        if not len(batch):
            with self._idle:
                self._writing = False
                self._idle.notify_all()
            return 0.0
        started = time.monotonic()
        try:
            self.store.write(batch)
        except Exception as e:  # any driver error: keep the data, retry later
            with self._idle:
                self._put_back(batch)
                self._writing = False
                self.stats.failures += 1
                self.stats.last_error = f"{type(e).__name__}: {e}"
                self._idle.notify_all()
            if backoff == 0:
                log.warning(
                    "store: writing %d rows failed (%s); will retry", len(batch), self.stats.last_error
                )
            return min(max(1.0, backoff * 2), self.backoff_max_s)
        took = time.monotonic() - started
        with self._idle:
            s = self.stats
            if s.failures and s.last_error is not None:
                log.info("store: writing works again")
            s.last_error = None
            s.batches += 1
            s.readings_written += len(batch.site) + len(batch.loadpoints)
            s.events_written += len(batch.events)
            s.sessions_written += len(batch.sessions)
            s.last_write_s = took
            s.max_write_s = max(s.max_write_s, took)
            self._writing = False
            self._idle.notify_all()
        return 0.0

    def _put_back(self, batch: Batch) -> None:
        """Return a failed batch in front of what arrived meanwhile (lock held); newer sessions win."""
        p = self._pending
        p.site[:0] = batch.site
        p.loadpoints[:0] = batch.loadpoints
        p.events[:0] = batch.events
        for sid, s in batch.sessions.items():
            p.sessions.setdefault(sid, s)
        self._trim()
        excess = len(p.events) - MAX_PENDING_EVENTS
        if excess > 0:
            del p.events[:excess]
            self.stats.events_dropped += excess
