"""A 1p/3p contactor switched over a real mosquitto (``phase_switch: {type: mqtt, ...}``) and ``phases/set``.

The relay stand-in is a subscriber that moves the simulated wallbox's phases when the payload arrives,
like a Shelly in front of a real wallbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from ecotrack.app import build_engine
from ecotrack.chargers.phase_relay import PhaseRelayCharger
from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.clock import ScaledClock
from ecotrack.config_load import parse_config
from ecotrack.runtime.engine import Engine
from tests.test_engine import write_trace

from .broker import Broker, Recorder, until

RELAY = "garage/contactor/set"


@contextlib.asynccontextmanager
async def relay_site(broker: Broker, tmp_path: Path) -> AsyncIterator[tuple[Engine, SimulatedCharger]]:
    config = parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid"], "max_meter_age_s": 5},
            "meters": {
                "grid": {
                    "type": "replay",
                    "trace": str(write_trace(tmp_path / "d.csv", 3000, 500)),
                    "interval_s": 1,
                }
            },
            "chargers": {"car": {"type": "simulated", "max_a": 16, "phases": 3, "start_delay_s": 1}},
            "loadpoints": {
                "garage": {
                    "charger": "car",
                    "mode": "pv",
                    "phases": "auto",
                    "enable_delay_s": 1,
                    "phase_up_delay_s": 0,
                    "phase_down_delay_s": 0,
                    "phase_switch_interval_s": 30,
                    "phase_switch": {"type": "mqtt", "topic": RELAY, "payload_1p": "OFF", "payload_3p": "ON"},
                }
            },
            "control": {"tick_s": 1},
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker.port,
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 0.5,
            },
        }
    )
    engine = build_engine(config, clock=ScaledClock(20.0))
    relay = engine.chargers["car"]
    assert isinstance(relay, PhaseRelayCharger)
    wallbox = relay.inner
    assert isinstance(wallbox, SimulatedCharger)
    run = asyncio.create_task(engine.run())
    try:
        yield engine, wallbox
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)


async def test_relay_switches_to_one_phase_and_phases_set_switches_back(
    broker: Broker, tmp_path: Path
) -> None:
    async with (
        Recorder(broker.port, (RELAY, "ecotrack/#")) as rec,
        relay_site(broker, tmp_path) as (engine, wallbox),
    ):

        async def contactor() -> None:  # the relay: moves the wallbox's phases on each payload
            seen = 0
            while True:
                payloads = rec.on(RELAY)
                for p in payloads[seen:]:
                    assert wallbox.offered_a == 0.0 and wallbox.car.actual_a == 0.0, "switched under load"
                    wallbox.phases = 1 if p == "OFF" else 3
                seen = len(payloads)
                await asyncio.sleep(0.005)

        relay_task = asyncio.create_task(contactor())
        try:
            # 2.5 kW is below the 3-phase minimum: the relay is told OFF, then the car charges on one phase
            await until(
                lambda: rec.last(RELAY) == "OFF" and wallbox.car.actual_a >= 9, 15, "1 phase, charging"
            )
            lp = engine.snapshot().loadpoint("garage")
            assert (lp.phases, lp.phases_choice) == (1, "auto")
            await rec.publish("ecotrack/loadpoints/garage/phases/set", "2")  # refused, nothing changes
            await rec.publish("ecotrack/loadpoints/garage/phases/set", "3")
            await until(lambda: rec.last(RELAY) == "ON", 15, "relay ON")
            await until(lambda: engine.snapshot().loadpoint("garage").phases == 3, 15, "3 phases in use")
            assert engine.snapshot().loadpoint("garage").phases_choice == "3"
            await until(lambda: rec.last("ecotrack/loadpoints/garage/phases_choice") == "3", 10, "status")
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
    assert rec.on(RELAY)[-2:] == ["OFF", "ON"]
