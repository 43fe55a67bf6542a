"""examples/teslamate.yaml on a real mosquitto: TeslaMate's retained topics drive the SoC rules.

The daemon is the real one (build_app with the MQTT service), the example file as shipped with only
the broker's address and short timings overridden from the environment, as a user would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ecotrack.app import build_app
from ecotrack.config_load import load_config
from ecotrack.core.model import Mode
from ecotrack.runtime.engine import Engine
from tests.mqtt.broker import Broker, Recorder, until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "teslamate.yaml"


def lp_state(engine: Engine) -> tuple[object, str, Mode]:
    snap = engine.snapshot()
    lp = snap.loadpoint("garage")
    return lp.details.get("soc_pct"), lp.active_rule, lp.mode


@pytest.mark.asyncio
async def test_teslamate_example_drives_min_soc_and_charge_limit(broker: Broker) -> None:
    env = {
        "ECOTRACK__MQTT__HOST": "127.0.0.1",
        "ECOTRACK__MQTT__PORT": str(broker.port),
        "ECOTRACK__MQTT__RECONNECT_MIN_S": "0.1",
        "ECOTRACK__HTTP__ENABLED": "false",
        "ECOTRACK__METERS__GRID__INTERVAL_S": "0.2",
        "ECOTRACK__CONTROL__TICK_S": "0.2",
    }
    config = load_config(EXAMPLE, env=env)
    async with Recorder(broker.port, ()) as tm:  # TeslaMate retains the car's last values
        for key, value in [("battery_level", "15"), ("charge_limit_soc", "80"), ("plugged_in", "true"),
                           ("geofence", "Home"), ("display_name", "Blue Thunder")]:
            await tm.publish(f"teslamate/cars/1/{key}", value, retain=True)
        app = build_app(config)
        engine = app.engine
        task = asyncio.create_task(engine.run())
        try:
            await until(lambda: lp_state(engine) == (15.0, "min-soc", Mode.NOW), 10, "min-soc at 15 %")
            details = engine.snapshot().loadpoint("garage").details
            assert details["vehicle"] == "car" and details["vehicle_at_home"] is True
            assert details["charge_limit_pct"] == 80.0 and details["capacity_kwh"] == 75.0

            async with Recorder(broker.port, ("ecotrack/#", "homeassistant/#")) as rec:
                await rec.wait_for(lambda: rec.last("ecotrack/loadpoints/garage/vehicle_soc_pct") == "15.0", 5, "SoC status")
                assert rec.last("ecotrack/loadpoints/garage/vehicle") == "car"
                await rec.wait_for(
                    lambda: any(t.endswith("vehicle_soc_pct/config") for t, _, _ in rec.messages), 5, "HA SoC sensor"
                )

            await tm.publish("teslamate/cars/1/battery_level", "85", retain=True)
            await until(lambda: lp_state(engine) == (85.0, "charge-limit", Mode.OFF), 5, "off at the car's limit")

            await tm.publish("teslamate/cars/1/battery_level", "500")  # junk: the last good value stays
            await tm.publish("teslamate/cars/1/battery_level", "50")
            await until(lambda: lp_state(engine)[0] == 50.0, 5, "SoC 50 %")
            assert lp_state(engine)[1] != "charge-limit"
            vehicle = engine.garage.vehicles["car"] if engine.garage else None
            assert vehicle is not None and vehicle.rejected >= 1

            engine.choose_vehicle("garage", None)  # automatic: the default car stays
            with pytest.raises(KeyError, match="unknown vehicle"):
                engine.choose_vehicle("garage", "bike")
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
