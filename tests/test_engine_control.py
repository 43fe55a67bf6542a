"""The engine's control surface: current range, charge now, energy limit, rules, sessions, events, services."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from test_engine import (
    SPEED,
    RecordingCharger,
    charger_of,
    charger_registry_with,
    make_config,
    recording_registry,
    running,
    until,
    with_factory,
    write_trace,
)

from ecotrack.app import build_engine
from ecotrack.clock import ScaledClock
from ecotrack.config_load import parse_config
from ecotrack.core.model import ChargerReading, Mode
from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading, MeterSink, Source
from ecotrack.runtime.engine import Engine
from ecotrack.runtime.rules import RuleContext, RuleOutcome
from ecotrack.runtime.sessions import Session
from ecotrack.runtime.snapshot import Event
from ecotrack.services.web.state import build_state


def sunny_engine(tmp_path: Path, pv_w: float = 6000, **lp: object) -> Engine:
    trace = write_trace(tmp_path / "sunny.csv", pv_w=pv_w, load_w=500)
    return build_engine(
        make_config(trace, loadpoint=dict(lp)),
        clock=ScaledClock(SPEED),
        registry=recording_registry(),
        services=False,
    )


async def test_the_user_maximum_caps_the_charge_at_once(tmp_path: Path) -> None:
    engine = sunny_engine(tmp_path)
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").commanded_a == 16, 5)
        engine.set_current_range("garage", max_a=10)
        assert engine.snapshot().loadpoint("garage").commanded_a == 10  # decided in the same call
        await until(lambda: charger_of(engine).timeline[-1][1] == 10)
        lp = engine.snapshot().loadpoint("garage")
        assert (lp.min_a, lp.max_a, lp.limit_min_a, lp.limit_max_a) == (6, 10, 6, 16)


def test_ranges_outside_the_configuration_are_refused_and_change_nothing(tmp_path: Path) -> None:
    engine = sunny_engine(tmp_path)
    with pytest.raises(ValueError, match="above the configured maximum 16"):
        engine.set_current_range("garage", max_a=20)
    with pytest.raises(ValueError, match="below the configured minimum 6"):
        engine.set_current_range("garage", min_a=5)
    with pytest.raises(ValueError, match="min_a 12 A is above max_a 8 A"):
        engine.set_current_range("garage", min_a=12, max_a=8)
    with pytest.raises(ValueError, match="finite"):
        engine.set_current_range("garage", max_a=float("nan"))
    with pytest.raises(KeyError):
        engine.set_current_range("nope", max_a=10)
    assert engine.current_range("garage") == (6, 16)
    engine.set_current_range("garage", min_a=10)
    engine.set_current_range("garage", max_a=8)  # lowering the max takes the min along
    assert engine.current_range("garage") == (8, 8)


async def test_charge_now_overrides_off_then_expires_back_to_the_users_mode(tmp_path: Path) -> None:
    engine = sunny_engine(tmp_path, pv_w=0, mode="off")
    events: list[Event] = []
    engine.add_event_listener(events.append)
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").connected)
        until_t = engine.wall() + timedelta(seconds=0.5)  # wall time: half a second
        engine.charge_now("garage", amps=12, until=until_t)
        lp = engine.snapshot().loadpoint("garage")
        assert (lp.mode, lp.user_mode, lp.active_rule, lp.commanded_a) == (
            Mode.NOW,
            Mode.OFF,
            "charge-now",
            12,
        )
        assert lp.charge_now is not None and lp.charge_now.amps == 12
        await until(lambda: engine.snapshot().loadpoint("garage").active_rule == "manual", 5)
        lp = engine.snapshot().loadpoint("garage")
        assert lp.mode is Mode.OFF and lp.commanded_a == 0 and lp.charge_now is None
    kinds = [(e.kind, e.message) for e in events]
    assert ("rule", "rule manual -> charge-now (now)") in kinds
    assert any(k == "charge-now" and m == "charge now ended" for k, m in kinds)


async def test_charge_now_validation_and_cancel(tmp_path: Path) -> None:
    engine = sunny_engine(tmp_path)
    with pytest.raises(ValueError, match="between 6 and 16 A"):
        engine.charge_now("garage", amps=32)
    with pytest.raises(ValueError, match="timezone"):
        engine.charge_now("garage", until=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="not in the future"):
        engine.charge_now("garage", until=engine.wall() - timedelta(seconds=1))
    engine.charge_now("garage")
    assert engine.mode_of("garage") is Mode.NOW
    assert engine.cancel_charge_now("garage") is True
    assert engine.cancel_charge_now("garage") is False
    assert engine.mode_of("garage") is Mode.PV


async def test_energy_limit_stops_the_session_and_a_new_car_starts_again(tmp_path: Path) -> None:
    engine = sunny_engine(tmp_path, mode="now")
    sessions: list[tuple[str, Session]] = []
    engine.add_session_listener(lambda kind, s: sessions.append((kind, s)))
    engine.set_energy_limit("garage", 0.05)  # 50 Wh: ~16 s at 16 A x 230 V
    with pytest.raises(ValueError):
        engine.set_energy_limit("garage", -1)
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").active_rule == "energy-limit", 5)
        lp = engine.snapshot().loadpoint("garage")
        assert lp.mode is Mode.OFF and lp.user_mode is Mode.NOW and lp.commanded_a == 0
        assert lp.session is not None and lp.session.energy_wh >= 50
        assert lp.session.energy_wh < 50 + 16 * 230 * 5 / 3600  # stopped within a few seconds
        charger = charger_of(engine)
        charger.car_connected = False
        await until(lambda: any(kind == "end" for kind, _ in sessions), 5)
        await until(lambda: engine.snapshot().loadpoint("garage").active_rule == "manual", 5)
    kinds = [kind for kind, _ in sessions]
    assert kinds[0] == "start" and "end" in kinds
    ended = next(s for kind, s in sessions if kind == "end")
    assert ended.ended is not None and ended.energy_wh >= 50
    assert ended.solar_wh == pytest.approx(ended.energy_wh, rel=0.05)  # 6 kW sun covers 3.7 kW


class NightOff:
    """A custom rule: everything off, labelled."""

    name = "test-night"

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        return RuleOutcome(Mode.OFF, rule="test-night") if ctx.user_mode is Mode.NOW else None


async def test_custom_rules_slot_in_before_manual(tmp_path: Path) -> None:
    engine = sunny_engine(tmp_path, mode="now")
    engine.rules.insert(-1, NightOff())
    async with running(engine):
        await until(lambda: engine.snapshot().loadpoint("garage").connected)
        assert engine.snapshot().loadpoint("garage").active_rule == "test-night"
        assert engine.mode_of("garage") is Mode.OFF
        engine.set_mode("garage", "pv")
        assert engine.snapshot().loadpoint("garage").active_rule == "manual"
        assert engine.mode_of("garage") is Mode.PV


async def test_a_failing_service_is_restarted_and_cancelled_after_the_chargers_are_safe(
    tmp_path: Path,
) -> None:
    engine = build_engine(
        make_config(write_trace(tmp_path / "t.csv", 3000, 500)),
        clock=ScaledClock(SPEED),
        registry=recording_registry(),
        backoff_initial_s=0.5,
        services=False,
    )
    starts: list[float] = []
    seen_at_cancel: list[float | None] = []

    async def flaky() -> None:
        starts.append(engine.clock.now())
        if len(starts) < 3:
            raise ConnectionError("broker down")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen_at_cancel.append(engine.snapshot().loadpoint("garage").sent_a)
            raise

    engine.add_service("mqtt", flaky)
    with pytest.raises(ValueError, match="exists already"):
        engine.add_service("mqtt", flaky)
    async with running(engine):
        await until(lambda: len(starts) >= 3, 5)
        dev = engine.snapshot().device("mqtt", "service")
        assert dev.failures == 2
        engine.report_service_error("mqtt", "broker unreachable")
        engine.set_mode("garage", "now")
        assert engine.snapshot().device("mqtt").error == "broker unreachable"
    assert seen_at_cancel == [0.0]  # the charger had been left at 0 A before services were stopped


async def test_restored_session_resumes(tmp_path: Path) -> None:
    engine = sunny_engine(tmp_path, mode="now")
    old = Session(id="before-crash", loadpoint="garage", charger="car", started=engine.wall(), energy_wh=1234)
    engine.restore_session(old)
    got: list[tuple[str, Session]] = []
    engine.add_session_listener(lambda kind, s: got.append((kind, s)))
    async with running(engine):
        await until(lambda: bool(got), 5)
    assert got[0][0] == "update" and got[0][1].id == "before-crash" and got[0][1].energy_wh >= 1234


class SlowCutCharger(RecordingCharger):
    """Reports its old, higher offer for ``lag_s`` after a cut (like a Prism stepping down in stages)."""

    lag_s = 4.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reported_offer = 0.0
        self.cut_done_at: float | None = None
        self._cut_at: float | None = None

    async def set_current(self, amps: float) -> None:
        if amps < self.reported_offer:
            self._cut_at = self.clock.now()
        else:
            self.reported_offer = amps
        await super().set_current(amps)

    def _make_reading(self, now: float) -> ChargerReading:
        if self._cut_at is not None and now - self._cut_at >= self.lag_s:
            self.reported_offer, self._cut_at, self.cut_done_at = self.offered_a, None, now
        return dataclasses.replace(super()._make_reading(now), offered_a=self.reported_offer)


async def test_a_raise_waits_until_a_charger_sharing_the_wiring_confirmed_its_cut(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.csv", 0, 500)
    cfg = parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid"], "wiring_limit_a": 20},
            "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 1}},
            "chargers": {
                name: {"type": "simulated", "max_a": 16, "start_delay_s": 0, "report_interval_s": 0.5}
                for name in ("a", "b")
            },
            "loadpoints": {
                "first": {"charger": "a", "mode": "now", "min_a": 6, "max_a": 16},
                "second": {"charger": "b", "mode": "off", "min_a": 6, "max_a": 16, "priority": 1},
            },
            "control": {"tick_s": 1},
        }
    )
    engine = build_engine(
        cfg,
        clock=ScaledClock(SPEED),
        registry=charger_registry_with(SlowCutCharger.from_config),
        services=False,
    )
    a, b = engine.chargers["a"], engine.chargers["b"]
    assert isinstance(a, SlowCutCharger) and isinstance(b, SlowCutCharger)
    async with running(engine):
        await until(lambda: a.reported_offer == 16 and engine.snapshot().loadpoint("first").actual_a > 15, 5)
        engine.set_mode("second", "now")  # second has priority: first is cut to 4 A (below 6: off)
        await until(lambda: any(amps == 16 for _, amps in b.timeline), 5)
    raise_at = next(t for t, amps in b.timeline if amps == 16)
    assert a.cut_done_at is not None
    assert raise_at >= a.cut_done_at - 1e-6, (raise_at, a.cut_done_at)
    cut_at = next(t for t, amps in a.timeline if amps < 16 and t > 0)
    assert raise_at - cut_at >= SlowCutCharger.lag_s - 0.5  # it did wait for the lagging report


class ThreePhaseMeter(Source):
    """A grid meter that reports per-phase voltages and currents (one phase broken)."""

    def __init__(self, name: str, ctx: DeviceContext) -> None:
        super().__init__(name)
        self.clock = ctx.clock

    async def run(self, sink: MeterSink) -> None:
        while True:
            sink.on_meter_reading(
                self.name,
                MeterReading(
                    t_s=self.clock.now(),
                    grid_w=-1200.0,
                    voltages_v=(231.0, float("nan"), 229.5),
                    currents_a=(-2.0, -1.5, -1.7),
                ),
            )
            await self.clock.sleep(1.0)


async def test_per_phase_grid_values_reach_the_snapshot_and_the_api(tmp_path: Path) -> None:
    sources = with_factory("meter", "replay", lambda name, cfg, ctx: ThreePhaseMeter(name, ctx), None)
    engine = build_engine(
        make_config(), clock=ScaledClock(SPEED), registry=recording_registry(base=sources), services=False
    )
    async with running(engine):
        await until(lambda: engine.snapshot().grid_voltages_v is not None)
        snap = engine.snapshot()
        assert snap.grid_voltages_v == (231.0, 229.5)  # the NaN phase is dropped, not passed on
        assert snap.grid_currents_a == (-2.0, -1.5, -1.7)
        site = build_state(engine, snap).site
        assert site.voltages_v == [231.0, 229.5] and site.currents_a == [-2.0, -1.5, -1.7]
