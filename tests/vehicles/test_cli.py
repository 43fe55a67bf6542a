"""``ecotrack vehicles read`` against a real mosquitto holding TeslaMate's retained topics."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from tests.mqtt.broker import Broker, Recorder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "teslamate.yaml"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The command sets logging up (``basicConfig(force=True)``): put pytest's handlers back afterwards, or
    later tests' ``caplog`` sees nothing."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    libraries = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    try:
        yield
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, lib_level in libraries.items():
            logging.getLogger(name).setLevel(lib_level)


async def _retain(port: int, values: dict[str, str]) -> None:
    async with Recorder(port, ()) as tm:
        for key, value in values.items():
            await tm.publish(f"teslamate/cars/1/{key}", value, retain=True)


def test_vehicles_read_json(broker: Broker, tmp_path: Path) -> None:
    asyncio.run(_retain(broker.port, {"battery_level": "72", "charge_limit_soc": "90", "plugged_in": "false",
                                      "geofence": "", "est_battery_range_km": "301.2", "state": "asleep"}))
    env = {"ECOTRACK__MQTT__HOST": "127.0.0.1", "ECOTRACK__MQTT__PORT": str(broker.port),
           "ECOTRACK__DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(app, ["vehicles", "read", "-c", str(EXAMPLE), "--json", "--wait", "5"], env=env)
    assert result.exit_code == 0, result.output
    (line,) = result.output.strip().splitlines()
    out = json.loads(line)
    assert out["vehicle"] == "car" and out["type"] == "teslamate" and out["ok"] is True
    # an empty retained geofence clears the topic on the broker (MQTT's rule), so "at home" stays unknown
    assert (out["soc_pct"], out["charge_limit_pct"], out["plugged_in"], out["at_home"]) == (72, 90, False, None)
    assert (out["range_km"], out["capacity_kwh"], out["status"]) == (301.2, 75, "asleep")


def test_vehicles_read_reports_a_silent_source(broker: Broker, tmp_path: Path) -> None:
    env = {"ECOTRACK__MQTT__HOST": "127.0.0.1", "ECOTRACK__MQTT__PORT": str(broker.port),
           "ECOTRACK__DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(app, ["vehicles", "read", "-c", str(EXAMPLE), "--wait", "0.5"], env=env)
    assert result.exit_code == 1
    assert "nothing reported within 0.5 s" in result.output
