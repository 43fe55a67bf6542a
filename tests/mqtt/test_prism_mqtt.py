"""The Prism MQTT driver against the Prism simulator on a real mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import pytest

from ecotrack.chargers.prism.config import PrismChargerConfig
from ecotrack.chargers.prism.mqtt import PrismMqttCharger
from ecotrack.chargers.prism.simulator import PrismSimulator, SimulatedPrismConfig
from ecotrack.chargers.prism.state import MAX_EXTRA_KEYS
from ecotrack.clock import RealClock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext
from ecotrack.services.mqtt.config import MqttConfig
from ecotrack.transport.mqtt.connection import MqttConnection
from ecotrack.world.car import CarParams

from .broker import Broker, Recorder, until


@contextlib.asynccontextmanager
async def setup(
    broker: Broker, sim_cfg: dict[str, object] | None = None, **driver: object
) -> AsyncIterator[tuple[PrismMqttCharger, PrismSimulator, list[ChargerReading]]]:
    conn = MqttConnection(
        MqttConfig(host="127.0.0.1", port=broker.port, reconnect_min_s=0.1, reconnect_max_s=0.5)
    )
    cfg = PrismChargerConfig.model_validate({"type": "prism", **driver})
    charger = PrismMqttCharger.from_config("prism", cfg, DeviceContext(clock=RealClock(), mqtt=conn))
    readings: list[ChargerReading] = []
    charger.add_listener(lambda name, r: readings.append(r))
    sim = PrismSimulator(
        SimulatedPrismConfig(
            port=broker.port,
            report_s=0.2,
            car=CarParams(start_delay_s=0.2, dead_time_s=0.0, ramp_a_per_s=200.0),
            **(sim_cfg or {}),  # type: ignore[arg-type]
        )
    )
    tasks = [asyncio.create_task(t) for t in (conn.run(), sim.run(), charger.run())]
    try:
        await conn.wait_connected(5)
        await asyncio.wait_for(sim.connected.wait(), 5)
        await charger.wait_for_status(5)
        yield charger, sim, readings
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_reads_status_and_sets_limit_in_normal_mode(broker: Broker) -> None:
    async with setup(broker, {"initial_mode": 1}) as (charger, sim, readings):
        await until(lambda: charger.status.mode == 1, what="retained burst")
        await charger.set_current(10.0)
        await until(lambda: sim.limit_a == 10.0 and sim.mode == 2, what="limit 10 A in normal mode")
        await until(
            lambda: readings[-1].charging and abs(readings[-1].actual_a - 10.0) < 0.01, what="car at 10 A"
        )
        r = readings[-1]
        assert r.online and r.connected and r.power_w == pytest.approx(10.0 * 236.0, abs=1)
        assert ("set_current_limit", "10.0") in [(n, p) for _, n, p in sim.commands]
        await charger.set_current(0.0)
        await until(lambda: sim.mode == 3 and not readings[-1].charging, what="paused")
        await charger.set_current(3.0)  # below the Prism's minimum: pause, never 6 A
        assert sim.mode == 3 and sim.limit_a == 10.0
        await charger.set_current(50.0)  # above max_a: clamped
        await until(lambda: sim.limit_a == 32.0 and sim.mode == 2, what="clamped to 32")
        with pytest.raises(ValueError):
            await charger.set_current(float("nan"))


async def test_staged_step_down_keeps_a_slow_car_within_10_percent(broker: Broker) -> None:
    slow = {"down_a_per_s": 4.0}
    async with setup(broker, slow, stage_timeout_s=30) as (charger, sim, _):
        await charger.set_current(16.0)
        await until(lambda: sim.drawn_a >= 15.99, what="car at 16 A")
        sim.max_over_ratio = 0.0
        await charger.set_current(6.0)
        await until(lambda: sim.limit_a == 6.0, timeout=40, what="cut completed")  # ~10 stages, one per report
        assert sim.trips == 0
        assert sim.max_over_ratio <= 1.10
        limits = [float(p) for _, n, p in sim.commands if n == "set_current_limit"]
        assert len(limits) > 3 and limits[-1] == 6.0  # in stages, not one jump


async def test_unstaged_cut_trips_the_slow_car(broker: Broker) -> None:
    """The same cut without stages stops the charge: the reason the stages exist."""
    async with setup(broker, {"down_a_per_s": 4.0}, staged_step_down=False) as (charger, sim, _):
        await charger.set_current(16.0)
        await until(lambda: sim.drawn_a >= 15.99, what="car at 16 A")
        await charger.set_current(6.0)
        await until(lambda: sim.trips > 0, what="trip")


async def test_command_error_is_a_fault_until_success(broker: Broker) -> None:
    async with setup(broker) as (charger, _sim, readings), Recorder(broker.port, ()) as rec:
        await rec.publish(
            "prism/commandresult/set_current_limit/error", "Bad syntax, current must be a number"
        )
        await until(lambda: charger.error is not None and not readings[-1].online, what="fault")
        assert "set_current_limit" in (charger.error or "")
        await charger.set_current(12.0)  # sent again despite the fault; the simulator acknowledges it
        await until(lambda: charger.error is None and readings[-1].online, what="fault cleared")


async def test_bad_status_values_change_nothing(broker: Broker) -> None:
    async with setup(broker) as (charger, _sim, _):
        await until(lambda: charger.status.state is not None, what="status")
        state = charger.status.state
        async with Recorder(broker.port, ()) as rec:
            for key, value in [("state", "banana"), ("amp", "NaN"), ("state", "7"), ("amp", "x" * 100_000)]:
                await rec.publish(f"prism/1/{key}", value)
            await until(lambda: charger.rejected >= 4, what="4 rejects")
        assert charger.status.state == state


async def test_reemits_and_goes_offline_after_silence(broker: Broker) -> None:
    async with setup(broker, reemit_s=0.2, offline_after_s=1.5) as (charger, sim, readings):
        await charger.set_current(0.0)
        await until(lambda: sim.mode == 3, what="paused")
        sim.silent = True  # the Prism publishes only on change; now nothing changes
        n, silent_since = len(readings), time.monotonic()  # the charger's clock is RealClock
        # re-emitted while silent (and still online), then offline after the silence (1.5 s after the
        # last status, which came at most a report interval before the silence)
        await until(lambda: sum(r.online for r in readings[n:]) >= 2, what="re-emitted while silent")
        await until(lambda: not readings[-1].online, what="offline after silence")
        assert all(r.online for r in readings[n:] if r.t_s < silent_since + 1.0)


async def test_absurd_values_unknown_keys_and_chatter_are_bounded(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12: ``prism/1/w 1e308`` and ``amp 1e308`` were accepted; 20,000 unknown keys were kept
    forever; ``hello`` and ``commandresult/*/error`` were logged without a limit."""
    async with setup(broker) as (charger, _sim, _):
        await until(lambda: charger.status.state is not None, what="status")
        rejected = charger.rejected
        async with Recorder(broker.port, ()) as rec:
            for key, value in [("w", "1e308"), ("amp", "1e308"), ("w", "-1e12"), ("volt", "1e9")]:
                await rec.publish(f"prism/1/{key}", value)
            await until(lambda: charger.rejected >= rejected + 4, what="4 rejects")
            # the simulator's own values may come and go; the absurd ones never land
            assert charger.status.w is None or abs(charger.status.w) < 60_000
            assert charger.status.amp_ma is None or charger.status.amp_ma <= 64_000
            assert charger.status.volt is None or charger.status.volt <= 500
            with caplog.at_level(logging.INFO, logger="ecotrack.chargers.prism"):
                for i in range(300):
                    await rec.publish(f"prism/1/junk{i}", "x")
                for i in range(50):
                    await rec.publish("prism/hello", f"Prism fw {i}")
                    await rec.publish("prism/commandresult/set_mode/error", f"no {i}")
                    await rec.publish(f"prism/commandresult/cmd{i}/error", "no")
                await until(lambda: charger.status.firmware == "Prism fw 49", what="last hello")
        assert len(charger.status.extra) <= MAX_EXTRA_KEYS
        lines = [r.getMessage() for r in caplog.records]
        assert sum("Prism fw" in m for m in lines) <= 3
        assert sum("rejected set_mode" in m for m in lines) <= 10
        assert not any("cmd" in m for m in lines) and charger.error is not None and "cmd" not in charger.error
