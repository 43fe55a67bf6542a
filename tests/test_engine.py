"""The engine on real asyncio with a fast clock: closed loop, commands on change, failures, failsafe, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import math
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ecotrack.app import build_engine
from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.clock import ScaledClock
from ecotrack.config import Config
from ecotrack.config_load import parse_config
from ecotrack.core.model import Mode
from ecotrack.devices.context import DeviceContext
from ecotrack.devices.registry import DriverRegistry, builtin_registry
from ecotrack.meters.base import MeterReading, MeterSink, Source
from ecotrack.runtime.engine import Engine
from ecotrack.runtime.snapshot import Snapshot

SPEED = 50.0  # clock seconds per wall second: 1 s of controller time = 20 ms


def write_trace(path: Path, pv_w: float, load_w: float) -> Path:
    """A constant two-sample trace (it loops, so it lasts forever)."""
    path.write_text(
        f"timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,{pv_w},{load_w}\n2024-06-21T10:01:00Z,{pv_w},{load_w}\n"
    )
    return path


def make_config(trace: Path | None = None, loadpoint: dict[str, Any] | None = None, **site: Any) -> Config:
    return parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid"], "max_meter_age_s": 5, **site},
            "meters": {"grid": {"type": "replay", "trace": str(trace) if trace else None, "interval_s": 1}},
            "chargers": {
                "car": {"type": "simulated", "max_a": 32, "start_delay_s": 1, "report_interval_s": 1}
            },
            "loadpoints": {
                "garage": {
                    "charger": "car",
                    "mode": "pv",
                    "min_a": 6,
                    "max_a": 16,
                    "enable_delay_s": 2,
                    **(loadpoint or {}),
                }
            },
            "control": {"tick_s": 1},
        }
    )


class RecordingCharger(SimulatedCharger):
    """A simulated charger that remembers when each command arrived, and can be told to fail."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeline: list[tuple[float, float]] = []
        self.fail_commands = 0  # this many set_current calls raise
        self.fail_runs = 0  # this many run() calls raise after a short while

    async def set_current(self, amps: float) -> None:
        if self.fail_commands > 0:
            self.fail_commands -= 1
            raise ConnectionError("link down")
        await super().set_current(amps)
        self.timeline.append((self.clock.now(), amps))

    async def run(self) -> None:
        if self.fail_runs > 0:
            self.fail_runs -= 1
            await self.clock.sleep(0.5)
            raise OSError("serial port vanished")
        await super().run()


class ScriptedSource(Source):
    """Emits a constant grid value every second of clock time until ``die_at_s``; then every run raises."""

    def __init__(self, name: str, ctx: DeviceContext, grid_w: float, die_at_s: float = math.inf) -> None:
        super().__init__(name)
        self.clock = ctx.clock
        self.grid_w = grid_w
        self.die_at_s = die_at_s
        self.runs = 0
        self.last_emit_s: float | None = None

    async def run(self, sink: MeterSink) -> None:
        self.runs += 1
        while True:
            now = self.clock.now()
            if now >= self.die_at_s:
                raise RuntimeError("meter unreachable")
            sink.on_meter_reading(self.name, MeterReading(t_s=now, grid_w=self.grid_w))
            self.last_emit_s = now
            await self.clock.sleep(1.0)


def with_factory(
    kind: str, type_: str, factory: Callable[..., Any], base: DriverRegistry | None
) -> DriverRegistry:
    """``base`` (default: the built-in drivers) with ``type_`` built by ``factory`` (its config model kept)."""
    reg = (base or builtin_registry()).copy()
    reg.replace(dataclasses.replace(reg.get(kind, type_), factory=factory))  # type: ignore[arg-type]
    return reg


def charger_registry_with(
    factory: Callable[[str, Any, DeviceContext], SimulatedCharger], base: DriverRegistry | None = None
) -> DriverRegistry:
    return with_factory("charger", "simulated", factory, base)


def recording_registry(base: DriverRegistry | None = None) -> DriverRegistry:
    return charger_registry_with(RecordingCharger.from_config, base)


def scripted_registry(
    grid_w: float, die_at_s: float = math.inf, base: DriverRegistry | None = None
) -> DriverRegistry:
    return with_factory(
        "meter", "replay", lambda name, cfg, ctx: ScriptedSource(name, ctx, grid_w, die_at_s), base
    )


@contextlib.asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(engine.run())
    try:
        yield task
    finally:
        engine.stop()
        await asyncio.wait_for(task, 5)


async def until(pred: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait (wall seconds) until ``pred()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not pred():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


def charger_of(engine: Engine) -> RecordingCharger:
    charger = engine.chargers["car"]
    assert isinstance(charger, RecordingCharger)
    return charger


async def test_closed_loop_converges_on_sunny_surplus_and_sends_only_changes(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "sunny.csv", pv_w=3000, load_w=500)
    engine = build_engine(
        make_config(trace), clock=ScaledClock(SPEED), registry=recording_registry(), services=False
    )
    car = charger_of(engine)
    steps = 0

    def count(_: Snapshot) -> None:
        nonlocal steps
        steps += 1

    engine.add_listener(count)
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").actual_a >= 10)
        await asyncio.sleep(20 / SPEED)  # 20 more clock seconds at steady state
        snap = engine.snapshot()
    # 2500 W surplus at 230 V = 10.9 A, rounded down: 10 A; the replayed grid then shows ~ -200 W.
    lp = snap.loadpoint("garage")
    assert (lp.status, lp.commanded_a, lp.actual_a) == ("charging", 10.0, 10.0)
    assert snap.grid_w == pytest.approx(500 + 10 * 230 - 3000)
    assert snap.pv_w == 3000
    assert not snap.failsafe
    # Commands go out only when the value changes: many steps, few commands, never the same twice in a row.
    # (While the car ramps up, the meter sees it before the charger reports it, so the core may trim once
    # or twice on the way; that is the core's business, not the engine's.)
    sent = [a for _, a in car.timeline]
    assert sent[:2] == [0.0, 10.0]
    assert all(a != b for a, b in itertools.pairwise(sent))
    assert steps > 20 and len(sent) <= 10  # a meter reading every second publishes; idle ticks rarely do
    # Shutdown leaves the charger at its safe current.
    assert car.offered_a == 0.0 and sent[-1] == 0.0


async def test_meter_failure_is_retried_and_failsafe_stops_pv_in_time() -> None:
    cfg = make_config()
    clock = ScaledClock(20.0)
    engine = build_engine(
        cfg,
        clock=clock,
        registry=recording_registry(base=scripted_registry(grid_w=-3000, die_at_s=12.0)),
        backoff_initial_s=1.0,
        backoff_max_s=2.0,
        services=False,
    )
    car = charger_of(engine)
    source = engine.sources["grid"]
    assert isinstance(source, ScriptedSource)
    async with running(engine):
        await until(lambda: car.offered_a > 0)
        await until(lambda: engine.snapshot().failsafe and car.offered_a == 0.0)
        await until(lambda: source.runs >= 3)  # restarted with backoff, failing each time
        snap = engine.snapshot()
    last = source.last_emit_s
    assert last is not None
    stop_t = next(t for t, a in car.timeline if a == 0.0 and t > last)
    # Failsafe within max age + one tick (plus a clock-second of scheduling slack at 20x).
    assert stop_t - last <= cfg.site.max_meter_age_s + cfg.control.tick_s + 1.0
    assert snap.loadpoint("garage").status == "failsafe"
    grid = snap.device("grid", "meter")
    assert grid.error is not None and "meter unreachable" in grid.error
    assert grid.failures >= 2 and not grid.online


async def test_failing_charger_does_not_kill_the_engine() -> None:
    engine = build_engine(
        make_config(),
        clock=ScaledClock(SPEED),
        registry=recording_registry(base=scripted_registry(grid_w=-3000)),
        backoff_initial_s=1.0,
        backoff_max_s=2.0,
        services=False,
    )
    car = charger_of(engine)
    car.fail_commands = 3
    car.fail_runs = 1
    async with running(engine) as task:
        await until(lambda: engine.snapshot().loadpoint("garage").charger_error is not None)
        assert not task.done()
        # The driver is restarted, the command retried, and charging starts once the link is back.
        await until(lambda: car.offered_a > 0 and engine.snapshot().loadpoint("garage").actual_a > 0)
        snap = engine.snapshot()
    lp = snap.loadpoint("garage")
    assert lp.charger_error is None and lp.charger_online
    assert snap.device("car", "charger").failures == 0
    assert car.fail_commands == 0 and car.fail_runs == 0
    assert car.offered_a == 0.0  # left safe on stop


async def test_set_mode_snapshot_and_subscription() -> None:
    engine = build_engine(
        make_config(), clock=ScaledClock(SPEED), registry=scripted_registry(grid_w=-3000), services=False
    )
    with pytest.raises(KeyError):
        engine.set_mode("nope", Mode.NOW)
    with pytest.raises(ValueError):
        engine.set_mode("garage", "turbo")
    assert engine.mode_of("garage") is Mode.PV
    # The core knows the charger's own maximum.
    assert engine.site_params.loadpoints[0].charger_max_a == 32.0

    seen: list[Snapshot] = []

    async def collect() -> None:
        async for snap in engine.subscribe():
            seen.append(snap)

    collector = asyncio.create_task(collect())
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").actual_a > 0)
        engine.set_mode("garage", "off")
        assert engine.mode_of("garage") is Mode.OFF
        await until(lambda: engine.snapshot().loadpoint("garage").sent_a == 0.0)
        engine.set_mode("garage", Mode.NOW)
        # Sent, then reported back by the charger (it reports every clock second).
        await until(lambda: engine.snapshot().loadpoint("garage").offered_a == 16.0)
        snap = engine.snapshot()
    await asyncio.wait_for(collector, 1)  # the subscription ends when the engine stops

    assert seen and seen[-1].t_s >= snap.t_s
    assert snap.grid_w == -3000 and snap.surplus_w is not None
    assert snap.data_age_s is not None and 0 <= snap.data_age_s <= 2
    assert snap.time.tzinfo is not None
    lp = snap.loadpoint("garage")
    assert (lp.name, lp.charger, lp.mode, lp.status) == ("garage", "car", Mode.NOW, "charging")
    assert lp.connected and lp.charger_online and lp.offered_a == 16.0
    assert lp.power_w == pytest.approx(lp.actual_a * 230)
    assert snap.decision is not None and snap.decision.current_of("garage") == 16.0
    assert {(d.kind, d.name) for d in snap.devices} == {("meter", "grid"), ("charger", "car")}
    with pytest.raises(KeyError):
        snap.loadpoint("nope")


async def test_sigterm_in_process_leaves_chargers_safe(caplog: pytest.LogCaptureFixture) -> None:
    engine = build_engine(
        make_config(), clock=ScaledClock(SPEED), registry=scripted_registry(grid_w=-3000), services=False
    )
    caplog.set_level("INFO", logger="ecotrack.runtime")
    task = asyncio.create_task(engine.run_until_signal())
    await until(lambda: engine.snapshot().loadpoint("garage").actual_a > 0)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 3)
    car = engine.chargers["car"]
    assert isinstance(car, SimulatedCharger) and car.offered_a == 0.0
    assert "received SIGTERM" in caplog.text and "charger car left at 0 A" in caplog.text


def test_unknown_types_and_bad_wiring_are_reported() -> None:
    cfg = make_config()
    with pytest.raises(KeyError, match="unknown type 'replay'"):
        build_engine(cfg, registry=DriverRegistry(), services=False)
    with pytest.raises(KeyError, match="unknown type 'simulated'"):
        build_engine(
            cfg,
            registry=DriverRegistry(s for s in scripted_registry(0.0) if s.kind == "meter"),
            services=False,
        )
    assert "replay" in builtin_registry().types("meter")


async def test_a_core_bug_sends_chargers_to_safe_current_and_keeps_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = build_engine(
        make_config(), clock=ScaledClock(SPEED), registry=scripted_registry(grid_w=-3000), services=False
    )
    async with running(engine) as task:
        await until(lambda: engine.snapshot().loadpoint("garage").sent_a not in (None, 0.0))

        def broken(now_s: float) -> Any:
            raise ZeroDivisionError("bug")

        monkeypatch.setattr(engine.controller, "step", broken)
        car = engine.chargers["car"]
        assert isinstance(car, SimulatedCharger)
        await until(lambda: car.offered_a == 0.0)
        assert not task.done()


class ReturningCharger(RecordingCharger):
    """A driver whose ``run()`` returns (instead of raising) after a short while, ``returns`` times."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.returns = 2
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        if self.returns > 0:
            self.returns -= 1
            self._publish(self._make_reading(self.clock.now()))
            await self.clock.sleep(0.5)
            return
        await super().run()


async def test_a_charger_driver_that_returns_is_treated_as_lost_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = build_engine(
        make_config(),
        clock=ScaledClock(SPEED),
        registry=charger_registry_with(ReturningCharger.from_config, base=scripted_registry(grid_w=-3000)),
        backoff_initial_s=1.0,
        backoff_max_s=2.0,
        services=False,
    )
    car = engine.chargers["car"]
    assert isinstance(car, ReturningCharger)
    lost: list[bool] = []
    running_when_lost: list[bool] = []
    feed = engine.controller.on_charger_reading

    def spy(lp: str, reading: Any) -> None:
        lost.append(not reading.online)
        if not reading.online:
            running_when_lost.append(engine._supervisor.running("charger", "car"))
        feed(lp, reading)

    engine.controller.on_charger_reading = spy  # type: ignore[method-assign]
    caplog.set_level("WARNING", logger="ecotrack.runtime")
    async with running(engine) as task:
        # The first return: the core is told the charger is gone, and the device is not running.
        await until(lambda: any(lost))
        await until(lambda: not engine.snapshot().loadpoint("garage").charger_online)
        # Restarted with backoff (twice), then the driver stays up and charging starts.
        await until(lambda: car.runs >= 3 and engine.snapshot().loadpoint("garage").actual_a > 0)
        assert not task.done()
        snap = engine.snapshot()
    assert snap.loadpoint("garage").charger_online
    assert lost.count(True) == 2 and running_when_lost == [False, False]
    assert "charger car stopped" in caplog.text and "restarting in" in caplog.text


async def test_a_new_command_cuts_the_actuator_backoff_short() -> None:
    engine = build_engine(
        make_config(),
        clock=ScaledClock(SPEED),
        registry=recording_registry(base=scripted_registry(grid_w=-3000)),
        backoff_initial_s=30.0,
        backoff_max_s=30.0,
        services=False,
    )
    car = charger_of(engine)
    async with running(engine):
        await until(lambda: car.offered_a > 0)
        car.fail_commands = 1000  # the link goes down
        engine.set_mode("garage", Mode.NOW)  # 16 A: fails, the actuator backs off for 30 s
        await until(lambda: engine.snapshot().loadpoint("garage").charger_error is not None)
        await asyncio.sleep(3 / SPEED)
        # The backoff holds while the wanted current stays the same (ticks do not retry it).
        assert 1000 - car.fail_commands == 1
        car.fail_commands = 0  # the link is back
        t_off = engine.clock.now()
        engine.set_mode("garage", Mode.OFF)
        await until(lambda: car.offered_a == 0.0, timeout_s=25 / SPEED + 1)
    t_cut = next(t for t, a in car.timeline if a == 0.0 and t >= t_off)
    assert t_cut - t_off <= engine.tick_s + 1.0  # not after the rest of the 30 s backoff


def driver_registry(base: DriverRegistry | None = None, **driver: Any) -> DriverRegistry:
    """Recording chargers whose driver overrides the configured hardware (``max_a``, ``step_a``)."""

    def make(name: str, cfg: Any, ctx: DeviceContext) -> RecordingCharger:
        charger = RecordingCharger.from_config(name, cfg, ctx)
        assert isinstance(charger, RecordingCharger)
        for key, value in driver.items():
            setattr(charger, key, value)
        return charger

    return charger_registry_with(make, base)


async def test_the_driver_maximum_always_caps_the_configured_one() -> None:
    # The config says the charger does 32 A, the driver knows it does 10 A.
    engine = build_engine(
        make_config(loadpoint={"mode": "now"}),
        clock=ScaledClock(SPEED),
        registry=driver_registry(max_a=10.0, base=scripted_registry(grid_w=-3000)),
        services=False,
    )
    assert engine.site_params.loadpoints[0].charger_max_a == 10.0
    car = charger_of(engine)
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").sent_a == 10.0)
        await asyncio.sleep(5 / SPEED)
    assert max(a for _, a in car.timeline) == 10.0  # never asked for the loadpoint's 16 A

    # A driver that allows more than the config keeps the configured (lower) maximum.
    engine = build_engine(
        make_config(),
        registry=driver_registry(max_a=63.0, base=scripted_registry(grid_w=-3000)),
        services=False,
    )
    assert engine.site_params.loadpoints[0].charger_max_a == 32.0


def test_the_coarser_of_loadpoint_and_driver_step_is_used() -> None:
    def step(loadpoint_step: float, driver_step: float) -> float:
        cfg = make_config(loadpoint={"step_a": loadpoint_step})
        engine = build_engine(
            cfg, registry=driver_registry(step_a=driver_step, base=scripted_registry(-3000)), services=False
        )
        return engine.site_params.loadpoints[0].step_a

    assert step(0.1, 1.0) == 1.0
    assert step(1.0, 0.1) == 1.0
    assert step(0.1, 0.1) == pytest.approx(0.1)


async def test_a_whole_amp_charger_is_never_sent_tenths(tmp_path: Path) -> None:
    # 2500 W of surplus is 10.87 A: a 0.1 A loadpoint would ask for 10.8 A.
    trace = write_trace(tmp_path / "sunny.csv", pv_w=3000, load_w=500)
    engine = build_engine(
        make_config(trace, loadpoint={"step_a": 0.1}),
        clock=ScaledClock(SPEED),
        registry=driver_registry(step_a=1.0),
        services=False,
    )
    car = charger_of(engine)
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").actual_a >= 10)
        await asyncio.sleep(10 / SPEED)
    sent = [a for _, a in car.timeline]
    assert 10.0 in sent
    assert all(a == int(a) for a in sent), sent


async def test_a_failing_snapshot_does_not_end_the_engine(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = build_engine(
        make_config(), clock=ScaledClock(SPEED), registry=scripted_registry(grid_w=-3000), services=False
    )
    steps = 0

    def count(_: Snapshot) -> None:
        nonlocal steps
        steps += 1

    engine.add_listener(count)
    async with running(engine) as task:
        await until(lambda: steps > 2)
        build = engine._build_snapshot
        failed = 0

        def broken_once(now_s: float, details: Any = None) -> Snapshot:
            nonlocal failed
            if not failed:
                failed += 1
                raise RuntimeError("snapshot bug")
            return build(now_s, details)

        monkeypatch.setattr(engine, "_build_snapshot", broken_once)
        await until(lambda: failed == 1)
        seen = steps
        # Still stepping (ticks and meter readings) and publishing, and charging starts.
        await until(lambda: steps > seen + 3 and engine.snapshot().loadpoint("garage").actual_a > 0)
        assert not task.done()
    assert "snapshot bug" in caplog.text


async def test_a_bug_in_an_actuator_does_not_end_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = build_engine(
        make_config(),
        clock=ScaledClock(SPEED),
        registry=recording_registry(base=scripted_registry(grid_w=-3000)),
        services=False,
    )
    car = charger_of(engine)
    car.fail_commands = 1
    actuator = engine._actuators["garage"]
    backoff = actuator._backoff
    failed = 0

    async def broken_once(failed_a: float, seconds: float) -> None:
        nonlocal failed
        if not failed:
            failed += 1
            raise RuntimeError("actuator bug")
        await backoff(failed_a, seconds)

    monkeypatch.setattr(actuator, "_backoff", broken_once)
    async with running(engine) as task:
        await until(lambda: failed == 1)
        await until(lambda: car.offered_a > 0)  # the actuator carried on and charging starts
        assert not task.done()


async def test_idle_ticks_publish_rarely_and_an_intent_publishes_at_once() -> None:
    """With no meter readings nothing changes: ticks publish every QUIET_PUBLISH_S, a user intent at once."""
    from ecotrack.runtime.engine import QUIET_PUBLISH_S

    engine = build_engine(
        make_config(),
        clock=ScaledClock(SPEED),
        registry=scripted_registry(grid_w=-3000, die_at_s=0.0),  # the meter never delivers
        services=False,
        backoff_initial_s=60.0,
    )
    times: list[float] = []
    engine.add_listener(lambda snap: times.append(snap.t_s))
    async with running(engine):
        await asyncio.sleep(21 / SPEED)  # about 21 ticks
        idle = len(times)
        engine.set_mode("garage", Mode.OFF)
        published_on_intent = len(times) - idle
    assert 2 <= idle <= 21 / QUIET_PUBLISH_S + 2, times
    assert published_on_intent == 1


async def test_a_delivered_failsafe_cut_shows_in_the_snapshot_within_a_tick() -> None:
    """The step that decides the failsafe publishes before its cut is sent; the next tick must show the cut
    (found by the fault suite: the API said 13 A sent for 6 s after the charger had been cut to 0 A)."""
    cfg = make_config()
    engine = build_engine(
        cfg,
        clock=ScaledClock(SPEED),
        registry=recording_registry(base=scripted_registry(grid_w=-3000, die_at_s=6.0)),
        backoff_initial_s=60.0,
        services=False,
    )
    car = charger_of(engine)
    published: list[tuple[float, float | None]] = []
    engine.add_listener(lambda snap: published.append((snap.t_s, snap.loadpoint("garage").sent_a)))
    async with running(engine):
        await until(lambda: car.offered_a > 0)
        await until(lambda: engine.snapshot().failsafe and car.offered_a == 0.0)
        cut_t = next(t for t, a in car.timeline if a == 0.0 and t > 6.0)
        await until(lambda: published[-1][0] >= cut_t + 2 * cfg.control.tick_s)
    shown = next(t for t, sent in published if t >= cut_t and sent == 0.0)
    assert shown - cut_t <= cfg.control.tick_s + 0.5, published
