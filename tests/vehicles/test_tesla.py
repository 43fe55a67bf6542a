"""The Tesla Fleet API source against a local server speaking Tesla's documented JSON.

401 refreshes the token (rotated, stored 0600), 408 means asleep and is never answered by a wake-up,
429 backs off, garbage changes nothing, and the polling policy reads vehicle_data only from an awake
car that is plugged in at home (or never read).
"""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from ecotrack.clock import RealClock, ScaledClock
from ecotrack.transport.mqtt.payloads import Bad
from ecotrack.vehicles.config import TeslaVehicleConfig
from ecotrack.vehicles.tesla import ApiError, Poll, TeslaVehicle, next_poll, parse_vehicle_data

from .tesla_server import VIN, TeslaServer, vehicle_data


def test_parse_documented_vehicle_data() -> None:
    out = parse_vehicle_data(vehicle_data(soc=64, limit=80, charging_state="Charging"))
    assert out == {
        "soc_pct": 64, "charge_limit_pct": 80, "plugged_in": True, "charging": True,
        "range_km": 242.2, "current_a": 16, "latitude": 52.52, "longitude": 13.405, "status": "online",
    }
    assert parse_vehicle_data(vehicle_data(charging_state="Disconnected"))["plugged_in"] is False  # type: ignore[index]


@pytest.mark.parametrize(
    "body",
    [None, [], {"response": None}, {"response": {"state": "online"}}, {"response": {"charge_state": 3}}, "x"],
)
def test_parse_garbage(body: Any) -> None:
    assert isinstance(parse_vehicle_data(body), Bad)


@pytest.mark.parametrize(
    ("state", "plugged", "home", "age", "asked", "expected"),
    [
        ("asleep", True, True, 5.0, True, Poll("state", 600)),  # never woken, even when asked
        ("offline", None, None, None, False, Poll("state", 600)),
        ("online", None, None, None, False, Poll("vehicle_data", 0)),  # never read: once
        ("online", True, True, 5.0, False, Poll("vehicle_data", 60)),  # plugged in at home
        ("online", True, None, 5.0, False, Poll("vehicle_data", 60)),  # no home configured
        ("online", True, False, 5.0, False, Poll("state", 600)),  # plugged in elsewhere
        ("online", False, True, 5.0, False, Poll("state", 600)),
        ("online", False, True, 600.0, False, Poll("vehicle_data", 0)),  # awake, data old: plugged in since?
        ("online", False, True, 5.0, True, Poll("vehicle_data", 0)),  # asked
        (None, None, None, None, False, Poll("state", 600)),
    ],
)
def test_polling_policy(state: str | None, plugged: bool | None, home: bool | None, age: float | None,
                        asked: bool, expected: Poll) -> None:
    assert next_poll(state, plugged, home, age, asked, 60, 600) == expected


def make(server: TeslaServer, tmp_path: Path, clock: Any = None, **kw: Any) -> TeslaVehicle:
    cfg = TeslaVehicleConfig.model_validate(
        {
            "type": "tesla",
            "vin": VIN,
            "client_id": "ecotrack-test",
            "base_url": server.url,
            "token_url": server.url + "/oauth2/v3/token",
            "refresh_token": "R1",
            "token_file": str(tmp_path / "data" / "tesla-car.json"),
            "capacity_kwh": 75,
            "home": {"latitude": 52.52, "longitude": 13.405, "radius_m": 100},
            **kw,
        }
    )
    return TeslaVehicle("car", cfg, clock or RealClock())


async def test_refresh_on_401_rotates_and_stores_the_token(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with TeslaServer() as server:
        car = make(server, tmp_path)
        async with car.connect():
            await car.poll_once("vehicle_data")  # no access token yet: refresh first
            assert car.state.soc_pct == 64 and car.state.at_home is True and car.state.plugged_in is True
            server.access_token = "expired-by-server"  # the server revokes it: 401, refresh, retry
            server.refresh_token = "R2"
            await car.poll_once("vehicle_data")
        token_file = tmp_path / "data" / "tesla-car.json"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        stored = json.loads(token_file.read_text())
        assert stored["refresh_token"] == server.refresh_token == "R3"  # rotated twice, the latest kept
        assert car.requests["vehicle_data 401"] == 1 and car.requests["token 200"] == 2
        assert car.requests["vehicle_data 200"] == 2 and car.request_count == 5
        # a restart uses the stored (rotated) refresh token, not the configured one
        car2 = make(server, tmp_path)
        server.access_token = "revoked"
        async with car2.connect():
            await car2.poll_once("state")
        assert car2.car_state == "online"
    for secret in ("R1", "R2", "R3", "A2", "A3", "A4"):
        assert secret not in caplog.text


async def test_refused_refresh_token_is_an_error(tmp_path: Path) -> None:
    with TeslaServer() as server:
        server.refresh_token = "something-else"
        car = make(server, tmp_path)
        async with car.connect():
            with pytest.raises(RuntimeError, match="refresh refused"):
                await car.poll_once("state")


async def test_asleep_408_is_never_woken(tmp_path: Path) -> None:
    with TeslaServer() as server:
        server.car_state = "asleep"
        car = make(server, tmp_path)
        async with car.connect():
            await car.poll_once("state")
            assert car.car_state == "asleep" and car.next_step() == Poll("state", 600)
            await car.poll_once("vehicle_data")  # e.g. asked: 408
        assert car.state.status == "asleep" and car.requests["vehicle_data 408"] == 1
        assert "wake_up" not in server.paths()


async def test_429_and_garbage(tmp_path: Path) -> None:
    with TeslaServer() as server:
        car = make(server, tmp_path)
        async with car.connect():
            await car.poll_once("vehicle_data")
            server.script.append((429, b'{"error":"too many requests"}', {"Retry-After": "120"}))
            with pytest.raises(ApiError) as e:
                await car.poll_once("vehicle_data")
            assert e.value.status == 429 and e.value.retry_after_s == 120
            for body in (b"<html>oops</html>", b'{"response": {"charge_state": {"battery_level": 400}}}', b"[]"):
                server.script.append((200, body, {}))
                await car.poll_once("vehicle_data")
        assert car.state.soc_pct == 64  # unchanged by any of it
        assert car.rejected == 3


async def test_the_loop_reads_an_awake_plugged_in_car_and_only_looks_at_a_sleeping_one(tmp_path: Path) -> None:
    with TeslaServer() as server:
        clock = ScaledClock(2000)  # 60 clock-s = 30 ms
        car = make(server, tmp_path, clock)
        task = asyncio.create_task(car.run())
        try:
            await asyncio.sleep(0.5)  # plugged in at home: vehicle_data every 60 clock-s
            assert server.paths().count("vehicle_data") >= 5
            server.car_state = "asleep"
            await asyncio.sleep(0.1)
            before = server.paths().count("vehicle_data")
            await asyncio.sleep(0.6)  # asleep: state every 600 clock-s (0.3 s), no vehicle_data, no wake
            assert server.paths().count("vehicle_data") <= before + 1
            assert "wake_up" not in server.paths()
            server.state_script.extend([(429, b"{}", {"Retry-After": "5"})] * 3)
            car.refresh_now()
            await asyncio.sleep(0.4)
            assert car.requests["vehicle 429"] >= 1
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
