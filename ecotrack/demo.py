"""The demo: the whole stack with simulated devices behind their real protocols and a recorded day.

The demo needs no configuration: it builds one in memory — a replay meter
``grid`` playing the modelled cloudy day (or ``--trace FILE``) from 09:15 local
and looping, a simulated 1-phase 32 A charger ``car``, and one loadpoint
``garage`` in ``pv`` mode (6–16 A) — and runs the real engine and control core on
a :class:`~ecotrack.clock.ScaledClock`, so a morning passes in minutes and the
first look shows the car starting on the sun. Every minute of demo time it logs a
status line (time of day, PV, house, car, grid). A simulated Tesla Wall Connector on a pty pair
(charger ``twc``, loadpoint ``driveway``, lower priority) is driven by the real TWC master over a tty.
A simulated OCPP 1.6J wallbox (charge point ``demo-cp``, charger ``ocpp``, loadpoint ``carport``, lowest
priority) connects over a real local websocket to the daemon's central system on a free port.

The demo keeps its history in a directory of its own (:func:`demo_data_dir`), never in the daemon's, and
closes the sessions a previous demo run left open before it starts its next simulated day
(:func:`close_open_sessions`), so no session spans the jump.

The ``ecotrack demo`` command is :mod:`ecotrack.cli.demo`; the daemon (``ecotrack run``) is
:func:`ecotrack.app.run_engine`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecotrack.clock import Clock, ScaledClock
from ecotrack.logredact import SHOW_SECRET

if TYPE_CHECKING:
    from ecotrack.config import Config
    from ecotrack.runtime.engine import Engine
    from ecotrack.world.loads import SimulatedWorld

__all__ = ["DEMO_DIR_NAME", "DEMO_START", "close_open_sessions", "demo_config", "demo_data_dir", "demo_wall", "run_demo"]

log = logging.getLogger("ecotrack.demo")

#: Default speed of the demo clock (demo seconds per wall second).
DEFAULT_SPEED = 30.0
#: Demo seconds between two status lines (at least; see :func:`run_demo`).
STATUS_EVERY_S = 60.0
#: Wall seconds between two status lines (at least), so a fast demo stays readable.
STATUS_MIN_WALL_S = 5.0


#: The id of the demo's simulated OCPP wallbox.
DEMO_CP_ID = "demo-cp"

#: Local time of day at which the demo's replayed day starts.
DEMO_START = "09:15"


#: Name of the demo's own data directory, next to (never inside) the daemon's default one.
DEMO_DIR_NAME = "ecotrack-demo"


def demo_data_dir(cli_value: Path | None = None) -> Path:
    """The directory the demo writes to: ``cli_value`` when given, else the platform's user data
    directory for ``ecotrack-demo`` (``~/.local/share/ecotrack-demo`` on Linux), created 0700.

    Why its own persistent directory rather than the daemon's or a temporary one: the daemon's default
    (``~/.local/share/ecotrack``) holds real sessions, and a demo that read it resumed a real open session
    and mixed simulated dates into real history. A temporary directory would keep real data safe too,
    but would forget the demo's history on every start, and the demo is meant to show a few days of
    sessions and the chart across restarts (each restart continues on the next simulated day, see
    :func:`demo_wall`). A sibling directory keeps both: nothing real is touched, ``rm -r`` it to start over.
    Created like the daemon's (0700; :class:`~ecotrack.config_load.DataDirError` when it cannot be).
    """
    from ecotrack.config_load import resolve_data_dir

    if cli_value is not None and str(cli_value) != "":
        return resolve_data_dir(None, cli_value)
    import platformdirs

    return resolve_data_dir(None, Path(platformdirs.user_data_dir(DEMO_DIR_NAME, appauthor=False)))


def close_open_sessions(config: Config, data_dir: Path) -> int:
    """End every session an earlier demo run left open in ``data_dir``'s store at its last record.

    The demo's clock never continues where the previous run stopped (it starts on a new simulated day,
    see :func:`demo_wall`), so resuming an open session would stretch it across the jump (23-24 h
    sessions with no energy in them). Returns how many were closed; no store file: nothing to do.
    """
    import dataclasses

    from ecotrack.services.store.config import DEFAULT_DB_FILE
    from ecotrack.services.store.db import Store, database_url

    if not config.store.enabled or (config.store.url is None and not (data_dir / DEFAULT_DB_FILE).exists()):
        return 0
    store = Store(database_url(config.store, data_dir))
    try:
        closed = 0
        for rec in store.open_sessions():
            ended = rec.updated or rec.started
            store.put_session(dataclasses.replace(rec, ended=ended))
            log.info(
                "demo: closed session %s on %s at its last record %s (the demo starts a new day)",
                rec.id[:8],
                rec.loadpoint,
                ended.isoformat(timespec="seconds"),
            )
            closed += 1
        return closed
    finally:
        store.close()


def demo_config(
    trace: Path | None = None,
    data_dir: Path | None = None,
    start_time: str = DEMO_START,
    twc_port: str | None = None,
    port: int = 8080,
    ocpp_port: int | None = None,
) -> Config:
    """The demo's in-memory configuration (see the module docstring); the dashboard listens on ``port``.

    With ``twc_port`` it also has a Tesla Wall Connector ``twc`` on that serial port and a loadpoint
    ``driveway`` (pv, 6-16 A, lower priority than the garage) behind it. With ``ocpp_port`` (0: any free
    port) it has an OCPP central system there and a wallbox ``ocpp`` (charge point ``demo-cp``) on
    loadpoint ``carport`` (pv, 6-16 A, lowest priority).
    """
    from ecotrack.config_load import parse_config

    data: dict[str, Any] = {
        "data_dir": str(data_dir) if data_dir is not None else None,
        "site": {"grid_meter": "grid", "pv_meters": ["grid"], "voltage_v": 230, "phases": 1},
        "meters": {
            "grid": {
                "type": "replay",
                "trace": str(trace) if trace is not None else None,
                "interval_s": 2.0,
                "start_time": start_time,
                "loop": True,
            }
        },
        "chargers": {"car": {"type": "simulated", "max_a": 32, "phases": 1, "car_max_a": 32}},
        "loadpoints": {"garage": {"charger": "car", "mode": "pv", "min_a": 6, "max_a": 16}},
        "http": {"port": port},
    }
    if twc_port is not None:
        data["chargers"]["twc"] = {"type": "twc", "port": twc_port, "max_a": 32, "stop_method": "fc-b2"}
        data["loadpoints"]["driveway"] = {
            "charger": "twc",
            "mode": "pv",
            "min_a": 6,
            "max_a": 16,
            "priority": -1,
        }
    if ocpp_port is not None:
        data["ocpp"] = {"port": ocpp_port}
        data["chargers"]["ocpp"] = {"type": "ocpp", "charge_point_id": DEMO_CP_ID, "max_a": 16, "phases": 1}
        data["loadpoints"]["carport"] = {"charger": "ocpp", "mode": "pv", "min_a": 6, "max_a": 16, "priority": -2}
    return parse_config(data, source="the demo configuration")


def _status_line(engine: Engine) -> str:
    """One readable line: local demo time, PV, house, car and grid power."""
    from ecotrack.meters.replay import ReplayMeter

    snap = engine.snapshot()
    meter = engine.sources.get("grid")
    when, house = "", ""
    if isinstance(meter, ReplayMeter) and meter.last is not None:
        _pv_w, load_w, _ev_w = meter.last
        when = meter.local_time() + " "
        house = f", house {load_w / 1000:.2f} kW"
    parts = [f"{when}PV {_kw(snap.pv_w)}{house}"]
    for lp in snap.loadpoints:
        parts.append(f"{lp.name} {lp.power_w / 1000:.2f} kW ({lp.actual_a:.0f} A, {lp.status})")
    parts.append(f"grid {_kw(snap.grid_w)}")
    return ", ".join(parts)


def _kw(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1000:+.2f} kW" if value < 0 else f"{value / 1000:.2f} kW"


async def run_demo(
    *,
    speed: float = DEFAULT_SPEED,
    trace: Path | None = None,
    data_dir: Path | None = None,
    duration_s: float | None = None,
    clock: Clock | None = None,
    plug_cycle_s: float | None = None,
    port: int = 8080,
    world: SimulatedWorld | None = None,
) -> Engine:
    """Run the demo until SIGINT/SIGTERM, or for ``duration_s`` **wall** seconds; returns the stopped engine.

    ``plug_cycle_s`` (demo seconds): the car is unplugged for a tenth of it, every time, so the history
    shows finished charging sessions. The dashboard is served on ``port`` (0: any free port); its URL is
    logged once it listens. ``world`` (tests) is the simulated house wiring the demo's devices join.
    """
    from ecotrack.app import build_app
    from ecotrack.chargers.twc.demo import DemoTwc
    from ecotrack.devices.context import DeviceContext
    from ecotrack.world.loads import SimulatedWorld

    clock = clock if clock is not None else ScaledClock(speed)
    twc = DemoTwc(clock)  # a simulated Wall Connector on a pty pair, driven by the real TWC master
    config = demo_config(trace, data_dir, twc_port=twc.port, port=port, ocpp_port=0)
    mark = data_dir / DEMO_CLOCK_FILE if data_dir is not None else None
    wall = demo_wall(clock, after=_read_mark(mark))  # first: the day starts at 09:15 now, not after the store
    if data_dir is not None:
        close_open_sessions(config, data_dir)
    context = DeviceContext(clock=clock, world=world if world is not None else SimulatedWorld())
    context.world.add(twc)
    app = build_app(config, context=context, data_dir=data_dir, wall=wall)
    engine = app.engine
    twc.start()
    every_s = max(STATUS_EVERY_S, STATUS_MIN_WALL_S * speed)

    async def status() -> None:
        while True:
            await engine.clock.sleep(every_s)
            log.info("%s", _status_line(engine))
            _write_mark(mark, wall())

    async def stop_after(seconds: float) -> None:
        await asyncio.sleep(seconds)
        log.info("demo duration of %g s reached", seconds)
        engine.stop()

    async def plug_cycle(every_s: float) -> None:
        from ecotrack.chargers.simulated import SimulatedCharger

        car = engine.chargers["car"]
        assert isinstance(car, SimulatedCharger)
        while True:
            await engine.clock.sleep(every_s * 0.9)
            car.plug(False)
            await engine.clock.sleep(every_s * 0.1)
            car.plug(True)

    async def announce_url() -> None:
        web = app.web
        if web is not None:
            await web.started.wait()
            log.info("dashboard: %s", web.dashboard_url(), extra={SHOW_SECRET: True})

    async def ocpp_wallbox() -> None:
        # A simulated OCPP wallbox connecting over a real websocket once the central system listens.
        from ecotrack.chargers.ocpp.simulator import SimulatedChargePoint
        from ecotrack.transport.ocpp.server import CENTRAL_SYSTEM_KEY, CentralSystem

        central = app.context.shared(CENTRAL_SYSTEM_KEY, lambda: None)
        if not isinstance(central, CentralSystem):
            return
        await central.wait_started()
        await SimulatedChargePoint(DEMO_CP_ID, max_a=16, clock=clock).run_forever(central.url())

    helpers = [asyncio.create_task(status()), asyncio.create_task(announce_url()), asyncio.create_task(ocpp_wallbox())]
    if plug_cycle_s is not None:
        helpers.append(asyncio.create_task(plug_cycle(plug_cycle_s)))
    if duration_s is not None:
        helpers.append(asyncio.create_task(stop_after(duration_s)))
    try:
        await engine.run_until_signal()
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        _write_mark(mark, wall())
        await twc.close()
    return engine


def demo_wall(
    clock: Clock, start_time: str = DEMO_START, after: datetime | None = None
) -> Callable[[], datetime]:
    """The demo's wall time: today at ``start_time`` (local) plus the demo clock's seconds.

    Schedules, daylight rules and stored timestamps then follow the simulated day, not the real one.
    ``after`` is the last demo time an earlier run recorded in the same data directory: the demo then
    starts on the first day whose ``start_time`` lies after it, so a restarted demo's history never
    overlaps the previous run's (a new simulated day instead).
    """
    hours, minutes = (int(part) for part in start_time.split(":"))
    start = datetime.now().astimezone().replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if after is not None:
        while start <= after:
            start += timedelta(days=1)
    origin = start - timedelta(seconds=clock.now())
    return lambda: (origin + timedelta(seconds=clock.now())).astimezone(UTC)


#: File in the data directory holding the last demo time (ISO 8601), so a restart continues after it.
DEMO_CLOCK_FILE = "demo-clock"


def _read_mark(path: Path | None) -> datetime | None:
    """The demo time an earlier run recorded, or None (no file, or unreadable: start today)."""
    if path is None:
        return None
    try:
        value = datetime.fromisoformat(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return value if value.tzinfo is not None else None


def _write_mark(path: Path | None, when: datetime) -> None:
    """Record the demo time atomically; a failure only costs the no-overlap nicety, so it is logged."""
    if path is None:
        return
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(when.isoformat() + "\n")
        tmp.replace(path)
    except OSError as e:
        log.debug("cannot record the demo time in %s: %s", path, e)
