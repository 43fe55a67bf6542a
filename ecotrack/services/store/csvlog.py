"""CSV files in TWCManager's layout, for users who graph those files.

Three files in one directory, no header, every column quoted (TWCManager's default), appended to:

* ``greenenergy.csv``: ``"epoch","YYYY-MM-DD HH:MM:SS","genW","conW","chgW"`` — generation, the house's
  whole consumption (cars included), the chargers' load; one row every ``interval_s``;
* ``slavestatus.csv``: ``"id","epoch","YYYY-MM-DD HH:MM:SS","kWh","voltsA","voltsB","voltsC"`` per
  charger — its lifetime meter and phase voltages, when the driver reports them;
* ``chargesessions.csv``: ``"id","startEpoch","startTime","startkWh","endEpoch","endTime","endkWh","VIN"``
  when a session ends. The kWh columns are the charger's lifetime meter; without one the start is 0 and
  the end the session's energy, so ``endkWh - startkWh`` is always the energy charged.

Times are local time, as TWCManager writes them. Rows are collected in memory and appended by
:meth:`CsvLog.write_pending` (off the event loop).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecotrack.runtime.sessions import Session
    from ecotrack.runtime.snapshot import Snapshot

__all__ = ["CsvLog"]

log = logging.getLogger(__name__)

FILES = ("greenenergy.csv", "slavestatus.csv", "chargesessions.csv")


def _fmt(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class CsvLog:
    def __init__(self, directory: Path, *, interval_s: float = 60.0, quote: bool = True) -> None:
        self.directory = directory
        self.interval_s = interval_s
        self.quote = quote
        self._pending: dict[str, list[str]] = {f: [] for f in FILES}
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def _row(self, values: list[object]) -> str:
        cells = [str(v) for v in values]
        return ",".join(f'"{c}"' if self.quote else c for c in cells)

    def _add(self, file: str, values: list[object]) -> None:
        with self._lock:
            self._pending[file].append(self._row(values))

    def on_snapshot(self, snap: Snapshot, charger_ids: dict[str, str]) -> None:
        """Add greenenergy/slavestatus rows when ``interval_s`` passed since the last ones."""
        if self._last is not None and (snap.time - self._last).total_seconds() < self.interval_s:
            return
        self._last = snap.time
        epoch = int(snap.time.timestamp())
        stamp = _fmt(snap.time)
        gen = snap.pv_w or 0.0
        chg = sum(lp.power_w for lp in snap.loadpoints)
        con = (snap.grid_w or 0.0) + gen + (snap.battery_w or 0.0)
        self._add("greenenergy.csv", [epoch, stamp, f"{gen:.1f}", f"{con:.1f}", f"{chg:.1f}"])
        for lp in snap.loadpoints:
            details = lp.details
            lifetime = details.get("lifetime_kwh")
            volts = details.get("voltages_v")
            vs = [int(v) for v in volts[:3]] if isinstance(volts, list | tuple) else []
            vs += [0] * (3 - len(vs))
            kwh = int(lifetime) if isinstance(lifetime, int | float) else 0
            self._add("slavestatus.csv", [charger_ids.get(lp.charger, lp.charger), epoch, stamp, kwh, *vs])

    def on_session_end(self, session: Session, charger_id: str) -> None:
        if session.meter_start_wh is not None and session.meter_end_wh is not None:
            start_kwh, end_kwh = int(session.meter_start_wh / 1000), int(session.meter_end_wh / 1000)
        else:
            start_kwh, end_kwh = 0, round(session.energy_wh / 1000)
        ended = session.ended or session.started
        self._add(
            "chargesessions.csv",
            [
                charger_id,
                int(session.started.timestamp()),
                _fmt(session.started),
                start_kwh,
                int(ended.timestamp()),
                _fmt(ended),
                end_kwh,
                session.vehicle or "",
            ],
        )

    def write_pending(self) -> None:
        """Append the collected rows to their files (creating the directory); errors are logged, kept."""
        with self._lock:
            pending, self._pending = self._pending, {f: [] for f in FILES}
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            for file, rows in pending.items():
                if rows:
                    # Private to this user like the database (the umask of a daemon may be looser).
                    fd = os.open(self.directory / file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    with os.fdopen(fd, "a", encoding="utf-8") as fh:
                        fh.write("".join(r + "\n" for r in rows))
                    rows.clear()
        except OSError as e:
            log.warning("CSV log: cannot write to %s (%s)", self.directory, e)
            with self._lock:
                for file, rows in pending.items():
                    self._pending[file][:0] = rows[-10_000:]
