"""A whole ecotrack (real engine, real OCPP listener on a free port) and helpers for the OCPP tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from ecotrack.app import App, build_app
from ecotrack.chargers.ocpp.driver import OcppCharger
from ecotrack.chargers.ocpp.simulator import SimulatedChargePoint
from ecotrack.config_load import parse_config
from ecotrack.transport.ocpp.server import CENTRAL_SYSTEM_KEY, CentralSystem
from ecotrack.world.car import CarParams

FAST_CAR = CarParams(max_a=32, start_delay_s=0.1, dead_time_s=0.05, ramp_a_per_s=100)


def ocpp_config(
    *,
    chargers: dict[str, dict[str, Any]] | None = None,
    ocpp: dict[str, Any] | None = None,
    mode: str = "now",
    circuit_a: float | None = None,
) -> dict[str, Any]:
    """A site with a replayed meter and OCPP chargers (default: cp1 connector 1, 16 A, 1 phase)."""
    chargers = chargers or {"cp1": {"type": "ocpp", "charge_point_id": "cp1", "connector": 1, "max_a": 16}}
    data: dict[str, Any] = {
        "site": {"grid_meter": "grid", "voltage_v": 230, "phases": 1},
        "meters": {"grid": {"type": "replay", "interval_s": 0.2, "start_time": "12:00", "loop": True}},
        "ocpp": {"port": 0, "meter_interval_s": 1, "response_timeout_s": 3, **(ocpp or {})},
        "chargers": chargers,
        "loadpoints": {
            name: {"charger": name, "mode": mode, "min_a": 6, "max_a": float(cfg.get("max_a", 16))}
            | ({"circuit": "shared"} if circuit_a is not None else {})
            for name, cfg in chargers.items()
        },
        "http": {"enabled": False},
    }
    if circuit_a is not None:
        data["circuits"] = {"shared": {"max_a": circuit_a}}
    return data


@contextlib.asynccontextmanager
async def running(data: dict[str, Any]) -> AsyncIterator[tuple[App, CentralSystem]]:
    """Run the daemon for ``data`` until the block ends; yields the app and its central system."""
    app = build_app(parse_config(data, source="test"), services=False)
    central = app.context.shared(CENTRAL_SYSTEM_KEY, lambda: None)
    assert isinstance(central, CentralSystem)
    run = asyncio.create_task(app.engine.run())
    try:
        async with asyncio.timeout(5):
            await central.wait_started()
        yield app, central
    finally:
        app.engine.stop()
        await asyncio.wait([run], timeout=10)
        assert run.done(), "engine did not stop"


@contextlib.asynccontextmanager
async def simulated(cp: SimulatedChargePoint, central: CentralSystem) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``cp`` against ``central`` (reconnecting) until the block ends."""
    task = asyncio.create_task(cp.run_forever(central.url(), retry_s=0.2))
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def charger(app: App, name: str = "cp1") -> OcppCharger:
    driver = app.engine.chargers[name]
    assert isinstance(driver, OcppCharger)
    return driver


async def until(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Wait until ``condition()`` is true (AssertionError naming ``what`` after ``timeout`` seconds)."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what or condition}") from None
