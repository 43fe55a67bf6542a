"""1p/3p switching through the whole engine: a simulated wallbox with a contactor, the user's choice, the API.

The simulated charger refuses to switch under load (it raises, like a wallbox that follows IEC 61851), so
a switch that happens at all happened at 0 A; the tests also record the charger's state at each switch.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecotrack.app import build_engine
from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.clock import ScaledClock
from ecotrack.config import Config
from ecotrack.config_load import ConfigError, parse_config
from ecotrack.runtime.engine import Engine
from ecotrack.services.web.app import create_app
from tests.test_engine import running, until, write_trace

SPEED = 50.0
TOKEN = "t" * 32


def config(trace: Path, **lp: Any) -> Config:
    return parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid"], "max_meter_age_s": 5},
            "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 1}},
            "chargers": {
                "car": {
                    "type": "simulated",
                    "max_a": 16,
                    "phases": 3,
                    "switch_phases": True,
                    "phase_switch_delay_s": 2,
                    "start_delay_s": 1,
                    "report_interval_s": 1,
                }
            },
            "loadpoints": {
                "garage": {
                    "charger": "car",
                    "mode": "pv",
                    "phases": "auto",
                    "enable_delay_s": 2,
                    "phase_up_delay_s": 0,
                    "phase_down_delay_s": 0,
                    "phase_switch_interval_s": 30,
                    **lp,
                }
            },
            "control": {"tick_s": 1},
            "http": {"token": TOKEN, "port": 0},
        }
    )


def engine_for(
    tmp_path: Path, pv_w: float = 3000.0
) -> tuple[Engine, SimulatedCharger, list[tuple[int, float, float]]]:
    engine = build_engine(
        config(write_trace(tmp_path / "day.csv", pv_w=pv_w, load_w=500)),
        clock=ScaledClock(SPEED),
        services=False,
    )
    charger = engine.chargers["car"]
    assert isinstance(charger, SimulatedCharger)
    switches: list[tuple[int, float, float]] = []
    original = charger.set_phases

    async def recording(phases: int) -> None:
        switches.append((phases, charger.offered_a, charger.car.actual_a))
        await original(phases)

    charger.set_phases = recording  # type: ignore[method-assign]
    return engine, charger, switches


async def test_a_small_surplus_switches_to_one_phase_and_charges_there(tmp_path: Path) -> None:
    engine, charger, switches = engine_for(tmp_path)  # 2.5 kW: below the 4.1 kW 3-phase minimum
    async with running(engine):
        await until(lambda: charger.phases == 1 and charger.car.actual_a >= 9, 10)
        lp = engine.snapshot().loadpoint("garage")
        assert (lp.phases, lp.phases_choice, lp.phase_switching) == (1, "auto", "steady")
        assert lp.commanded_a == 10  # 2500 W / 230 V on one phase
        # the user wants 3 phases: pause, switch, and (2.5 kW being too little on three) wait
        engine.set_phases("garage", 3)
        await until(lambda: charger.phases == 3, 10)
        await asyncio.sleep(3 / SPEED)
        lp = engine.snapshot().loadpoint("garage")
        assert (lp.phases, lp.phases_choice, lp.commanded_a) == (3, "3", 0.0)
        assert charger.car.actual_a == 0.0
        # back to auto: after the switch interval it goes down to one phase again and charges
        engine.set_phases("garage", "auto")
        await until(lambda: charger.phases == 1 and charger.car.actual_a >= 9, 10)
    assert charger.error is None and engine.snapshot().loadpoint("garage").charger_error is None
    assert switches, "no switch was commanded"
    for phases, offered, drawn in switches:  # every switch command came with 0 A offered and drawn
        assert phases in (1, 3) and offered == 0.0 and drawn == 0.0, switches
    assert charger.phase_switches >= 3


async def test_a_large_surplus_stays_on_three_phases(tmp_path: Path) -> None:
    engine, charger, _ = engine_for(tmp_path, pv_w=8000.0)  # 7.5 kW: 10 A per phase on three
    async with running(engine):
        await until(lambda: charger.car.actual_a >= 9, 10)
        assert charger.phases == 3 and charger.phase_switches == 0
        assert engine.snapshot().loadpoint("garage").commanded_a == 10


async def test_api_phases_endpoint_is_strict(tmp_path: Path) -> None:
    engine, _charger, _ = engine_for(tmp_path)
    cfg = config(tmp_path / "day.csv")
    app = create_app(engine, cfg.http, TOKEN)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        running(engine),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as c,
    ):
        resp = await c.post("/api/loadpoints/garage/phases", json={"phases": 3})
        assert resp.status_code == 200 and resp.json()["phases_choice"] == "3"
        for bad in ({"phases": 2}, {"phases": "3"}, {"phases": "auto", "extra": 1}, {}, {"phases": None}):
            resp = await c.post("/api/loadpoints/garage/phases", json=bad)
            assert resp.status_code == 422, (bad, resp.text)
        assert (await c.post("/api/loadpoints/nope/phases", json={"phases": 1})).status_code == 404
        assert (
            await c.post("/api/loadpoints/garage/phases", json={"phases": 1}, headers={"Authorization": "Bearer wrong"})
        ).status_code == 403
        state = (await c.get("/api/state")).json()
        (lp,) = state["loadpoints"]
        assert lp["phases_choice"] == "3" and lp["phase_switching"] in ("steady", "pausing", "switching")


async def test_api_refuses_phases_on_a_fixed_loadpoint(tmp_path: Path) -> None:
    cfg = config(write_trace(tmp_path / "day.csv", 3000, 500), phases=1)
    engine = build_engine(cfg, clock=ScaledClock(SPEED), services=False)
    app = create_app(engine, cfg.http, TOKEN)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        running(engine),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as c,
    ):
        resp = await c.post("/api/loadpoints/garage/phases", json={"phases": 3})
        assert resp.status_code == 422 and "cannot switch" in resp.text
        assert (
            await c.post("/api/loadpoints/garage/phases", json={"phases": 1})
        ).status_code == 200  # as configured


@pytest.mark.parametrize(
    ("charger", "lp", "message"),
    [
        ({"switch_phases": False}, {}, "auto needs a charger that can switch phases"),
        (
            {},
            {
                "phases": 3,
                "phase_switch": {"type": "mqtt", "topic": "r/set", "payload_1p": "a", "payload_3p": "b"},
            },
            "only with phases: auto",
        ),
        (
            {},
            {"phase_switch": {"type": "mqtt", "topic": "r/#", "payload_1p": "a", "payload_3p": "b"}},
            "wildcards",
        ),
        (
            {},
            {"phase_switch": {"type": "mqtt", "topic": "r/set", "payload_1p": "x", "payload_3p": "x"}},
            "must differ",
        ),
        ({}, {"phase_switch_interval_s": 5}, "phase_switch_interval_s"),
    ],
)
def test_config_errors_name_the_key(
    tmp_path: Path, charger: dict[str, Any], lp: dict[str, Any], message: str
) -> None:
    data = config(write_trace(tmp_path / "day.csv", 3000, 500)).model_dump(mode="json", exclude_none=True)
    data["chargers"]["car"].update(charger)
    data["loadpoints"]["garage"].update(lp)
    with pytest.raises((ConfigError, ValueError), match=message):
        parse_config(data)
