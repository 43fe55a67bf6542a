"""The Prism ubus driver with a fake ``ubus`` executable on PATH (the documented get_status shape)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from ecotrack.chargers.prism.config import PrismUbusChargerConfig
from ecotrack.chargers.prism.ubus import PrismUbusCharger, UbusError, parse_status
from ecotrack.clock import RealClock
from ecotrack.core.model import ChargerReading
from ecotrack.transport.mqtt.payloads import Bad

from .broker import until

FAKE_UBUS = r'''#!PYTHON
"""Fake ubus: `ubus call evse.control <method> <json>` against a JSON state file."""
import json, os, sys
state_file = os.environ["FAKE_UBUS_STATE"]
with open(state_file) as f:
    state = json.load(f)
with open(state_file + ".log", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
if state.get("behaviour") == "fail":
    print("Command failed: Not found", file=sys.stderr)
    sys.exit(4)
if state.get("behaviour") == "garbage":
    print("<html>oops")
    sys.exit(0)
if sys.argv[1:3] != ["call", "evse.control"]:
    sys.exit(2)
method, msg = sys.argv[3], json.loads(sys.argv[4])
port = state["port"]
if method == "get_status":
    print(json.dumps({"status": "success", "result": {"firmware": "Prism 1.0 build 492", "ports": [port],
                      "temperatures": [45, None, None, None], "error": 0}}))
elif method == "set_current":
    port["current_max"] = float(msg["current_max"])
    port["current_now"] = min(port["current_now"], port["current_max"]) if port["status"] == "charging" else 0.0
elif method == "set_mode":
    port["mode"] = int(msg["mode"])
else:
    sys.exit(2)
if method != "get_status":
    with open(state_file + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(state_file + ".tmp", state_file)
'''

PORT = {
    "port": 1,
    "status": "charging",
    "current_limit": 32.0,
    "current_max": 6.0,
    "current_now": 4.8,
    "voltage_now": 232.5,
    "power_now": 10.0,
    "energy_session": 840.0,
    "energy_total": 92400.0,
    "session_time": 928,
    "connected": True,
    "threephase": False,
    "error": 0,
    "mode": 2,
}


@pytest.fixture
def fake_ubus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "bin" / "ubus"
    exe.parent.mkdir()
    exe.write_text(FAKE_UBUS.replace("PYTHON", sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"port": PORT}))
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_UBUS_STATE", str(state))
    return state


def write(state: Path, **changes: object) -> None:
    data = json.loads(state.read_text())
    behaviour = changes.pop("behaviour", data.get("behaviour"))
    data["port"].update(changes)
    data["behaviour"] = behaviour
    tmp = state.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(state)  # atomic: a concurrent poll never reads half a file


def calls(state: Path) -> list[list[str]]:
    log = Path(str(state) + ".log")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def commands(state: Path) -> list[list[str]]:
    """The commands sent (method and message), without the polls that run beside them."""
    return [c[2:] for c in calls(state) if c[2:3] != ["get_status"]]


def test_parse_documented_answer() -> None:
    answer = {"status": "success", "result": {"firmware": "Prism 1.0", "ports": [PORT], "error": 0}}
    parsed = parse_status(answer, 1)
    assert not isinstance(parsed, Bad)
    assert (parsed["state"], parsed["limit_a"], parsed["actual_a"], parsed["w"]) == (3, 6.0, 4.8, 10.0)
    for broken in [
        None,
        [],
        {"status": "error"},
        {"status": "success", "result": {"ports": []}},
        {"status": "success", "result": {"ports": [{**PORT, "status": "exploded"}]}},
        {"status": "success", "result": {"ports": [{**PORT, "current_now": "NaN"}]}},
    ]:
        assert isinstance(parse_status(broken, 1), Bad), broken


async def test_polls_and_commands_through_ubus(fake_ubus: Path) -> None:
    cfg = PrismUbusChargerConfig.model_validate({"type": "prism-ubus", "poll_s": 0.1, "reemit_s": 0.5})
    charger = PrismUbusCharger("prism", cfg, RealClock())
    readings: list[ChargerReading] = []
    charger.add_listener(lambda n, r: readings.append(r))
    task = asyncio.create_task(charger.run())
    try:
        await until(lambda: readings and readings[-1].online, what="first poll")
        r = readings[-1]
        assert (r.connected, r.charging, r.actual_a, r.offered_a, r.voltage_v) == (
            True,
            True,
            4.8,
            6.0,
            232.5,
        )
        assert charger.details()["lifetime_kwh"] == 92.4
        await charger.set_current(12.0)
        assert ["call", "evse.control", "set_current", '{"port":1,"current_max":12.0}'] in calls(fake_ubus)
        await until(lambda: readings[-1].offered_a == 12.0, what="new setpoint polled")
        await charger.set_current(0.0)
        assert commands(fake_ubus)[-1] == ["set_mode", '{"port":1,"mode":3}']
        paused_at = len(commands(fake_ubus))
        await charger.set_current(16.0)
        assert commands(fake_ubus)[paused_at] == ["set_current", '{"port":1,"current_max":16.0}']
        # The Prism is still paused: the driver puts it back into normal mode, right away when a poll has
        # already shown the pause, else after the next poll shows it.
        await until(lambda: json.loads(fake_ubus.read_text())["port"]["mode"] == 2, what="normal mode again")
        assert commands(fake_ubus)[paused_at : paused_at + 2] == [
            ["set_current", '{"port":1,"current_max":16.0}'],
            ["set_mode", '{"port":1,"mode":2}'],
        ]
        write(fake_ubus, behaviour="garbage")
        await until(lambda: not readings[-1].online, what="offline on garbage")
        write(fake_ubus, behaviour="fail")
        with pytest.raises(UbusError, match="Not found"):
            await charger.set_current(10.0)
        write(fake_ubus, behaviour=None)
        await until(lambda: readings[-1].online, what="back online")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_missing_ubus_executable_fails_clearly() -> None:
    cfg = PrismUbusChargerConfig.model_validate({"type": "prism-ubus", "ubus": "/nonexistent/ubus"})
    charger = PrismUbusCharger("prism", cfg, RealClock())
    with pytest.raises(UbusError, match="cannot run"):
        await charger.set_current(10.0)
