"""The fault suite's pieces: the real daemon as a process, a meter server that can misbehave, a watcher.

Every row of the fault suite (:mod:`tests.faults.scenarios`) starts ``ecotrack run`` as its own process on
a generated configuration, with a Fronius-speaking HTTP server in this process as the grid meter (its
answers can be switched to hang, fail, send garbage, trickle, or report absurd values), one simulated
charger on a loadpoint in ``pv`` mode (no start/stop delays) behind a 20 A fuse, and a private data directory. A :class:`Watcher`
polls ``/api/state`` every 0.1 s and keeps the timeline the assertions and the table are made from:
what the charger was commanded, whether the daemon was in failsafe, and whether it answered at all.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
TOKEN = "fault-suite-token-0123456789abcdef"
#: Limits of the generated site: the charger could give 32 A, the loadpoint allows 16 A, the fuse 20 A.
CHARGER_MAX_A = 32.0
LOADPOINT_MAX_A = 16.0
FUSE_A = 20.0
#: Short ages and intervals so a row takes seconds: the grid reading is stale after 3 s.
MAX_METER_AGE_S = 3.0
METER_INTERVAL_S = 0.5
#: The safe current: what the loadpoint may draw while the grid reading is missing (the failsafe).
SAFE_A = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------------------------- meter server


def power_flow(grid_w: float, pv_w: float = 4000.0) -> dict[str, Any]:
    """A Fronius GetPowerFlowRealtimeData answer (Solar API v1, documented payload)."""
    return {
        "Head": {"Status": {"Code": 0, "Reason": "", "UserMessage": ""}, "Timestamp": "2026-06-21T12:00:00+02:00"},
        "Body": {"Data": {"Site": {"P_Grid": grid_w, "P_PV": pv_w, "P_Load": -(grid_w + pv_w), "P_Akku": None},
                          "Inverters": {}, "Version": "12"}},
    }


class MeterServer:
    """A Fronius inverter on 127.0.0.1 whose behaviour a row switches with :attr:`mode`.

    Modes: ``ok`` (the documented answer with :attr:`grid_w`), ``hang`` (reads the request, never answers),
    ``500``, ``garbage`` (random bytes with a JSON content type), ``slow`` (the answer at 1 byte/s) and
    ``raw`` (the JSON text in :attr:`raw`, e.g. with 1e308 or NaN in it).
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.grid_w = -3000.0
        self.raw = ""
        self.requests = 0
        self._stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:
                server.requests += 1
                mode = server.mode
                if mode == "hang":
                    server._stop.wait(30)
                    return
                if mode == "500":
                    body = b"Internal Server Error"
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if mode == "garbage":
                    body = os.urandom(200)
                elif mode == "raw":
                    body = server.raw.encode()
                else:
                    body = json.dumps(power_flow(server.grid_w)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "slow":
                    for i in range(len(body)):
                        if server._stop.wait(1.0) or server.mode != "slow":
                            return
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(body)

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                """A client that gave up (the daemon's poll timeout) is expected here, not an error."""

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MeterServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------------------------- daemon


def site_config(meter_url: str, http_port: int, *, extra: str = "", meter_block: str | None = None) -> str:
    """The YAML of the generated site (a string: rows add sections with ``extra``)."""
    meter = meter_block or (
        f"  grid:\n    type: fronius\n    url: {meter_url}\n    interval_s: {METER_INTERVAL_S}\n"
        "    timeout_s: 2\n    retries: 0\n"
    )
    return f"""\
log_level: INFO
site:
  grid_meter: grid
  voltage_v: 230
  phases: 1
  max_meter_age_s: {MAX_METER_AGE_S}
  wiring_limit_a: 32
meters:
{meter}
chargers:
  garage:
    type: simulated
    max_a: {CHARGER_MAX_A}
    phases: 1
    car_max_a: 32
    start_delay_s: 0.5
    ramp_a_per_s: 50
    report_interval_s: 0.5
circuits:
  fuse:
    max_a: {FUSE_A}
loadpoints:
  garage:
    charger: garage
    circuit: fuse
    mode: pv
    enable_delay_s: 0
    disable_delay_s: 0
    min_a: 6
    max_a: {LOADPOINT_MAX_A}
http:
  host: 127.0.0.1
  port: {http_port}
  token: {TOKEN}
  open_reads: nobody
store:
  resolution_s: 1
  flush_interval_s: 1
{extra}"""


class Daemon:
    """``ecotrack run`` as a separate process on a generated config; log in a file (a pipe would block it)."""

    def __init__(self, directory: Path, config_text: str, http_port: int, env: dict[str, str] | None = None):
        self.directory = directory
        self.data_dir = directory / "data"
        self.config = directory / "ecotrack.yaml"
        self.config.write_text(config_text)
        self.log = directory / "daemon.log"
        self.http_port = http_port
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def db(self) -> Path:
        return self.data_dir / "ecotrack.db"

    def start(self) -> None:
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ecotrack", "run", "-c", str(self.config), "--data-dir", str(self.data_dir)],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=fh,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def state(self, timeout_s: float = 3.0) -> dict[str, Any] | None:
        """``/api/state``, or None when the daemon does not answer in time."""
        try:
            r = httpx.get(f"{self.url}/api/state", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=timeout_s)
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            return None
        data: dict[str, Any] = r.json()
        return data


@contextlib.contextmanager
def running(directory: Path, config_text: str, http_port: int, env: dict[str, str] | None = None) -> Iterator[Daemon]:
    daemon = Daemon(directory, config_text, http_port, env)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


# ------------------------------------------------------------------------------------------------ watching


@dataclass(frozen=True)
class Sample:
    """One poll of ``/api/state``: None fields when the daemon did not answer."""

    t: float
    answered: bool
    commanded_a: float | None = None
    sent_a: float | None = None
    measured_a: float | None = None
    failsafe: bool | None = None
    grid_w: float | None = None
    status: str | None = None
    reason: str | None = None


def sample(daemon: Daemon, t: float) -> Sample:
    state = daemon.state()
    if state is None:
        return Sample(t, False)
    lp = next((x for x in state.get("loadpoints", []) if x.get("id") == "garage"), None)
    site = state.get("site", {})
    if lp is None:
        return Sample(t, True, failsafe=site.get("failsafe"))
    return Sample(
        t,
        True,
        commanded_a=lp.get("commanded_a"),
        sent_a=lp.get("sent_a"),
        measured_a=lp.get("actual_a"),
        failsafe=site.get("failsafe"),
        grid_w=site.get("grid_w"),
        status=lp.get("status"),
        reason=lp.get("reason"),
    )


@dataclass
class Watcher:
    """Polls the daemon in a thread; the timeline of :class:`Sample` since :meth:`start`."""

    daemon: Daemon
    period_s: float = 0.1
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Watcher:
        def loop() -> None:
            while not self._stop.is_set():
                self.samples.append(sample(self.daemon, time.monotonic()))
                self._stop.wait(self.period_s)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def max_commanded(self) -> float:
        """The highest current the daemon ever reported commanding or sending (0 when none)."""
        values = [v for s in self.samples for v in (s.commanded_a, s.sent_a) if v is not None]
        return max(values, default=0.0)

    def first(self, since: float, predicate: Callable[[Sample], bool]) -> float | None:
        """Seconds from ``since`` to the first sample at or after it that satisfies ``predicate``."""
        for s in self.samples:
            if s.t >= since and predicate(s):
                return s.t - since
        return None


def wait_for(predicate: Callable[[], bool], timeout_s: float, daemon: Daemon, what: str) -> float:
    """Seconds until ``predicate()``; fails with the daemon's log when it does not come or the daemon died."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if predicate():
            return time.monotonic() - t0
        if not daemon.alive():
            raise AssertionError(f"the daemon exited ({daemon.proc and daemon.proc.returncode}) waiting for {what}:\n"
                                 f"{daemon.tail()}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}:\n{daemon.tail()}")


def charging(daemon: Daemon) -> bool:
    """The loadpoint has been sent a current above the minimum (the car can charge)."""
    s = sample(daemon, time.monotonic())
    return s.answered and (s.sent_a or 0.0) >= 6.0 and not s.failsafe


def safe(s: Sample) -> bool:
    """The sample shows the charger at the safe current (what was last sent is at most SAFE_A)."""
    return s.answered and s.sent_a is not None and s.sent_a <= SAFE_A + 1e-9


def count_rows(db: Path) -> dict[str, int]:
    """Rows per table of the SQLite store, read as another process would (read-only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: int(con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
    finally:
        con.close()


def stored_readings(db: Path) -> int:
    """Site readings in the store (0 before the file or the table exists)."""
    if not db.exists():
        return 0
    try:
        return count_rows(db).get("site_readings", 0)
    except sqlite3.OperationalError:  # being created or locked
        return 0


def integrity(db: Path) -> str:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()
