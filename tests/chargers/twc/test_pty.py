"""End to end over a real tty: the engine's TWC chargers and master on one end of a pty pair,
simulated slaves on the other. The clock runs 20x faster than the wall (1 s bus slots = 50 ms)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ecotrack.app import build_engine
from ecotrack.chargers.twc.driver import TwcCharger
from ecotrack.chargers.twc.simbus import SimulatedBus, open_pty
from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams
from ecotrack.clock import ScaledClock
from ecotrack.config import Config
from ecotrack.config_load import parse_config
from ecotrack.services.mqtt.status import loadpoint_values
from ecotrack.services.web.metrics import render_metrics
from ecotrack.services.web.state import build_state

SPEED = 20.0


@dataclass
class Line:
    """A pty pair behind a stable symlink (like /dev/serial/by-id), with the slaves on the far end."""

    link: Path
    slaves: list[SimulatedSlave]
    clock: ScaledClock
    sim: SimulatedBus | None = None
    task: asyncio.Task[None] | None = None
    fds: list[int] = field(default_factory=list)

    def plug_in(self) -> None:
        sim_fd, tty_fd, path = open_pty()
        self.fds = [sim_fd, tty_fd]
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(path)
        self.sim = SimulatedBus(self.slaves, self.clock)
        self.task = asyncio.create_task(self.sim.run(sim_fd))

    async def unplug(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()


@pytest.fixture
async def line(tmp_path: Path) -> AsyncIterator[Callable[[list[SimulatedSlave]], Line]]:
    made: list[Line] = []

    def make(slaves: list[SimulatedSlave]) -> Line:
        ln = Line(tmp_path / "ttyTWC", slaves, ScaledClock(SPEED))
        ln.plug_in()
        made.append(ln)
        return ln

    yield make
    for ln in made:
        await ln.unplug()


def sl(twc_id: int, protocol: int, unit: float = 32.0) -> SimulatedSlave:
    return SimulatedSlave(SlaveParams(twc_id=twc_id, protocol=protocol, unit_max_a=unit, seed=twc_id))


def config(
    port: Path,
    lps: dict[str, float],
    wiring: float | None,
    twc: dict[str, Any] | None = None,
    control: dict[str, Any] | None = None,
    ids: dict[str, int] | None = None,
) -> Config:
    chargers = {f"twc_{n}": {"type": "twc", "port": str(port), "max_a": 32, **(twc or {})} for n in lps}
    for n, twc_id in (ids or {}).items():  # pinned: which slave links first is up to the scheduler
        chargers[f"twc_{n}"]["twc_id"] = f"{twc_id:04X}"
    return parse_config(
        {
            "site": {"grid_meter": "grid", "wiring_limit_a": wiring},
            "meters": {"grid": {"type": "replay", "interval_s": 2}},
            "chargers": chargers,
            **({"control": control} if control else {}),
            "loadpoints": {
                n: {"charger": f"twc_{n}", "mode": "now", "min_a": 6, "max_a": a} for n, a in lps.items()
            },
        }
    )


async def until(cond: Callable[[], bool], wall_s: float = 30.0) -> None:
    """Wait until ``cond()``; ``wall_s`` only bounds a failing test (a loaded machine is slow, not wrong)."""
    deadline = time.monotonic() + wall_s
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    "kinds",
    [
        [(0x1111, 2, 32.0)],
        [(0x1111, 1, 80.0), (0x2222, 2, 32.0)],
        [(0x1111, 1, 80.0), (0x2222, 2, 32.0), (0x3333, 2, 80.0)],
    ],
    ids=["1 slave", "2 slaves", "3 slaves"],
)
async def test_engine_drives_slaves_over_a_pty(
    line: Callable[..., Line], kinds: list[tuple[int, int, float]]
) -> None:
    ln = line([sl(*k) for k in kinds])
    wants = dict(zip(["a", "b", "c"][: len(kinds)], [16.0, 13.0, 10.0], strict=False))
    ids = dict(zip(wants, [k[0] for k in kinds], strict=True))
    cfg = config(ln.link, wants, wiring=40, twc={"bus_max_a": 40, "stop_method": "fc-b2"}, ids=ids)
    engine = build_engine(cfg, clock=ln.clock, services=False)
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: all(s.linked for s in ln.slaves))
        # each TWC carries the current the core decided for its loadpoint (mode now: the loadpoint max)
        await until(lambda: [s.limit_a for s in ln.slaves] == list(wants.values()))
        await until(lambda: all(s.actual_a == s.limit_a for s in ln.slaves))
        await until(lambda: all(lp.actual_a == wants[lp.name] for lp in engine.snapshot().loadpoints))
        snap = engine.snapshot()
        for name, lp in zip(wants, snap.loadpoints, strict=True):
            assert lp.name == name and lp.charger_online and lp.charging and lp.actual_a == wants[name]
            details = engine.chargers[f"twc_{name}"].details()
            assert details["vin"] is None or details["vin"] == "5YJ3E1EA8KF000001"
        await until(lambda: all(engine.chargers[f"twc_{n}"].details()["vin"] for n in wants))
        await until(lambda: engine.chargers["twc_a"].details()["lifetime_kwh"] == 924)
        d = engine.chargers["twc_a"].details()
        assert d["lifetime_kwh"] == 924 and d["voltages_v"] == [244, 240, 245] and d["linked"] is True
        assert ln.sim is not None and ln.sim.max_total_limit_a <= 40
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)
    # left safe: every slave at 0 A and not charging (p1 by 0 A, p2 by FC B2)
    await until(lambda: all(s.actual_a == 0 for s in ln.slaves))
    assert all(s.offer_a() == 0 for s in ln.slaves)


async def test_wiring_limit_holds_on_the_wire_for_random_commands(line: Callable[..., Line]) -> None:
    import random

    ln = line([sl(0x1111, 1, 80.0), sl(0x2222, 2, 32.0), sl(0x3333, 2, 32.0)])
    clock = ln.clock
    from ecotrack.chargers.twc.bus import TwcBus
    from ecotrack.chargers.twc.master import MasterSettings, TwcTarget

    bus = TwcBus(str(ln.link), MasterSettings(bus_max_a=30), clock)
    chargers = []
    for n in "abc":
        bus.add_target(TwcTarget(n, max_a=20), 30, 0x7777)
        chargers.append(TwcCharger(n, bus, clock, max_a=20))
    tasks = [asyncio.create_task(c.run()) for c in chargers]
    rng = random.Random(7)
    try:
        await until(lambda: len(bus.protocol.slaves) == 3)
        for _ in range(25):
            await rng.choice(chargers).set_current(
                rng.choice([0, 6, 7.5, 10, 16, 20, 32, 80, -1, float("nan")])
            )
            await asyncio.sleep(rng.uniform(0, 0.1))
        await asyncio.sleep(0.5)
        assert ln.sim is not None
        assert ln.sim.max_total_limit_a <= 30
        assert all(s.offer_a() <= 20 for s in ln.slaves)
        assert sum(c.rejected for c in chargers) >= 1
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_garbage_and_bad_checksums_are_counted_and_ignored(line: Callable[..., Line]) -> None:
    ln = line([sl(0x1111, 2)])
    engine = build_engine(config(ln.link, {"a": 12}, wiring=None), clock=ln.clock, services=False)
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: ln.slaves[0].limit_a == 12)
        charger = engine.chargers["twc_a"]
        assert isinstance(charger, TwcCharger)
        stats = charger.bus.deframer.stats
        assert ln.sim is not None
        ln.sim.inject(b"\xfe\x00\x11garbage\xc0\xc0\xdb\x01\xc0")
        ln.sim.inject(b"\xc0\xfd\xe0\x11\x11\x77\x77\x01")  # a frame cut short
        ln.sim.corrupt_replies = 3
        await until(lambda: stats.bad_checksum >= 3 and stats.stray_bytes > 0 and stats.bad_frames >= 4)
        replies = charger.bus.protocol.slaves[0x1111].replies
        await until(lambda: charger.bus.protocol.slaves[0x1111].replies > replies + 3)
        assert ln.slaves[0].limit_a == 12 and charger.reading() is not None and charger.reading().online  # type: ignore[union-attr]
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)


async def test_silent_slave_dropped_and_relinked(line: Callable[..., Line]) -> None:
    ln = line([sl(0x1111, 1, 80.0), sl(0x2222, 2)])
    engine = build_engine(
        config(ln.link, {"a": 10, "b": 8}, wiring=None, ids={"a": 0x1111, "b": 0x2222}),
        clock=ln.clock,
        services=False,
    )
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: [s.limit_a for s in ln.slaves] == [10, 8])
        charger = engine.chargers["twc_b"]
        assert isinstance(charger, TwcCharger)
        # When the master drops it (clock time, taken at the drop, not when this test looks).
        dropped_at: list[float] = []
        charger.bus.protocol.listeners.append(
            lambda target, slave: dropped_at.append(ln.clock.now()) if target == "twc_b" and slave.target is None else None
        )
        ln.slaves[1].power(False, ln.clock.now())
        off = ln.clock.now()
        await until(lambda: charger.slave() is None)
        assert len(dropped_at) == 1 and 25 <= dropped_at[0] - off <= 32
        await until(lambda: charger.reading() is not None and not charger.reading().online)  # type: ignore[union-attr]
        assert ln.slaves[0].limit_a == 10  # the other TWC was served all along
        ln.slaves[1].power(True, ln.clock.now())
        await until(lambda: charger.slave() is not None and ln.slaves[1].limit_a == 8)
        await until(lambda: charger.reading().online)  # type: ignore[union-attr]
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)


async def test_port_vanishing_and_returning_is_survived(line: Callable[..., Line]) -> None:
    ln = line([sl(0x1111, 2)])
    engine = build_engine(config(ln.link, {"a": 11}, wiring=None), clock=ln.clock, services=False)
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: ln.slaves[0].limit_a == 11)
        charger = engine.chargers["twc_a"]
        assert isinstance(charger, TwcCharger)
        await ln.unplug()  # the USB adapter is pulled: the tty and its by-id link disappear
        await until(lambda: charger.bus.port_losses == 1 and charger.bus.port_error is not None)
        await until(lambda: charger.error is not None and not charger.reading().online)  # type: ignore[union-attr]
        await asyncio.sleep(0.3)  # a few reopen attempts fail meanwhile
        assert charger.bus.opens == 1
        # the TWC (still powered, its timers running) heard nothing for > 10 s: it fell back and stopped
        twc = ln.slaves[0]

        def fell_back() -> bool:
            twc.tick(ln.clock.now())
            return twc.fallbacks == 1 and twc.actual_a == 0 and not twc.linked

        await until(fell_back)
        ln.plug_in()  # plugged back in: a new tty behind the same link
        await until(lambda: charger.bus.opens == 2)
        await until(lambda: ln.slaves[0].limit_a == 11 and charger.error is None)
        await until(lambda: charger.reading().online)  # type: ignore[union-attr]
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)


async def test_a_twc_back_under_a_new_id_is_driven_again(line: Callable[..., Line]) -> None:
    """TWCManager's fake slave killed and back 10 s later under another ID (issue 12, defect 5)."""
    ln = line([sl(0x1111, 2)])
    engine = build_engine(config(ln.link, {"a": 10}, wiring=None), clock=ln.clock, services=False)
    run = asyncio.create_task(engine.run())
    try:
        twc = ln.slaves[0]
        await until(lambda: twc.limit_a == 10 and twc.actual_a == 10)
        charger = engine.chargers["twc_a"]
        assert isinstance(charger, TwcCharger)
        twc.power(False, ln.clock.now())
        await asyncio.sleep(10 / SPEED)
        twc.power(True, ln.clock.now(), new_id=0x4444)
        back = ln.clock.now()
        await until(lambda: charger.slave() is not None and charger.slave().twc_id == 0x4444)  # type: ignore[union-attr]
        assert ln.clock.now() - back < 20  # adopted before the old ID's 26 s drop
        await until(lambda: twc.limit_a == 10 and twc.actual_a == 10)
        await until(lambda: engine.snapshot().loadpoints[0].charger_online)
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)


async def test_a_protocol2_linkready_with_13_byte_replies_is_stopped_by_its_stop_method(
    line: Callable[..., Line],
) -> None:
    """Issue 12, defect 6: such a slave was taken for protocol 1 and sent ``05 00 00`` forever."""
    odd = SimulatedSlave(SlaveParams(twc_id=0x2222, protocol=2, heartbeat_size=13, seed=2))
    ln = line([odd])
    engine = build_engine(config(ln.link, {"a": 13}, wiring=None, twc={"stop_method": "fc-b2"}), clock=ln.clock, services=False)
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: odd.actual_a == 13)
        engine.set_mode("a", "off")
        await until(lambda: odd.halted and odd.actual_a == 0)
        charger = engine.chargers["twc_a"]
        assert isinstance(charger, TwcCharger)
        assert charger.details()["protocol"] == 2
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)


async def test_a_twc_that_ignores_0a_is_escalated_and_its_loadpoint_shows_a_fault(line: Callable[..., Line]) -> None:
    """A protocol-1 TWC that ignores ``05 00 00``: after stop_escalation_s the stop method runs (FC B2)."""
    deaf = SimulatedSlave(SlaveParams(twc_id=0x1111, protocol=1, ignores_zero=True, seed=3))
    ln = line([deaf])
    cfg = config(ln.link, {"a": 13}, wiring=None, twc={"stop_method": "fc-b2"}, control={"stop_escalation_s": 10})
    engine = build_engine(cfg, clock=ln.clock, services=False)
    faults: list[str] = []
    engine.add_event_listener(lambda e: faults.append(e.message) if e.kind == "fault" else None)
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: deaf.actual_a == 13)
        engine.set_mode("a", "off")
        off = ln.clock.now()
        await until(lambda: engine.snapshot().loadpoints[0].status == "fault")
        assert ln.clock.now() - off >= 10
        lp = engine.snapshot().loadpoints[0]
        assert "13.0 A" in lp.reason and lp.escalations == 1 and faults
        # the same fault in the MQTT status and /metrics
        values = loadpoint_values(lp)
        assert values["loadpoints/a/status"] == "fault" and "13.0 A" in str(values["loadpoints/a/reason"])
        metrics = render_metrics(build_state(engine, engine.snapshot()))
        assert 'ecotrack_loadpoint_fault{loadpoint="a"} 1.0' in metrics
        assert 'ecotrack_loadpoint_stop_escalations_total{loadpoint="a"} 1.0' in metrics
        await until(lambda: deaf.halted and deaf.actual_a == 0)  # FC B2 stopped it
        await until(lambda: engine.snapshot().loadpoints[0].status != "fault")
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)
