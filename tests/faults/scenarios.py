"""The rows of the fault suite: one fault each, injected into the real daemon, measured and checked.

Each scenario starts ``ecotrack run`` as a process (:mod:`tests.faults.harness`), lets it charge, injects
one fault, and returns a :class:`Result` after asserting what every row promises:

* the daemon keeps running;
* no charger is ever commanded above a limit (the loadpoint's 16 A, below the 20 A fuse);
* while an input the decision needs is missing, the charger goes to its safe current within the meter's
  max age + one step (+ the time one poll may take to fail);
* after the fault ends, charging resumes within a bound;
* no recorded session or reading is lost (rows counted before/after, ``PRAGMA integrity_check``).

``tests/faults/test_faults.py`` runs every scenario under pytest; ``scripts/reliability.py`` runs them
and writes the table in ``docs/reliability.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
from mqtt.broker import Broker  # tests/mqtt/broker.py (tests/ is on sys.path under pytest and the script)

from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams

from .harness import (
    LOADPOINT_MAX_A,
    MAX_METER_AGE_S,
    TOKEN,
    Daemon,
    MeterServer,
    Watcher,
    charging,
    count_rows,
    free_port,
    integrity,
    power_flow,
    running,
    safe,
    sample,
    site_config,
    stored_readings,
    wait_for,
)
from .twcline import TwcLine

#: One control step (the engine's tick) plus one poll that may time out (2 s) plus scheduling slack.
STEP_S = 1.0
POLL_TIMEOUT_S = 2.0
SAFE_BOUND_S = MAX_METER_AGE_S + STEP_S + POLL_TIMEOUT_S + 1.0
#: Charging again after the fault ends: a poll, a decision, a command.
RECOVER_BOUND_S = 10.0
#: Start-up of a daemon (imports, schema, first reading) on a busy 2-CPU machine: generous, not a figure.
STARTUP_S = 90.0


@dataclass(frozen=True)
class Result:
    """One row of ``docs/reliability.md``."""

    fault: str
    behaviour: str
    safe_s: float | None
    recover_s: float | None
    lost: int
    max_commanded_a: float

    def cells(self) -> list[str]:
        def s(v: float | None) -> str:
            return "–" if v is None else f"{v:.1f} s"

        return [self.fault, self.behaviour, s(self.safe_s), s(self.recover_s), str(self.lost),
                f"{self.max_commanded_a:g} A"]


def _rows_lost(before: dict[str, int], after: dict[str, int]) -> int:
    """Rows of ``before`` that are missing ``after`` (tables only grow while the daemon runs)."""
    return sum(max(0, n - after.get(table, 0)) for table, n in before.items())


def _meter_fault(tmp: Path, fault: str, behaviour: str, phases: list[tuple[str, str]]) -> Result:
    """A Fronius grid meter that misbehaves for a while, then recovers; once per ``(mode, raw)`` phase
    (``mode`` of :class:`MeterServer`, ``raw`` its answer text in mode ``raw``), all in one daemon. The
    figures are the worst over the phases."""
    safe_times: list[float] = []
    recover_times: list[float] = []
    with MeterServer() as meter:
        port = free_port()
        with running(tmp, site_config(f"http://127.0.0.1:{meter.port}", port), port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                wait_for(lambda: stored_readings(daemon.db) > 0, 30, daemon, "a stored reading")
                before = count_rows(daemon.db)
                for mode, raw in phases:
                    meter.raw = raw
                    meter.mode = mode
                    t_fault = time.monotonic()
                    wait_for(lambda t=t_fault: watcher.first(t, safe) is not None, SAFE_BOUND_S + 5, daemon,
                             f"safe current ({mode})")
                    safe_s = watcher.first(t_fault, safe)
                    assert safe_s is not None
                    safe_times.append(safe_s)
                    time.sleep(1.5)  # stays safe while the fault lasts
                    during = [x for x in watcher.samples if x.t > t_fault + safe_s + 0.5 and x.answered]
                    assert all(safe(x) for x in during), during
                    meter.mode = "ok"
                    recover_times.append(wait_for(lambda: charging(daemon), RECOVER_BOUND_S, daemon,
                                                  f"charging again ({mode})"))
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            code = daemon.stop()
            assert code == 0, daemon.tail()
            after = count_rows(daemon.db)
            assert integrity(daemon.db) == "ok"
    assert max(safe_times) <= SAFE_BOUND_S, (safe_times, daemon.tail())
    assert watcher.max_commanded() <= LOADPOINT_MAX_A
    implausible = [x.grid_w for x in watcher.samples if x.grid_w is not None and not abs(x.grid_w) < 1e6]
    assert not implausible, f"an implausible grid power was taken as a reading: {implausible[:3]}"
    return Result(fault, behaviour, max(safe_times), max(recover_times), _rows_lost(before, after),
                  watcher.max_commanded())


def meter_hangs(tmp: Path) -> Result:
    return _meter_fault(tmp, "grid meter accepts the request and never answers",
                        "poll times out after timeout_s; failsafe at max age; reading again on the next poll",
                        [("hang", "")])


def meter_500(tmp: Path) -> Result:
    return _meter_fault(tmp, "grid meter answers HTTP 500",
                        "logged once, retried with backoff; failsafe at max age", [("500", "")])


def meter_garbage(tmp: Path) -> Result:
    return _meter_fault(tmp, "grid meter answers random bytes",
                        "rejected as malformed JSON; failsafe at max age", [("garbage", "")])


def meter_slow(tmp: Path) -> Result:
    return _meter_fault(tmp, "grid meter answers at 1 byte/s",
                        "the poll's total timeout ends the trickle; failsafe at max age", [("slow", "")])


def meter_absurd(tmp: Path) -> Result:
    """1e308, -1e12 and NaN grid power: not a reading (ignored like malformed input), so the grid reading
    goes stale and the failsafe holds; the absurd value must never show up in the state."""
    texts = [
        json.dumps(power_flow(1e308)),
        json.dumps(power_flow(-1e12)),
        json.dumps(power_flow(0.0)).replace('"P_Grid": 0.0', '"P_Grid": NaN'),
    ]
    return _meter_fault(tmp, "grid meter reports 1e308 W, -1e12 W, NaN W",
                        "each value rejected as out of range (never shown as a reading); failsafe at max age",
                        [("raw", text) for text in texts])


def kill_9_during_session(tmp: Path) -> Result:
    """SIGKILL while a session records; the restarted daemon resumes it and nothing stored is lost."""
    with MeterServer() as meter:
        port = free_port()
        config = site_config(f"http://127.0.0.1:{meter.port}", port, )
        daemon = Daemon(tmp, config, port)
        daemon.start()
        watcher = Watcher(daemon).start()
        try:
            wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")

            def session_energy() -> float:
                try:
                    con = sqlite3.connect(f"file:{daemon.db}?mode=ro", uri=True, timeout=5)
                    try:
                        row = con.execute("SELECT MAX(energy_wh) FROM sessions").fetchone()
                    finally:
                        con.close()
                except sqlite3.OperationalError:
                    return 0.0
                return float(row[0] or 0.0)

            wait_for(lambda: session_energy() > 0, 60, daemon, "a stored session with energy")
            before = count_rows(daemon.db)
            energy_before = session_energy()
            daemon.kill9()
            daemon.start()
            t_restart = time.monotonic()
            wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging after the restart")
            recover_s = time.monotonic() - t_restart
            wait_for(lambda: session_energy() > energy_before, 30, daemon, "the session counting on")
        finally:
            watcher.stop()
            daemon.stop()
        after = count_rows(daemon.db)
        assert integrity(daemon.db) == "ok"
        sessions_after = after.get("sessions", 0)
    assert sessions_after == before.get("sessions", 0), (before, after)  # resumed, not a new session
    return Result("kill -9 while a session is being recorded", "restart resumes the open session under its id; "
                  "energy counts on", None, recover_s, _rows_lost(before, after), watcher.max_commanded())


def big_body(tmp: Path) -> Result:
    """A 100 MB POST with and without the token: refused without reading it; control carries on."""
    with MeterServer() as meter:
        port = free_port()
        with running(tmp, site_config(f"http://127.0.0.1:{meter.port}", port), port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                before = count_rows(daemon.db) if daemon.db.exists() else {}
                chunk = b"x" * (1 << 20)
                statuses = []
                t0 = time.monotonic()
                for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):

                    def body() -> object:
                        for _ in range(100):
                            yield chunk

                    try:
                        r = httpx.post(f"{daemon.url}/api/loadpoints/garage/mode", content=body(),
                                       headers={**headers, "Content-Type": "application/json"}, timeout=30)
                        statuses.append(r.status_code)
                        assert len(r.content) < 10_000, "the answer echoes the body"
                    except httpx.HTTPError:  # the server may close the connection mid-upload: that is a refusal
                        statuses.append(0)
                took = time.monotonic() - t0
                assert all(code in (0, 401, 413) for code in statuses), statuses
                assert not any(s.failsafe for s in watcher.samples if s.t >= t0), "control starved by the upload"
                recover_s = None
            finally:
                watcher.stop()
            assert daemon.alive()
        after = count_rows(daemon.db)
    return Result("100 MB request body (without, then with the token)",
                  f"refused ({'/'.join(str(c) for c in statuses)}) in {took:.1f} s without reading it; control "
                  "unaffected", None, recover_s, _rows_lost(before, after), watcher.max_commanded())


def many_connections(tmp: Path, count: int = 1000) -> Result:
    """1,000 TCP connections at once to the web port, held open: control goes on, the API serves again after."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 500), hard))
    with MeterServer() as meter:
        port = free_port()
        with running(tmp, site_config(f"http://127.0.0.1:{meter.port}", port), port) as daemon:
            watcher = Watcher(daemon).start()
            socks: list[socket.socket] = []
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                before = count_rows(daemon.db) if daemon.db.exists() else {}
                t0 = time.monotonic()
                for _ in range(count):
                    s = socket.socket()
                    s.setblocking(False)
                    s.connect_ex(("127.0.0.1", port))
                    socks.append(s)
                time.sleep(3.0)
                held = [s for s in watcher.samples if s.t >= t0]
                failsafe_during = any(s.failsafe for s in held)
            finally:
                for s in socks:
                    s.close()
            t_end = time.monotonic()
            wait_for(lambda: daemon.state() is not None, 15, daemon, "the API answering again")
            wait_for(lambda: charging(daemon), RECOVER_BOUND_S, daemon, "charging")
            recover_s = time.monotonic() - t_end
            watcher.stop()
            assert daemon.alive(), daemon.tail()
        after = count_rows(daemon.db)
    assert watcher.max_commanded() <= LOADPOINT_MAX_A
    return Result(f"{count:,} TCP connections at once to the web port",
                  "control carried on" + (" (went to failsafe meanwhile)" if failsafe_during else "")
                  + "; API answered again after they closed", None, recover_s, _rows_lost(before, after),
                  watcher.max_commanded())


def database_locked(tmp: Path, hold_s: float = 6.0) -> Result:
    """Another process holds an exclusive lock on the SQLite store for a while: control goes on, the rows
    written meanwhile reach the file after the lock is released."""
    with MeterServer() as meter:
        port = free_port()
        config = site_config(f"http://127.0.0.1:{meter.port}", port, )
        with running(tmp, config, port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                wait_for(lambda: stored_readings(daemon.db) > 0, 30, daemon, "a stored reading")
                before = count_rows(daemon.db)
                t0 = time.monotonic()
                con = sqlite3.connect(daemon.db, timeout=5, isolation_level=None)
                con.execute("BEGIN EXCLUSIVE")
                time.sleep(hold_s)
                con.execute("ROLLBACK")
                con.close()
                held = [s for s in watcher.samples if s.t >= t0]
                assert any(s.answered for s in held[-5:]), "the API stopped answering"
                assert not any(s.failsafe for s in held), "control starved by the store"
                t_end = time.monotonic()
                wait_for(lambda: stored_readings(daemon.db) > before.get("site_readings", 0), 30, daemon,
                         "readings written after the lock")
                recover_s = time.monotonic() - t_end
            finally:
                watcher.stop()
            assert daemon.alive()
            assert daemon.stop() == 0, daemon.tail()
        after = count_rows(daemon.db)
        assert integrity(daemon.db) == "ok"
    return Result(f"SQLite store locked by another process for {hold_s:g} s",
                  "control unaffected; writes retried and flushed after the lock", None, recover_s,
                  _rows_lost(before, after), watcher.max_commanded())


class _Publisher:
    """Publishes the grid power to the broker every 0.5 s from a thread, reconnecting when it goes away."""

    def __init__(self, port: int, topic: str, value: str) -> None:
        self.port, self.topic, self.value = port, topic, value
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with aiomqtt.Client("127.0.0.1", self.port) as client:
                    while not self._stop.is_set():
                        await client.publish(self.topic, self.value)
                        await asyncio.sleep(0.5)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def __enter__(self) -> _Publisher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def broker_restart(tmp: Path, down_s: float = 4.0) -> Result:
    """The MQTT broker that carries the grid meter is killed and comes back: failsafe while it is away,
    charging again within a bound once it is back."""
    broker = Broker(tmp)
    broker.start()
    try:
        port = free_port()
        meter = "  grid:\n    type: mqtt\n    grid: {topic: faults/grid}\n"
        config = site_config("", port, meter_block=meter, extra=f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n")
        with _Publisher(broker.port, "faults/grid", "-3000"), running(tmp, config, port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                wait_for(lambda: stored_readings(daemon.db) > 0, 30, daemon, "a stored reading")
                before = count_rows(daemon.db)
                broker.stop(kill=True)
                t_fault = time.monotonic()
                wait_for(lambda: watcher.first(t_fault, safe) is not None, SAFE_BOUND_S + 5, daemon, "safe current")
                safe_s = watcher.first(t_fault, safe)
                time.sleep(max(0.0, down_s - (time.monotonic() - t_fault)))
                broker.start()
                recover_s = wait_for(lambda: charging(daemon), 40, daemon, "charging after the broker is back")
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            assert daemon.stop() == 0, daemon.tail()
        after = count_rows(daemon.db)
    finally:
        broker.stop()
    assert safe_s is not None and safe_s <= SAFE_BOUND_S, safe_s
    assert recover_s is not None and recover_s <= RECOVER_BOUND_S, f"charging again {recover_s} s after the broker"
    assert watcher.max_commanded() <= LOADPOINT_MAX_A
    return Result(f"MQTT broker (grid meter) killed for {down_s:g} s, then restarted",
                  "failsafe at max age; reconnect with capped backoff, resubscribe, charging again", safe_s,
                  recover_s, _rows_lost(before, after), watcher.max_commanded())


LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


def _open_sessions(db: Path) -> list[tuple[str, str, str | None, float]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return [tuple(r) for r in con.execute("SELECT id, started, ended, energy_wh FROM sessions")]  # type: ignore[misc]
    finally:
        con.close()


def clock_jump(tmp: Path) -> Result:
    """The wall clock jumps +1 h, then back -1 h (NTP after a long outage, a wrong RTC on a Pi): control runs
    on the monotonic clock and carries on; the open session stays one session and keeps counting."""
    stamp = tmp / "faketime"
    stamp.write_text("+0\n")
    env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(stamp),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    with MeterServer() as meter:
        port = free_port()
        with running(tmp, site_config(f"http://127.0.0.1:{meter.port}", port), port, env=env) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                wait_for(lambda: stored_readings(daemon.db) > 0, 30, daemon, "a stored reading")
                wait_for(lambda: bool(_open_sessions(daemon.db)), 30, daemon, "a stored session")
                before = count_rows(daemon.db)
                sessions_before = _open_sessions(daemon.db)
                t0 = time.monotonic()
                for offset in ("+1h", "+0"):
                    stamp.write_text(offset + "\n")
                    time.sleep(4.0)
                after_jumps = [x for x in watcher.samples if x.t >= t0]
                assert any(x.answered for x in after_jumps[-10:]), "the API stopped answering"
                assert not any(x.failsafe for x in after_jumps), "a wall-clock jump was taken for stale data"
                assert all((x.sent_a or 0) >= 6 for x in after_jumps if x.answered), "charging was interrupted"
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            assert daemon.stop() == 0, daemon.tail()
        after = count_rows(daemon.db)
        sessions_after = _open_sessions(daemon.db)
    assert len(sessions_after) == len(sessions_before), (sessions_before, sessions_after)
    for (sid, started, ended, energy), (sid0, _, _, energy0) in zip(sessions_after, sessions_before, strict=True):
        assert sid == sid0 and energy >= energy0, (sessions_before, sessions_after)
        assert ended is None or ended >= started, f"session {sid} ends before it starts: {started} .. {ended}"
    return Result("wall clock jumps +1 h, then back", "control and the open session carry on (ages are "
                  "monotonic)", None, None, _rows_lost(before, after), watcher.max_commanded())


def _pg_rows(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: int(conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one())
                    for t in ("site_readings", "loadpoint_readings", "sessions", "events")}
    finally:
        engine.dispose()


def postgres_restart(tmp: Path, down_s: float = 4.0) -> Result:
    """The PostgreSQL history store crashes (immediate stop) and comes back: control never waits for it, and
    what was recorded meanwhile reaches the database once it is back."""
    from ecotrack.services.store.throwaway import PostgresServer

    with PostgresServer() as pg, MeterServer() as meter:
        url = pg.create_database("faults")
        port = free_port()
        config = site_config(f"http://127.0.0.1:{meter.port}", port).replace(
            "store:\n", f"store:\n  url: {url}\n")
        with running(tmp, config, port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                wait_for(lambda: _pg_rows(url)["site_readings"] > 0, 30, daemon, "a stored reading")
                before = _pg_rows(url)
                pg.crash()
                t0 = time.monotonic()
                time.sleep(down_s)
                during = [x for x in watcher.samples if x.t >= t0]
                assert not any(x.failsafe for x in during), "control waited for the database"
                assert all((x.sent_a or 0) >= 6 for x in during if x.answered), "charging was interrupted"
                pg.restart()
                t_end = time.monotonic()
                wait_for(lambda: _pg_rows(url)["site_readings"] > before["site_readings"] + down_s * 0.5, 40,
                         daemon, "readings of the outage written after the restart")
                recover_s = time.monotonic() - t_end
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            assert daemon.stop() == 0, daemon.tail()
        after = _pg_rows(url)
    return Result(f"PostgreSQL store crashed for {down_s:g} s, then restarted",
                  "control unaffected; readings buffered and written after the restart", None, recover_s,
                  _rows_lost(before, after), watcher.max_commanded())


def _twc_config(meter_url: str, http_port: int, link: Path, *, twc: str = "", control: str = "") -> str:
    """The generated site with a TWC on ``link`` instead of the simulated charger."""
    text = site_config(meter_url, http_port, extra=control)
    start = text.index("chargers:\n")
    end = text.index("circuits:\n")
    charger = f"chargers:\n  garage:\n    type: twc\n    port: {link}\n    max_a: 32\n{twc}"
    return text[:start] + charger + text[end:]


def _slave(twc_id: int, protocol: int = 2, **params: Any) -> SimulatedSlave:
    return SimulatedSlave(SlaveParams(twc_id=twc_id, protocol=protocol, unit_max_a=32.0, seed=twc_id, **params))


def twc_adapter_removed(tmp: Path, away_s: float = 4.0) -> Result:
    """The RS485 adapter is pulled (the tty and its by-id link vanish) and plugged back in."""
    with MeterServer() as meter, TwcLine(tmp / "ttyTWC", [_slave(0x1111)]) as line:
        port = free_port()
        config = _twc_config(f"http://127.0.0.1:{meter.port}", port, line.link)
        with running(tmp, config, port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: line.limit_a() >= 6 and charging(daemon), STARTUP_S, daemon, "the TWC charging")
                before = count_rows(daemon.db)
                line.unplug()
                t0 = time.monotonic()
                offline_s = wait_for(lambda: _charger_offline(daemon), 30, daemon, "the charger shown offline")
                time.sleep(max(0.0, away_s - (time.monotonic() - t0)))
                heard = line.call(lambda: line.slaves[0].heartbeats_heard)
                line.plug_in()
                recover_s = wait_for(
                    lambda: line.call(lambda: line.slaves[0].heartbeats_heard) > heard + 1
                    and line.limit_a() >= 6
                    and not _charger_offline(daemon)
                    and charging(daemon),
                    30,
                    daemon,
                    "the TWC driven again",
                )
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            assert daemon.stop() == 0, daemon.tail()
        after = count_rows(daemon.db)
    assert watcher.max_commanded() <= LOADPOINT_MAX_A
    return Result(f"RS485 adapter removed for {away_s:g} s and plugged back in",
                  f"charger offline after {offline_s:.1f} s (the TWC stops itself 10 s after its last heartbeat);"
                  " port reopened with backoff", None, recover_s, _rows_lost(before, after), watcher.max_commanded())


def _charger_offline(daemon: Daemon) -> bool:
    state = daemon.state()
    if state is None:
        return False
    lp = next((x for x in state.get("loadpoints", []) if x.get("id") == "garage"), {})
    return lp.get("charger_online") is False


def twc_new_id(tmp: Path) -> Result:
    """The TWC loses power and comes back 10 s later under another ID (TWCManager's fake slave, a power cut
    on some units, a swapped unit): the charger adopts it and drives it again."""
    with MeterServer() as meter, TwcLine(tmp / "ttyTWC", [_slave(0x1111)]) as line:
        port = free_port()
        config = _twc_config(f"http://127.0.0.1:{meter.port}", port, line.link)
        with running(tmp, config, port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: line.actual_a() >= 6 and charging(daemon), STARTUP_S, daemon, "the TWC charging")
                before = count_rows(daemon.db)
                twc = line.slaves[0]
                line.call(lambda: twc.power(False, line.clock.now()))
                time.sleep(10.0)
                line.call(lambda: twc.power(True, line.clock.now(), new_id=0x4444))
                recover_s = wait_for(lambda: line.actual_a() >= 6 and charging(daemon), 30, daemon,
                                     "the TWC under its new ID driven again")
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            assert daemon.stop() == 0, daemon.tail()
        after = count_rows(daemon.db)
    assert recover_s < 26.0, "not adopted before the old ID's drop"
    assert watcher.max_commanded() <= LOADPOINT_MAX_A
    return Result("TWC off for 10 s, back under a new ID", "the unbound new ID is adopted by the charger whose TWC "
                  "went silent; charging resumes", None, recover_s, _rows_lost(before, after),
                  watcher.max_commanded())


def twc_ignores_zero(tmp: Path, escalation_s: float = 5.0) -> Result:
    """A TWC that keeps charging after 0 A: after stop_escalation_s the stop method runs (FC B2) and the
    loadpoint shows a fault until the current is gone."""
    deaf = _slave(0x1111, protocol=1, ignores_zero=True)
    with MeterServer() as meter, TwcLine(tmp / "ttyTWC", [deaf]) as line:
        port = free_port()
        config = _twc_config(f"http://127.0.0.1:{meter.port}", port, line.link, twc="    stop_method: fc-b2\n",
                             control=f"control:\n  stop_escalation_s: {escalation_s:g}\n")
        with running(tmp, config, port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: line.actual_a() >= 6 and charging(daemon), STARTUP_S, daemon, "the TWC charging")
                before = count_rows(daemon.db)
                r = httpx.post(f"{daemon.url}/api/loadpoints/garage/mode", json={"mode": "off"},
                               headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
                assert r.status_code == 200, r.text
                t0 = time.monotonic()
                wait_for(lambda: any(x.status == "fault" for x in watcher.samples if x.t >= t0), escalation_s + 15,
                         daemon, "the fault")
                safe_s = wait_for(lambda: line.actual_a() == 0.0, escalation_s + 15, daemon, "the TWC stopped")
                safe_s = time.monotonic() - t0
                wait_for(lambda: (sample(daemon, time.monotonic()).status or "fault") != "fault", 15, daemon,
                         "the fault cleared")
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            assert daemon.stop() == 0, daemon.tail()
            log = daemon.tail(200_000)
        after = count_rows(daemon.db)
    assert "fault" in log.lower()
    assert safe_s >= escalation_s
    return Result("TWC keeps charging after 0 A (off)", f"fault shown after {escalation_s:g} s "
                  "(stop_escalation_s); stop method FC B2 run; fault cleared once the current is gone",
                  safe_s, None, _rows_lost(before, after), watcher.max_commanded())


def _session_energy_wh(state: dict[str, Any] | None) -> float | None:
    lp = next((x for x in (state or {}).get("loadpoints", []) if x.get("id") == "garage"), None)
    session = (lp or {}).get("session") or {}
    value = session.get("energy_wh")
    return float(value) if isinstance(value, int | float) else None


def absurd_mqtt_values(tmp: Path) -> Result:
    """1e308, -1e12, NaN and junk on every value an MQTT meter and a Prism charger publish: each is
    ignored like malformed input (logged, rate-limited); no stored figure becomes absurd, no command exceeds
    a limit, and the real values that follow are used again."""
    from ecotrack.chargers.prism.simulator import PrismSimulator, SimulatedPrismConfig

    broker = Broker(tmp)
    broker.start()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    prism = PrismSimulator(SimulatedPrismConfig(port=broker.port, client_id="fault-prism"))
    sim_task = asyncio.run_coroutine_threadsafe(prism.run(), loop)
    try:
        port = free_port()
        meter = "  grid:\n    type: mqtt\n    grid: {topic: faults/grid}\n"
        text = site_config("", port, meter_block=meter, extra=f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n")
        start, end = text.index("chargers:\n"), text.index("circuits:\n")
        text = text[:start] + "chargers:\n  garage:\n    type: prism\n    base_topic: prism\n" + text[end:]
        junk = ["1e308", "-1e12", "NaN", "inf", "1e400", "\u0000", "x" * 300]
        with _Publisher(broker.port, "faults/grid", "-3000") as grid, running(tmp, text, port) as daemon:
            watcher = Watcher(daemon).start()
            try:
                wait_for(lambda: charging(daemon), STARTUP_S, daemon, "charging")
                wait_for(lambda: stored_readings(daemon.db) > 0, 30, daemon, "a stored reading")
                before = count_rows(daemon.db)

                async def publish_junk() -> None:
                    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
                        for value in junk:
                            for suffix in ("w", "amp", "wh", "wh_total", "volt", "pilot", "state", "session_time"):
                                await client.publish(f"prism/1/{suffix}", value)
                            await asyncio.sleep(0.2)

                for value in junk:
                    grid.value = value
                    time.sleep(0.6)
                asyncio.run_coroutine_threadsafe(publish_junk(), loop).result(30)
                grid.value = "-3000"
                time.sleep(1.0)
                recover_s = wait_for(lambda: charging(daemon), RECOVER_BOUND_S, daemon, "charging on real values")
                energy = _session_energy_wh(daemon.state())
            finally:
                watcher.stop()
            assert daemon.alive(), daemon.tail()
            assert daemon.stop() == 0, daemon.tail()
        after = count_rows(daemon.db)
        con = sqlite3.connect(f"file:{daemon.db}?mode=ro", uri=True, timeout=5)
        try:
            worst = con.execute(
                "SELECT MAX(ABS(grid_w)) FROM site_readings"
            ).fetchone()[0]
            session_wh = con.execute("SELECT MAX(energy_wh) FROM sessions").fetchone()[0]
        finally:
            con.close()
    finally:
        sim_task.cancel()
        with contextlib.suppress(BaseException):
            sim_task.result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        broker.stop()
    assert worst is None or worst < 1e6, f"an absurd grid power was stored: {worst}"
    assert session_wh is None or session_wh < 1e6, f"an absurd session energy was stored: {session_wh}"
    assert energy is None or energy < 1e6, energy
    implausible = [x.grid_w for x in watcher.samples if x.grid_w is not None and not abs(x.grid_w) < 1e6]
    assert not implausible, implausible[:3]
    assert watcher.max_commanded() <= LOADPOINT_MAX_A
    return Result("1e308, -1e12, NaN, inf, junk on every MQTT meter and Prism value",
                  "each rejected (logged, rate-limited); stored figures stay plausible; real values used again",
                  None, recover_s, _rows_lost(before, after), watcher.max_commanded())


#: Every row, in the order of the table.
SCENARIOS: dict[str, Callable[[Path], Result]] = {
    "meter_hangs": meter_hangs,
    "meter_500": meter_500,
    "meter_garbage": meter_garbage,
    "meter_slow": meter_slow,
    "meter_absurd": meter_absurd,
    "absurd_mqtt_values": absurd_mqtt_values,
    "broker_restart": broker_restart,
    "twc_adapter_removed": twc_adapter_removed,
    "twc_new_id": twc_new_id,
    "twc_ignores_zero": twc_ignores_zero,
    "kill_9_during_session": kill_9_during_session,
    "database_locked": database_locked,
    "postgres_restart": postgres_restart,
    "clock_jump": clock_jump,
    "big_body": big_body,
    "many_connections": many_connections,
}

__all__ = ["SCENARIOS", "Result"]
