"""ecotrack end to end on a real mosquitto: emon/data in, the Prism simulator out, commands, status, HA.

The engine runs on the real clock with short timings; a feeder plays the ecotrack monitor, publishing
``emon/data`` with ``pwr1 = house + car - pv`` from the simulator's power, so the loop is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import pytest

from ecotrack.app import build_engine
from ecotrack.chargers.prism.simulator import PrismSimulator, SimulatedPrismConfig
from ecotrack.config import Config
from ecotrack.config_load import ConfigError, config_model, parse_config
from ecotrack.core.model import Mode
from ecotrack.runtime.engine import Engine
from ecotrack.world.car import CarParams

from .broker import Broker, Recorder, until


def make_config(port: int, mode: str = "minpv", extra_lp: bool = False, **mqtt: Any) -> Config:
    loadpoints: dict[str, Any] = {
        "garage": {
            "charger": "prism",
            "mode": mode,
            "min_a": 6,
            "max_a": 16,
            "enable_delay_s": 1,
            "disable_delay_s": 2,
        }
    }
    chargers: dict[str, Any] = {"prism": {"type": "prism", "reemit_s": 1, "offline_after_s": 30}}
    if extra_lp:
        chargers["sim"] = {"type": "simulated"}
        loadpoints["carport"] = {"charger": "sim", "mode": "off"}
    return parse_config(
        {
            "site": {"grid_meter": "emon", "max_meter_age_s": 2, "voltage_v": 236},
            "meters": {"emon": {"type": "ecotrack-monitor"}},
            "chargers": chargers,
            "loadpoints": loadpoints,
            "control": {"tick_s": 0.2, "settle_s": 0.5},
            "mqtt": {
                "host": "127.0.0.1",
                "port": port,
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 0.5,
                "ecotrack_compat": {"status_prefix": "stat/prism"},
                "twcmanager_compat": {},
                "status": {"min_interval_s": 0.2},
                "homeassistant": {"cleanup_wait_s": 0.3},
                **mqtt,
            },
        }
    )


class House:
    """Publishes emon/data like the seed's energy monitor, including the simulated car's power."""

    def __init__(self, sim: PrismSimulator, pv_w: float = 3500.0, load_w: float = 500.0) -> None:
        self.sim = sim
        self.pv_w = pv_w
        self.load_w = load_w
        self.running = True

    async def run(self, port: int) -> None:
        while True:  # reconnects like a real monitor when the broker restarts
            with contextlib.suppress(aiomqtt.MqttError):
                async with Recorder(port, ()) as rec:
                    while True:
                        if self.running:
                            self.sim.advance()
                            grid = self.load_w + self.sim.power_w() - self.pv_w
                            msg = {
                                "type": "power",
                                "volts": 236.0,
                                "pwr1": round(grid, 1),
                                "ev": round(self.sim.power_w(), 1),
                            }
                            await rec.publish("emon/data", json.dumps(msg))
                        await asyncio.sleep(0.25)
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def site(
    broker: Broker, config: Config, sim: PrismSimulator | None = None
) -> AsyncIterator[tuple[Engine, PrismSimulator, House]]:
    sim = sim or PrismSimulator(
        SimulatedPrismConfig(
            port=broker.port, report_s=0.2, car=CarParams(start_delay_s=0.3, dead_time_s=0.1, ramp_a_per_s=30)
        )
    )
    house = House(sim)
    engine = build_engine(config)
    tasks = [asyncio.create_task(sim.run()), asyncio.create_task(house.run(broker.port))]
    run = asyncio.create_task(engine.run())
    try:
        yield engine, sim, house
    finally:
        engine.stop()
        done, _ = await asyncio.wait([run], timeout=30)  # bounds a hang only: a loaded machine is slow
        if not done:
            import sys

            for t in asyncio.all_tasks():
                print("TASK", t.get_name(), file=sys.stderr)
                t.print_stack(file=sys.stderr)
            raise AssertionError("engine did not stop")
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_prism_follows_the_surplus_and_state_is_published(broker: Broker) -> None:
    async with Recorder(broker.port) as rec, site(broker, make_config(broker.port)) as (_engine, sim, house):
        # 3000 W surplus at 236 V: about 12.7 A.
        await until(
            lambda: sim.mode == 2 and 11.0 <= sim.limit_a <= 13.0 and sim.drawn_a > 10.0,
            timeout=15,
            what="~12 A",
        )
        house.pv_w = 2200.0  # 1700 W: about 7 A
        await until(lambda: 6.0 <= sim.limit_a <= 8.0 and sim.drawn_a <= 8.05, timeout=15, what="~7 A")
        assert sim.trips == 0
        await rec.wait_for(lambda: rec.last("ecotrack/loadpoints/garage/mode") == "minpv", what="mode topic")
        await rec.wait_for(lambda: rec.last("ecotrack/status") == "online", what="online")
        await rec.wait_for(lambda: rec.last("stat/prism/cA") is not None, what="seed cA")
        status = json.loads(rec.last("stat/prism/status") or "{}")
        assert status["mode"] == "auto" and status["status"] in ("charging", "waiting")
        assert rec.last("homeassistant/select/ecotrack/lp_garage_mode/config")
        grid = [float(p) for p in rec.on("ecotrack/site/grid_w") if p != "None"]
        assert grid, "grid power published"
    # after the stop: the Prism was paused (safe current 0) and ecotrack said offline
    assert sim.mode == 3
    assert rec.last("ecotrack/status") == "offline"


async def test_every_control_payload(broker: Broker) -> None:
    async with Recorder(broker.port) as rec, site(broker, make_config(broker.port)) as (engine, sim, _house):
        await until(lambda: engine.snapshot().loadpoints[0].charger_online, timeout=10, what="charger online")

        async def send(topic: str, payload: str, check: Any, what: str) -> None:
            await rec.publish(topic, payload)
            await until(check, what=what)

        lp = "garage"
        snap = lambda: engine.snapshot().loadpoint(lp)  # noqa: E731
        await send("cmnd/prism/mode", "eco", lambda: engine.user_mode_of(lp) is Mode.PV, "eco -> pv")
        await send(
            "cmnd/prism/mode",
            "full",
            lambda: snap().charge_now is not None and snap().charge_now.amps is None,
            "full",
        )
        await until(lambda: snap().active_rule == "charge-now", what="charge-now rule")
        await send(
            "cmnd/prism/mode",
            "half",
            lambda: snap().charge_now is not None and snap().charge_now.amps == 16,
            "half",
        )
        await send(
            "cmnd/prism/mode",
            "min",
            lambda: snap().charge_now is not None and snap().charge_now.amps == 6,
            "min",
        )
        await send(
            "cmnd/prism/mode",
            "10",
            lambda: snap().charge_now is not None and snap().charge_now.amps == 10,
            "10 A",
        )
        await until(lambda: sim.limit_a == 10.0, what="Prism at 10 A")
        await send(
            "cmnd/prism/mode",
            "auto",
            lambda: engine.user_mode_of(lp) is Mode.MINPV and snap().charge_now is None,
            "auto",
        )
        await send("cmnd/prism/mode", "pause", lambda: engine.user_mode_of(lp) is Mode.OFF, "pause")
        await until(lambda: sim.mode == 3, what="Prism paused")
        await send("cmnd/prism/mode", "continue", lambda: engine.user_mode_of(lp) is Mode.MINPV, "continue")
        await send("cmnd/prism/mode", "0", lambda: engine.user_mode_of(lp) is Mode.OFF, "0 pauses")
        await send("cmnd/prism/limit", "10", lambda: snap().energy_limit_wh == 10_000, "limit 10 kWh")
        await send("cmnd/prism/limit", "0", lambda: snap().energy_limit_wh is None, "limit removed")
        base = "ecotrack/loadpoints/garage"
        await send(f"{base}/mode/set", "pv", lambda: engine.user_mode_of(lp) is Mode.PV, "own mode")
        await send(f"{base}/max_a/set", "12", lambda: snap().max_a == 12, "own max")
        await send(f"{base}/min_a/set", "8", lambda: snap().min_a == 8, "own min")
        await send(f"{base}/energy_limit_kwh/set", "5.5", lambda: snap().energy_limit_wh == 5500, "own limit")
        await send(
            "TWC/control/chargeNow",
            "14,3600",
            lambda: snap().charge_now is not None and snap().charge_now.until is not None,
            "chargeNow",
        )
        assert (
            snap().charge_now is not None and snap().charge_now.amps == 14
        ) or snap().charge_now.amps == 12  # type: ignore[union-attr]
        await send("TWC/control/chargeNowEnd", "", lambda: snap().charge_now is None, "chargeNowEnd")
        await rec.wait_for(lambda: rec.last(f"{base}/max_a") == "12.0", what="max_a state topic")

        # Malformed input changes nothing and the process keeps running.
        before = snap()
        bad = [
            ("cmnd/prism/mode", b"turbo"),
            ("cmnd/prism/mode", b"NaN"),
            ("cmnd/prism/mode", b"99"),
            ("cmnd/prism/limit", b"lots"),
            (f"{base}/mode/set", b"warp"),
            (f"{base}/max_a/set", b"40"),  # above the configured maximum: the engine refuses
            (f"{base}/min_a/set", b'{"a": 1}'),
            ("TWC/control/chargeNow", b"16"),
            ("cmnd/prism/mode", b"x" * (1024 * 1024)),
            ("emon/data", b"not json"),
            ("emon/data", b'{"type":"power","pwr1":NaN,"volts":236}'),
            ("emon/data", b'{"type":"power","pwr1":"many","volts":236}'),
            ("emon/data", b"{" * 1024 * 1024),
            ("prism/1/amp", b"NaN"),
        ]
        for topic, payload in bad:
            await rec.publish(topic, payload)
        await until(lambda: engine.sources["emon"].rejected >= 4, what="meter rejects")  # type: ignore[attr-defined]
        await asyncio.sleep(0.5)
        after = snap()
        for field in ("user_mode", "min_a", "max_a", "energy_limit_wh", "charge_now"):
            assert getattr(after, field) == getattr(before, field), field
        assert engine.snapshot().device("mqtt", "service").online
        # still obeying commands afterwards
        await send(f"{base}/mode/set", "off", lambda: engine.user_mode_of(lp) is Mode.OFF, "alive")


async def test_broker_restart_reconnects_resubscribes_and_republishes(broker: Broker) -> None:
    async with site(broker, make_config(broker.port)) as (engine, sim, _house):
        await until(lambda: sim.drawn_a > 10.0, what="charging")
        broker.restart()  # persistence off: every retained message is gone
        async with Recorder(broker.port) as rec:
            await rec.wait_for(lambda: rec.last("ecotrack/status") == "online", what="online again")
            await rec.wait_for(
                lambda: rec.last("ecotrack/loadpoints/garage/mode") == "minpv", what="state republished"
            )
            await rec.wait_for(
                lambda: rec.last("homeassistant/sensor/ecotrack/site_grid_w/config"),
                what="discovery republished",
            )
            # resubscribed: commands and meter data work again
            await rec.publish("ecotrack/loadpoints/garage/mode/set", "pv")
            await until(lambda: engine.user_mode_of("garage") is Mode.PV, what="command after restart")
            n = engine.sources["emon"].emitted  # type: ignore[attr-defined]
            await until(lambda: engine.sources["emon"].emitted > n + 2, what="meter data after restart")  # type: ignore[attr-defined]
        await until(lambda: sim.connected.is_set(), what="simulator back")
        await until(lambda: engine.snapshot().loadpoint("garage").charger_online, what="Prism online again")


async def test_meter_silence_triggers_failsafe_and_the_prism_gets_the_safe_current(broker: Broker) -> None:
    async with site(broker, make_config(broker.port, mode="pv")) as (engine, sim, house):
        await until(lambda: sim.drawn_a > 10.0, timeout=15, what="charging on surplus")
        house.running = False  # the energy monitor goes silent
        await until(lambda: engine.snapshot().failsafe, timeout=10, what="failsafe")
        await until(lambda: sim.mode == 3 and sim.drawn_a == 0, timeout=10, what="Prism paused")
        assert engine.snapshot().loadpoint("garage").commanded_a == 0


async def test_home_assistant_entities_of_a_removed_loadpoint_are_deleted(broker: Broker) -> None:
    async with Recorder(broker.port, ("homeassistant/#",)) as rec:
        compat = {"loadpoint": "garage"}
        async with site(broker, make_config(broker.port, extra_lp=True, ecotrack_compat=compat)):
            await rec.wait_for(
                lambda: rec.last("homeassistant/number/ecotrack/lp_carport_energy_limit_kwh/config"),
                timeout=10,
                what="carport entities",
            )
        async with site(broker, make_config(broker.port)) as (_engine, _, _):
            carport = {t for t, _, _ in rec.messages if "lp_carport_" in t}
            assert len(carport) == 9
            await rec.wait_for(
                lambda: all(rec.last(t) == "" for t in carport), timeout=10, what="carport removed"
            )
            assert rec.last("homeassistant/select/ecotrack/lp_garage_mode/config")
    async with Recorder(broker.port, ("homeassistant/#",)) as fresh:
        await asyncio.sleep(0.3)
        retained = {t for t, p, r in fresh.messages if r and p}
        assert not [t for t in retained if "carport" in t]
        assert any("lp_garage" in t for t in retained)


def test_config_without_mqtt_section_is_refused_for_mqtt_devices() -> None:
    data = make_config(1883).model_dump(mode="json")
    data["mqtt"] = None
    with pytest.raises(ConfigError, match=r"meters\.\w+\.type: .*no mqtt: section"):
        parse_config(data)  # config check refuses it, as start-up does
    unchecked = config_model().model_validate(data, context={"skip_cross_check": True})
    with pytest.raises(ValueError, match="no mqtt: section"):
        build_engine(unchecked)


async def test_example_prism_emon_runs_as_is_with_env_overrides(broker: Broker) -> None:
    """examples/prism-emon.yaml with only ECOTRACK__MQTT__HOST/PORT set drives the Prism from emon/data."""
    from ecotrack.config_load import load_config

    repo = __import__("pathlib").Path(__file__).resolve().parents[2]
    env = {"ECOTRACK__MQTT__HOST": "127.0.0.1", "ECOTRACK__MQTT__PORT": str(broker.port)}
    cfg = load_config(repo / "examples" / "prism-emon.yaml", env=env)
    assert cfg.mqtt is not None and cfg.mqtt.port == broker.port
    async with Recorder(broker.port) as rec, site(broker, cfg) as (engine, sim, _house):
        await until(
            lambda: any(n == "set_current_limit" for _, n, _ in sim.commands) and 11.0 <= sim.limit_a <= 13.0,
            timeout=20,
            what="Prism follows the surplus",
        )
        await rec.publish("cmnd/prism/mode", "min")
        await until(lambda: sim.limit_a == 6.0, timeout=20, what="min -> 6 A")
        await rec.wait_for(lambda: rec.last("stat/prism/cA") == "6", what="stat/prism/cA")
        assert engine.snapshot().loadpoint("garage").active_rule == "charge-now"
