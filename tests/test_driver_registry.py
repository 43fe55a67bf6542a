"""The open driver registry: a driver of its own type name, the schema, errors naming known types."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field

from ecotrack.app import build_engine
from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.clock import ScaledClock
from ecotrack.config_base import ConfigModel
from ecotrack.config_load import ConfigError, config_json_schema, load_config
from ecotrack.core.model import MeterReading
from ecotrack.devices.context import DeviceContext
from ecotrack.devices.registry import DriverRegistry, DriverSpec, builtin_registry
from ecotrack.meters.base import MeterSink, Source

REPO = Path(__file__).resolve().parents[1]


class WallboxConfig(ConfigModel):
    """A charger type the built-in registry does not know."""

    type: Literal["test-wallbox"] = Field(description="Charger type.")
    max_a: float = Field(16.0, gt=0, le=80)
    serial: str = Field(min_length=1)


class SteadyMeterConfig(ConfigModel):
    """A meter type the built-in registry does not know: a constant export."""

    type: Literal["test-steady"] = Field(description="Meter type.")
    export_w: float = Field(ge=0)


class SteadyMeter(Source):
    def __init__(self, name: str, config: SteadyMeterConfig, ctx: DeviceContext) -> None:
        super().__init__(name)
        self.clock = ctx.clock
        self.grid_w = -config.export_w

    async def run(self, sink: MeterSink) -> None:
        while True:
            sink.on_meter_reading(self.name, MeterReading(t_s=self.clock.now(), grid_w=self.grid_w))
            await self.clock.sleep(1.0)


def make_wallbox(name: str, config: Any, ctx: DeviceContext) -> SimulatedCharger:
    assert isinstance(config, WallboxConfig) and config.serial == "WB-1"
    charger = SimulatedCharger(name, ctx.clock, max_a=config.max_a, phases=1, voltage_v=230.0)
    ctx.world.add(charger)
    return charger


def test_registry() -> DriverRegistry:
    reg = builtin_registry().copy()
    reg.add(DriverSpec("charger", "test-wallbox", WallboxConfig, make_wallbox))
    reg.add(DriverSpec("meter", "test-steady", SteadyMeterConfig, SteadyMeter))
    return reg


test_registry.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test

YAML = """\
site: {grid_meter: grid, pv_meters: [grid]}
meters:
  grid: {type: test-steady, export_w: 3000}
chargers:
  box: {type: test-wallbox, serial: WB-1, max_a: 16}
loadpoints:
  garage: {charger: box, mode: pv, min_a: 6, max_a: 16}
control: {tick_s: 1}
"""


async def test_a_driver_of_its_own_type_loads_builds_and_charges(tmp_path: Path) -> None:
    reg = test_registry()
    path = tmp_path / "ecotrack.yaml"
    path.write_text(YAML)
    cfg = load_config(path, env={}, registry=reg)
    assert isinstance(cfg.chargers["box"], WallboxConfig) and isinstance(
        cfg.meters["grid"], SteadyMeterConfig
    )
    engine = build_engine(cfg, clock=ScaledClock(50.0), registry=reg, services=False)
    box = engine.chargers["box"]
    assert isinstance(box, SimulatedCharger) and isinstance(engine.sources["grid"], SteadyMeter)
    task = asyncio.create_task(engine.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while box.offered_a < 6.0:  # 3 kW export: the wallbox is started
            assert loop.time() < deadline, "the engine never charged the wallbox"
            await asyncio.sleep(0.01)
    finally:
        engine.stop()
        await asyncio.wait_for(task, 5)


def test_own_types_are_unknown_to_the_builtin_registry(tmp_path: Path) -> None:
    path = tmp_path / "ecotrack.yaml"
    path.write_text(YAML)
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    by_path = {i.path: i for i in exc.value.issues}
    meter = by_path["meters.grid"]
    assert meter.line == 3 and "unknown type 'test-steady'" in meter.reason
    assert "replay" in meter.reason and "fronius" in meter.reason  # names the known ones
    assert "simulated, tesla-vehicle, twc" in by_path["chargers.box"].reason


def test_an_unknown_type_in_the_check_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "ecotrack.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            site: {grid_meter: grid}
            meters: {grid: {type: replay}}
            chargers: {car: {type: teleporter}}
            loadpoints: {garage: {charger: car}}
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "ecotrack", "config", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode != 0
    assert (
        f"{path}:3: chargers.car: unknown type 'teleporter' (known: ocpp, prism, prism-ubus, simulated, tesla-vehicle, twc, twc3)"
        in (result.stdout + result.stderr)
    )


def test_schema_lists_every_builtin_type_and_own_types() -> None:
    schema = config_json_schema()
    text = str(schema)
    reg = builtin_registry()
    for spec in reg:
        assert f"'const': '{spec.type}'" in text or f"'enum': ['{spec.type}']" in text, spec.type
    assert "test-wallbox" not in text
    assert "test-wallbox" in str(config_json_schema(test_registry()))


def test_registry_add_get_create_copy() -> None:
    reg = builtin_registry()
    spec = reg.get("charger", "simulated")
    with pytest.raises(ValueError, match="already registered"):
        reg.add(spec)
    with pytest.raises(
        KeyError, match=r"unknown type 'nope' \(known charger types: ocpp, prism, prism-ubus, simulated, tesla-vehicle, twc, twc3\)"
    ):
        reg.get("charger", "nope")
    with pytest.raises(ValueError, match="Literal"):
        DriverSpec("charger", "other-name", WallboxConfig, make_wallbox)
    copy = reg.copy()
    copy.add(DriverSpec("charger", "test-wallbox", WallboxConfig, make_wallbox))
    assert "test-wallbox" in copy.types("charger") and "test-wallbox" not in reg.types("charger")
    assert reg.types("meter") == sorted(reg.types("meter")) and "replay" in reg.types("meter")
    ctx = DeviceContext()
    box = copy.create("charger", "box", WallboxConfig(type="test-wallbox", serial="WB-1"), ctx)
    assert isinstance(box, SimulatedCharger) and box.max_a == 16.0 and ctx.world.loads == (box,)


def test_loading_a_config_imports_no_driver_dependencies() -> None:
    # (httpx is not checked: ecotrack.tariffs.config still imports it through the aWATTar tariff.)
    code = (
        "import sys; from pathlib import Path; from ecotrack.config_load import load_config;"
        "[load_config(p, env={}) for p in sorted(Path('examples').glob('*.yaml'))];"
        "print(sorted(m for m in ('pymodbus', 'serial', 'aiomqtt') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO)},
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_twc_buses_are_per_context() -> None:
    reg = builtin_registry()
    cfg = reg.get("charger", "twc").config.model_validate({"type": "twc", "port": "/dev/ttyX"})
    one, two = DeviceContext(), DeviceContext()
    a = reg.create("charger", "a", cfg, one)
    b = reg.create("charger", "b", cfg.model_copy(update={"twc_id": None}), one)
    c = reg.create("charger", "a", cfg, two)
    assert a.bus is b.bus and a.bus is not c.bus
