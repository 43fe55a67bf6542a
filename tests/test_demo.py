"""``ecotrack demo`` and ``ecotrack run``: configuration, a short in-process run, clean stop on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.chargers.simulated_config import SimulatedChargerConfig
from ecotrack.cli import app
from ecotrack.clock import ScaledClock
from ecotrack.config_load import resolve_data_dir
from ecotrack.core.model import Mode
from ecotrack.demo import (
    DEMO_CLOCK_FILE,
    DEMO_DIR_NAME,
    DEMO_START,
    _read_mark,
    demo_config,
    demo_data_dir,
    demo_wall,
    run_demo,
)
from ecotrack.meters.replay_config import ReplayMeterConfig
from ecotrack.services.store.config import DEFAULT_DB_FILE
from ecotrack.services.store.db import Store, database_url
from ecotrack.services.store.records import SessionRecord

REPO = Path(__file__).resolve().parent.parent


def sunny_csv(path: Path) -> Path:
    path.write_text("timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,4000,400\n2024-06-21T10:01:00Z,4000,400\n")
    return path


def test_demo_config_is_the_documented_house() -> None:
    cfg = demo_config()
    meter = cfg.meters["grid"]
    charger = cfg.chargers["car"]
    lp = cfg.loadpoints["garage"]
    assert isinstance(meter, ReplayMeterConfig) and meter.trace is None  # the modelled day
    assert (meter.start_time, meter.loop) == ("09:15", True)
    assert isinstance(charger, SimulatedChargerConfig) and (charger.phases, charger.max_a) == (1, 32)
    assert (lp.charger, lp.mode, lp.min_a, lp.max_a) == ("car", Mode.PV, 6, 16)
    assert cfg.site.grid_meter == "grid"


async def test_run_demo_charges_from_the_sun_and_stops_by_itself(tmp_path: Path) -> None:
    started = time.monotonic()
    engine = await run_demo(
        speed=200, trace=sunny_csv(tmp_path / "sunny.csv"), data_dir=tmp_path, duration_s=0.6, port=0
    )
    assert time.monotonic() - started < 30  # it ended by itself (duration_s), not at the test's timeout
    car = engine.chargers["car"]
    assert isinstance(car, SimulatedCharger)
    # 3600 W surplus: after the start delay the car got 15 A, and was left at 0 A on the way out.
    assert 15.0 in car.commands and car.commands[-1] == 0.0 and car.offered_a == 0.0


def _output_lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _sigterm_when(args: list[str], ready: str, tmp_path: Path) -> tuple[int, str, float]:
    """Start ``python -m ecotrack ARGS``, SIGTERM it once ``ready`` was logged; (rc, log, seconds to exit)."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO)}
    env = {k: v for k, v in env.items() if not k.startswith("ECOTRACK__")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecotrack", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the rich log handler writes to stdout
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines = _output_lines(proc)
    seen: list[str] = []
    deadline = time.monotonic() + 20
    try:
        while not any(ready in line for line in seen):
            assert time.monotonic() < deadline, "".join(seen)
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                assert proc.poll() is None, "".join(seen)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        rc = proc.wait(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.05)
    while not lines.empty():
        seen.append(lines.get())
    return rc, "".join(seen), took


def test_sigterm_stops_the_demo_cleanly(tmp_path: Path) -> None:
    rc, log, took = _sigterm_when(
        ["demo", "--speed", "50", "--duration", "60", "--data-dir", str(tmp_path / "data"), "--port", "0"],
        "dashboard: http://127.0.0.1:",
        tmp_path,
    )
    assert rc == 0, log
    assert took < 15  # a clean shutdown, not the harness's kill
    assert "#token=" in log  # the dashboard's URL, ready to click
    assert "received SIGTERM" in log and "charger car left at 0 A" in log


def test_run_with_a_config_file_and_sigterm(tmp_path: Path) -> None:
    sunny_csv(tmp_path / "day.csv")
    (tmp_path / "site.yaml").write_text(
        """
site: {grid_meter: grid, pv_meters: [grid]}
meters: {grid: {type: replay, trace: day.csv, interval_s: 1}}
chargers: {wallbox: {type: simulated}}
loadpoints: {garage: {charger: wallbox, mode: now}}
http: {port: 0}
"""
    )
    rc, log, took = _sigterm_when(
        ["run", "-c", str(tmp_path / "site.yaml"), "--data-dir", str(tmp_path / "data")],
        "garage [now]",
        tmp_path,
    )
    assert rc == 0, log
    assert took < 15  # a clean shutdown, not the harness's kill
    assert "charger wallbox left at 0 A" in log


def test_run_reports_config_errors_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {grid_meter: nowhere}\nmeters: {}\nchargers: {}\nloadpoints: {}\n")
    result = CliRunner().invoke(app, ["run", "-c", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:1: site.grid_meter: unknown meter 'nowhere'" in result.output


async def test_a_restarted_demo_continues_on_a_new_day_instead_of_overlapping(tmp_path: Path) -> None:
    first = await run_demo(
        speed=200, trace=sunny_csv(tmp_path / "s.csv"), data_dir=tmp_path, duration_s=0.3, port=0
    )
    first_end = first.wall()
    mark = datetime.fromisoformat((tmp_path / DEMO_CLOCK_FILE).read_text().strip())
    assert abs((mark - first_end).total_seconds()) < 120
    second = await run_demo(speed=200, trace=sunny_csv(tmp_path / "s.csv"), data_dir=tmp_path, duration_s=0.3, port=0)
    # The clock runs on between two reads (200 demo s per wall s, more on a busy machine): the day's
    # start lies between the wall time minus the clock read after it and minus the clock read before it.
    before_s = second.clock.now()
    wall = second.wall()
    after_s = second.clock.now()
    earliest, latest = wall - timedelta(seconds=after_s), wall - timedelta(seconds=before_s)
    assert earliest > mark  # the second run's day starts after everything the first recorded
    nine_fifteen = latest.astimezone().replace(hour=9, minute=15, second=0, microsecond=0)
    slack = timedelta(seconds=2)
    assert DEMO_START == "09:15" and earliest - slack <= nine_fifteen <= latest + slack  # same time of day


def test_demo_wall_without_a_mark_starts_today_and_an_unreadable_mark_is_ignored(tmp_path: Path) -> None:
    clock = ScaledClock(1.0)
    start = demo_wall(clock)() - timedelta(seconds=clock.now())
    assert start.astimezone().date() == datetime.now().astimezone().date()
    mark = tmp_path / DEMO_CLOCK_FILE
    for junk in ("garbage", "2026-11-22T10:00:00"):  # unparseable, and without a timezone
        mark.write_text(junk)
        assert _read_mark(mark) is None
    assert _read_mark(tmp_path / "missing") is None


def test_the_demo_keeps_its_data_in_its_own_directory_not_the_daemons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    daemon = resolve_data_dir(None)
    result = CliRunner().invoke(app, ["demo", "--duration", "0.4", "--speed", "200", "--port", "0"])
    assert result.exit_code == 0, result.output
    demo = demo_data_dir()
    assert demo == tmp_path / "share" / DEMO_DIR_NAME and (demo / DEFAULT_DB_FILE).exists()
    assert demo.stat().st_mode & 0o777 == 0o700
    assert not any(daemon.iterdir())  # the daemon's directory was not written (nor read)
    assert not demo.is_relative_to(daemon) and not daemon.is_relative_to(demo)
    assert demo_data_dir(tmp_path / "chosen") == tmp_path / "chosen"  # --data-dir still wins


async def test_a_restarted_demo_closes_the_sessions_left_open_instead_of_spanning_the_jump(tmp_path: Path) -> None:
    store = Store(database_url(None, tmp_path))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    store.put_session(  # left open by an earlier run (or a daemon) with its last figures an hour in
        SessionRecord("old", "garage", "car", yesterday, energy_wh=800, updated=yesterday + timedelta(hours=1))
    )
    store.close()
    first = await run_demo(speed=200, trace=sunny_csv(tmp_path / "s.csv"), data_dir=tmp_path, duration_s=0.3, port=0)
    assert first.session_of("garage") is not None  # the demo's car was plugged in when it stopped
    await run_demo(speed=200, trace=sunny_csv(tmp_path / "s.csv"), data_dir=tmp_path, duration_s=0.3, port=0)
    store = Store(database_url(None, tmp_path))
    try:
        sessions = {s.id: s for s in store.sessions()}
    finally:
        store.close()
    old = sessions.pop("old")
    assert old.ended == yesterday + timedelta(hours=1) and old.energy_wh == 800  # not resumed: no energy added
    ended = [s for s in sessions.values() if s.ended is not None]
    assert ended, sessions  # the first run's session was closed before the second run's new day
    for s in ended:
        assert s.ended is not None and s.ended - s.started < timedelta(hours=1), s  # none spans the jump
