"""Which car is on a loadpoint (default, TWC VIN, the user's choice), the vehicle rules, plans by SoC."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecotrack.app import build_app
from ecotrack.clock import RealClock, ScaledClock
from ecotrack.config_load import ConfigError, parse_config
from ecotrack.core.model import Mode
from ecotrack.planning.rules import PlanRule
from ecotrack.planning.vehicle import ChargeLimitRule, MinSocRule
from ecotrack.runtime.rules import RuleContext
from ecotrack.runtime.sessions import Session
from ecotrack.services.web.app import create_app
from ecotrack.vehicles.garage import Garage

from .fake import FakeVehicle, FakeVehicleConfig, registry

VIN = "5YJ3E1EA7KF000001"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TOKEN = "test-token-0123456789abcdef"


def car(**kw: Any) -> FakeVehicle:
    return FakeVehicle("car", FakeVehicleConfig.model_validate({"type": "fake", **kw}), RealClock())


def garage() -> Garage:
    vehicles = {"car": car(), "van": car(vin=VIN, min_soc_pct=30)}
    return Garage(vehicles, {"garage": "car", "carport": None})


def test_default_vin_and_choice() -> None:
    g = garage()
    assert g.vehicle_name("garage") == "car" and g.vehicle_name("carport") is None
    g.saw_vin("carport", VIN.lower())  # the TWC reports the van's VIN
    assert g.vehicle_name("carport") == "van"
    g.saw_vin("carport", None)  # unplugged
    assert g.vehicle_name("carport") is None
    g.saw_vin("garage", "X" * 500)  # junk: ignored
    g.choose("garage", "van")
    assert g.vehicle_name("garage") == "van" and g.chosen("garage") == "van"
    g.choose("garage", None)
    assert g.vehicle_name("garage") == "car"
    with pytest.raises(KeyError, match="known: car, van"):
        g.choose("garage", "bike")
    with pytest.raises(KeyError, match="unknown loadpoint"):
        g.choose("shed", "car")
    with pytest.raises(ValueError, match="unknown vehicle"):
        Garage({}, {"garage": "car"})


def test_details_merge_the_cars_facts() -> None:
    g = garage()
    g.vehicles["car"].update({"soc_pct": 41})
    merged = g.details("garage", {"vin": None, "soc_pct": 99, "twc_id": "ab"})
    assert merged["soc_pct"] == 41 and merged["vehicle"] == "car" and merged["twc_id"] == "ab"
    # a car source that does not know the SoC yet leaves a charger's own SoC in place
    assert g.details("carport", {"vin": VIN, "soc_pct": 12})["soc_pct"] == 12


def ctx(user_mode: Mode = Mode.PV, session: bool = True) -> RuleContext:
    s = Session(id="s1", loadpoint="garage", charger="wall", started=NOW) if session else None
    return RuleContext(loadpoint="garage", now=NOW, user_mode=user_mode, session=s)


@pytest.mark.parametrize(
    ("soc", "limit", "min_soc", "user_mode", "session", "expected"),
    [
        (10, 80, 20, Mode.PV, True, ("min-soc", Mode.NOW)),
        (25, 80, 20, Mode.PV, True, None),
        (10, 80, None, Mode.PV, True, None),
        (10, 80, 20, Mode.OFF, True, None),  # an explicit off is respected
        (10, 80, 20, Mode.PV, False, None),  # no car connected
        (None, 80, 20, Mode.PV, True, None),  # SoC unknown
        (80, 80, 20, Mode.NOW, True, ("charge-limit", Mode.OFF)),
        (79.5, 80, 20, Mode.NOW, True, None),
    ],
)
def test_vehicle_rules(
    soc: float | None, limit: float, min_soc: float | None, user_mode: Mode, session: bool, expected: Any
) -> None:
    g = Garage({"car": car(min_soc_pct=min_soc)}, {"garage": "car"})
    g.vehicles["car"].update({"soc_pct": soc, "charge_limit_pct": limit})
    rules = [ChargeLimitRule(g), MinSocRule(g)]
    outcome = next((o for r in rules if (o := r.evaluate(ctx(user_mode, session))) is not None), None)
    assert (None if outcome is None else (outcome.rule, outcome.mode)) == expected


def config(**extra: Any) -> dict[str, Any]:
    return {
        "site": {"grid_meter": "grid", "pv_meters": ["grid"]},
        "meters": {"grid": {"type": "replay", "interval_s": 1}},
        "chargers": {"wall": {"type": "simulated", "max_a": 16}},
        "vehicles": {"car": {"type": "fake", "capacity_kwh": 60}, "van": {"type": "fake"}},
        "loadpoints": {"garage": {"charger": "wall", "vehicle": "car"}},
        "http": {"token": TOKEN, "port": 0},
        **extra,
    }


def test_plan_by_soc_takes_the_vehicles_capacity() -> None:
    plans = {"morning": {"loadpoint": "garage", "soc_pct": 80, "by": "07:00"}}
    app = build_app(parse_config(config(plans=plans), registry()), services=False, registry=registry())
    (plan,) = [r for r in app.engine.rules if isinstance(r, PlanRule)]
    assert plan.target.battery_wh == 60_000
    names = [r.name for r in app.engine.rules]
    assert names.index("energy-limit") < names.index("charge-limit") < names.index("min-soc") < names.index("charge-now")


def test_config_errors() -> None:
    data = config(plans={"p": {"loadpoint": "garage", "soc_pct": 80, "by": "07:00"}})
    data["loadpoints"]["garage"]["vehicle"] = "van"  # no capacity_kwh
    with pytest.raises(ConfigError) as e:
        parse_config(data, registry())
    assert "plans.p.battery_kwh" in str(e.value)
    data = config()
    data["loadpoints"]["garage"]["vehicle"] = "bike"
    with pytest.raises(ConfigError, match=r"loadpoints\.garage\.vehicle: unknown vehicle 'bike'"):
        parse_config(data, registry())
    with pytest.raises(ConfigError, match="no mqtt: section"):
        parse_config({**config(), "vehicles": {"car": {"type": "teslamate"}}})
    with pytest.raises(ConfigError, match=r"vehicles\.car\.soc_pct|vehicles\.car"):
        parse_config({**config(), "vehicles": {"car": {"type": "fake", "soc_pct": 5}}}, registry())


async def test_api_chooses_the_vehicle(tmp_path: Path) -> None:
    cfg = parse_config(config(), registry())
    app = build_app(cfg, clock=ScaledClock(50), services=False, registry=registry())
    engine = app.engine
    web = create_app(engine, cfg.http, TOKEN)
    transport = httpx.ASGITransport(app=web, client=("127.0.0.1", 50000))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert engine.garage is not None
    engine.garage.vehicles["car"].update({"soc_pct": 33})
    deciding = asyncio.Event()
    engine.add_listener(lambda snap: deciding.set())  # the first step: user intents now step at once
    task = asyncio.create_task(engine.run())
    try:
        await asyncio.wait_for(deciding.wait(), 10)
        await _api_checks(transport, headers)
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)


async def _api_checks(transport: httpx.ASGITransport, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as c:
        r = await c.get("/api/loadpoints/garage")
        assert r.json()["vehicle"]["name"] == "car"
        assert (await c.get("/api/state")).json()["vehicles"] == ["car", "van"]
        metrics = (await c.get("/metrics")).text
        assert 'ecotrack_vehicle_soc_percent{loadpoint="garage",vehicle="car"} 33.0' in metrics
        r = await c.post("/api/loadpoints/garage/vehicle", json={"vehicle": "van"})
        assert r.status_code == 200 and r.json()["vehicle"]["name"] == "van" and r.json()["vehicle"]["chosen"]
        r = await c.post("/api/loadpoints/garage/vehicle", json={"vehicle": "bike"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "vehicle"
        r = await c.post("/api/loadpoints/garage/vehicle", json={"vehicle": 3})
        assert r.status_code == 422
        r = await c.post("/api/loadpoints/shed/vehicle", json={"vehicle": "van"})
        assert r.status_code == 404
        r = await c.post("/api/loadpoints/garage/vehicle", json={"vehicle": None})
        assert r.json()["vehicle"]["name"] == "car"
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as anon:
            r = await anon.post("/api/loadpoints/garage/vehicle", json={"vehicle": "van"})
            assert r.status_code in (401, 403)
