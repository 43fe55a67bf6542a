"""Crash safety: ``ecotrack demo`` killed with SIGKILL mid-session, then the daemon (``ecotrack run``, with
the demo's garage loadpoint) restarted on the same data directory.

Promise: no finished session is lost, the open session keeps the energy measured before the crash (at most
one flush interval old) and, in the daemon, continues after the restart under the same id. (A restarted
*demo* closes it instead, because it starts a new simulated day: see tests/test_demo.py.)
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def demo(data_dir: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """The demo as a separate process; its log goes to a file (a pipe nobody reads would block it)."""
    with log.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "ecotrack", "demo", "--speed", "60", "--data-dir", str(data_dir), *extra],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=fh,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


#: The demo's garage (charger ``car``) as a daemon configuration, in ``now`` mode so that it charges at
#: once on the real-time clock.
GARAGE = """\
site: {grid_meter: grid, pv_meters: [grid], voltage_v: 230, phases: 1}
meters: {grid: {type: replay, interval_s: 1, start_time: "09:15", loop: true}}
chargers: {car: {type: simulated, max_a: 32, phases: 1, car_max_a: 32, report_interval_s: 1}}
loadpoints: {garage: {charger: car, mode: now, min_a: 6, max_a: 16}}
http: {enabled: false}
store: {flush_interval_s: 0.5}
"""


def daemon(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """``ecotrack run`` with :data:`GARAGE` on ``data_dir``, its log in a file."""
    config = data_dir / "garage.yaml"
    config.write_text(GARAGE)
    with log.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "ecotrack", "run", "-c", str(config), "--data-dir", str(data_dir)],
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        )


def sessions(db: Path, loadpoint: str = "garage") -> dict[str, tuple[str | None, float]]:
    """``{id: (ended, energy_wh)}`` of one loadpoint, read straight from the SQLite file (as another
    process would). The demo's ``garage`` car is the one ``--plug-cycle`` unplugs."""
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            query = "SELECT id, ended, energy_wh FROM sessions WHERE loadpoint = ?"
            return {r[0]: (r[1], r[2]) for r in con.execute(query, (loadpoint,))}
        finally:
            con.close()
    except sqlite3.OperationalError:  # the schema is being created
        return {}


def wait_for(predicate: object, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"the demo exited early with {proc.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for the demo:\n{log.read_text()[-3000:]}")


def test_kill_9_loses_no_finished_session_and_resumes_the_open_one(tmp_path: Path) -> None:
    db = tmp_path / "ecotrack.db"
    # The car leaves for 30 demo seconds every 300 (5 wall seconds at x60): sessions end regularly.
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    proc = demo(tmp_path, first_log, "--plug-cycle", "300")
    try:

        def ready() -> bool:
            s = sessions(db)
            finished = [v for v in s.values() if v[0] is not None]
            running = [v for v in s.values() if v[0] is None and v[1] > 0]
            return len(finished) >= 2 and len(running) == 1

        wait_for(ready, 60, proc, first_log)
        time.sleep(0.5)  # somewhere in the middle of the next session
        before = sessions(db)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    after_kill = sessions(db)
    finished_before = {k: v for k, v in before.items() if v[0] is not None}
    for sid, (ended, energy) in finished_before.items():  # every finished session survived, unchanged
        assert after_kill[sid] == (ended, energy)
    [open_id] = [k for k, v in after_kill.items() if v[0] is None]
    energy_at_kill = after_kill[open_id][1]
    assert energy_at_kill > 0
    if open_id in before:  # what was already written stays written
        assert energy_at_kill >= before[open_id][1]

    # Restart without unplugging: the car is still connected, so the daemon continues the open session.
    proc = daemon(tmp_path, second_log)
    try:
        wait_for(lambda: f"resuming session {open_id[:8]}" in second_log.read_text(), 30, proc, second_log)
        wait_for(lambda: sessions(db)[open_id][1] > energy_at_kill, 30, proc, second_log)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = second_log.read_text()
    assert proc.returncode == 0, err[-3000:]
    final = sessions(db)
    for sid, value in finished_before.items():
        assert final[sid] == value
    ended, energy = final[open_id]
    assert energy > energy_at_kill  # the same session took more energy after the restart
    assert [k for k, v in final.items() if v[0] is None] == [open_id]  # no second session was opened
