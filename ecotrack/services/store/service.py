"""The history store as an engine service: :func:`attach_store`.

:mod:`ecotrack.app` calls :func:`attach_store` with the ``store:`` section, the data directory and the
tariff it built (for session costs). It opens the store (SQLite ``ecotrack.db`` in the data directory
unless a URL is configured), migrates its schema, hands any open session back to the engine (crash
recovery), and registers listeners and the ``store`` service: snapshots become readings, session events
and engine events are queued for the background writer, the roll-up runs every few minutes, and on stop
the last state is written. The web app reads the history through the returned :class:`Recorder`, which
:mod:`ecotrack.app` passes to it.

Listeners only append to memory, so the control loop never waits for the database. A database that
cannot be opened at start is logged and retried by the service; control runs regardless.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ecotrack.runtime.sessions import Session
from ecotrack.services.store.config import StoreConfig
from ecotrack.services.store.csvlog import CsvLog
from ecotrack.services.store.db import Store, database_url
from ecotrack.services.store.recorder import ReadingSampler
from ecotrack.services.store.records import EventRecord, LoadpointRow, SessionRecord, SiteRow
from ecotrack.services.store.writer import StoreWriter
from ecotrack.tariffs.base import Tariff
from ecotrack.tariffs.cost import SessionCostMeter

if TYPE_CHECKING:
    from ecotrack.runtime.snapshot import Event, Snapshot
    from ecotrack.runtime.surface import EngineSurface

__all__ = ["Recorder", "attach_store"]

log = logging.getLogger(__name__)

#: Seconds between two roll-up/retention runs.
ROLLUP_EVERY_S = 300.0
#: Seconds between two attempts to open a database that was unreachable at start.
REOPEN_EVERY_S = 30.0


def attach_store(
    engine: EngineSurface, config: StoreConfig, data_dir: Path | None, tariff: Tariff | None = None
) -> Recorder | None:
    """The history store for ``engine`` (see the module docstring); None when disabled or with nowhere to keep it.

    ``data_dir`` holds the SQLite file (unless ``config.url`` names a database) and a relative CSV
    directory; ``tariff`` prices the sessions.
    """
    if not config.enabled:
        return None
    if config.url is None and data_dir is None:
        log.debug("store: no data directory and no URL; no history is kept")
        return None
    recorder = Recorder(engine, config, tariff, data_dir)
    recorder.open()
    engine.add_listener(recorder.on_snapshot)
    engine.add_session_listener(recorder.on_session)
    engine.add_event_listener(recorder.on_event)
    engine.add_service("store", recorder.run)
    return recorder


class Recorder:
    """The store's side of the engine: listeners, recovery and the service task."""

    def __init__(
        self, engine: EngineSurface, config: StoreConfig, tariff: Tariff | None, data_dir: Path | None = None
    ) -> None:
        if config.url is None and data_dir is None:
            raise ValueError("the store needs a database URL or a data directory")
        self.engine = engine
        self.config = config
        self.tariff = tariff
        self.costs = SessionCostMeter(tariff) if tariff is not None else None
        self.url = database_url(config, data_dir) if data_dir is not None else str(config.url)
        self.store: Store | None = None
        self.writer: StoreWriter | None = None
        self.sampler = ReadingSampler(config.resolution_s, self._add_site, self._add_loadpoint)
        self.csv: CsvLog | None = None
        if config.csv is not None:
            directory = config.csv.path or Path("csv")
            if not directory.is_absolute() and data_dir is not None:
                directory = data_dir / directory
            self.csv = CsvLog(directory, interval_s=config.csv.interval_s, quote=config.csv.quote)
        #: Charger name -> the id the CSV files use (TWCManager's, when the driver reports one).
        self._charger_ids: dict[str, str] = {}
        self._early: list[SessionRecord | EventRecord] = []  # what arrived before the database was open
        self.open_error: str | None = None

    # ------------------------------------------------------------------ opening and recovery
    def open(self) -> bool:
        """Open (and migrate) the database and recover open sessions; False when it is unreachable."""
        try:
            store = Store(self.url)
        except Exception as e:  # unreachable server, bad credentials, a newer schema, ...
            self.open_error = f"cannot open the database: {type(e).__name__}: {e}"
            log.error("store: %s; control runs on, retrying every %.0f s", self.open_error, REOPEN_EVERY_S)
            return False
        self.open_error = None
        self.store = store
        self.writer = StoreWriter(
            store, flush_interval_s=self.config.flush_interval_s, max_pending=self.config.max_pending
        )
        if store.migrated_from is not None and store.migrated_from == 0:
            log.info("store: created a new history database at %s", store.describe())
        self._recover(store)
        return True

    def _recover(self, store: Store) -> None:
        """Give each loadpoint's newest open session back to the engine; close the others as they were."""
        restored: set[str] = set()
        open_sessions = sorted(store.open_sessions(), key=lambda s: s.started, reverse=True)
        for rec in open_sessions:
            lp = rec.loadpoint
            if (
                lp in self.engine.loadpoint_charger
                and lp not in restored
                and self.engine.session_of(lp) is None
            ):
                restored.add(lp)
                self.engine.restore_session(rec.to_session())
                if self.costs is not None:
                    self.costs.seed(rec.id, rec.grid_wh, rec.solar_wh, rec.cost or 0.0, rec.savings or 0.0)
                log.info(
                    "store: resuming session %s on %s (%.2f kWh so far)", rec.id[:8], lp, rec.energy_wh / 1000
                )
                continue
            ended = rec.updated or rec.started
            store.put_session(dataclasses.replace(rec, ended=ended))
            log.info(
                "store: closed session %s on %s at its last record %s", rec.id[:8], lp, ended.isoformat()
            )

    # ------------------------------------------------------------------ listeners (event loop; quick)
    def _add_site(self, row: SiteRow) -> None:
        if self.writer is not None:
            self.writer.add_site(row)

    def _add_loadpoint(self, row: LoadpointRow) -> None:
        if self.writer is not None:
            self.writer.add_loadpoint(row)

    @property
    def resolution_s(self) -> float:
        """Seconds between two stored readings (the web's chart never asks for finer steps)."""
        return self.config.resolution_s

    def on_snapshot(self, snap: Snapshot) -> None:
        self.sampler.add(snap)
        if self.csv is not None:
            for lp in snap.loadpoints:
                self._charger_ids[lp.charger] = _charger_id(lp.charger, lp.details)
            self.csv.on_snapshot(snap, self._charger_ids)

    def on_session(self, kind: str, session: Session) -> None:
        record = self.record_of(session)
        if self.writer is not None:
            self.writer.put_session(record, urgent=kind != "update")
        else:
            self._early.append(record)
        if kind == "end":
            if self.costs is not None:
                self.costs.finish(session.id)
            if self.csv is not None:
                self.csv.on_session_end(session, self._charger_ids.get(session.charger, session.charger))

    def on_event(self, event: Event) -> None:
        rec = EventRecord(time=event.time, kind=event.kind, message=event.message, loadpoint=event.loadpoint)
        if self.writer is not None:
            self.writer.add_event(rec)
        else:
            self._early.append(rec)

    def record_of(self, session: Session) -> SessionRecord:
        """The stored form of ``session``, with its running cost when a tariff is configured."""
        now = session.ended or self.engine.wall()
        cost = savings = None
        currency = None
        if self.costs is not None and self.tariff is not None:
            c = self.costs.update(session.id, now, session.grid_wh, session.solar_wh)
            cost, savings, currency = c.cost, c.savings, self.tariff.currency
        return SessionRecord.from_session(session, cost=cost, savings=savings, currency=currency, updated=now)

    # ------------------------------------------------------------------ the service
    async def run(self) -> None:
        """Keep the writer running, roll up now and then, and write the last state on stop."""
        while self.writer is None:  # the database was unreachable at start
            self.engine.report_service_error("store", self.open_error)
            await asyncio.sleep(REOPEN_EVERY_S)
            await asyncio.to_thread(self.open)
        writer = self.writer
        self.engine.report_service_error("store", None)
        writer.start()
        self._drain_early()
        try:
            while True:
                await asyncio.sleep(min(ROLLUP_EVERY_S, self.config.flush_interval_s * 10))
                if self.csv is not None:
                    await asyncio.to_thread(self.csv.write_pending)
                self.engine.report_service_error("store", writer.stats.last_error)
                await self._maybe_rollup()
        finally:
            await asyncio.shield(asyncio.to_thread(self._shutdown))

    _last_rollup: datetime | None = None

    async def _maybe_rollup(self) -> None:
        now = datetime.now(UTC)
        if self._last_rollup is not None and (now - self._last_rollup).total_seconds() < ROLLUP_EVERY_S:
            return
        self._last_rollup = now
        store = self.store
        if store is None:
            return
        cfg = self.config
        try:
            res = await asyncio.to_thread(
                store.rollup,
                self.engine.wall(),
                raw_retention=timedelta(days=cfg.raw_retention_days),
                aggregate_retention=(
                    timedelta(days=cfg.aggregate_retention_days) if cfg.aggregate_retention_days else None
                ),
                events_retention=timedelta(days=cfg.events_retention_days)
                if cfg.events_retention_days
                else None,
            )
            if res.deleted_readings or res.site_buckets:
                log.debug("store: roll-up %s", res)
        except Exception as e:
            log.warning("store: roll-up failed (%s); will retry", e)

    def _drain_early(self) -> None:
        early, self._early = self._early, []
        assert self.writer is not None
        for item in early:
            if isinstance(item, SessionRecord):
                self.writer.put_session(item, urgent=True)
            elif isinstance(item, EventRecord):
                self.writer.add_event(item)

    def _shutdown(self) -> None:
        """On stop: the interval in progress, every open session's latest state, then flush and close."""
        self.sampler.flush()
        writer = self.writer
        if writer is not None:
            for lp in self.engine.loadpoint_charger:
                session = self.engine.session_of(lp)
                if session is not None:
                    writer.put_session(self.record_of(session))
            writer.stop(timeout_s=10.0)
        if self.csv is not None:
            self.csv.write_pending()
        if self.store is not None:
            self.store.close()


def _charger_id(name: str, details: Mapping[str, object]) -> str:
    """TWCManager's charger id (the TWC's hex id) when the driver's details carry it, else the charger's name."""
    twcid = details.get("twcid")
    return twcid if isinstance(twcid, str) and twcid else name
