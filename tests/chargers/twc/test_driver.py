"""The TWC charger driver and its configuration, without a bus partner."""

from __future__ import annotations

import asyncio
import itertools
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from ecotrack.chargers.twc.config import TwcChargerConfig
from ecotrack.chargers.twc.driver import TwcCharger
from ecotrack.clock import ScaledClock
from ecotrack.config_load import ConfigError, load_config
from ecotrack.devices.context import DeviceContext


def cfg(**kw: object) -> TwcChargerConfig:
    return TwcChargerConfig.model_validate({"type": "twc", "port": "/dev/ttyUSB9", **kw})


def test_chargers_on_one_port_share_a_bus_and_the_smallest_bus_limit() -> None:
    ctx = DeviceContext()
    a = TwcCharger.from_config("a", cfg(bus_max_a=40), ctx)
    b = TwcCharger.from_config("b", cfg(bus_max_a=30, twc_id="1839"), ctx)
    c = TwcCharger.from_config("c", cfg(port="/dev/ttyUSB8"), ctx)
    assert a.bus is b.bus and c.bus is not a.bus
    assert a.bus.settings.bus_max_a == 30
    assert b.bus.protocol.targets["b"].twc_id == 0x1839
    other = DeviceContext()
    assert TwcCharger.from_config("a", cfg(), other).bus is not a.bus  # another engine, another bus


def test_conflicting_bus_settings_are_errors() -> None:
    ctx = DeviceContext()
    TwcCharger.from_config("a", cfg(twc_id="1839"), ctx)
    with pytest.raises(ValueError, match="master IDs"):
        TwcCharger.from_config("b", cfg(master_id="1234"), ctx)
    with pytest.raises(ValueError, match="pinned to TWC 1839"):
        TwcCharger.from_config("c", cfg(twc_id="1839"), ctx)


def test_config_validation() -> None:
    for bad in (
        {"twc_id": "18390"},
        {"twc_id": "zz12"},
        {"max_a": 0},
        {"report_interval_s": 61},
        {"stop_method": "api"},
        {"baud": 9600},
    ):
        with pytest.raises(ValidationError):
            cfg(**bad)
    with pytest.raises(ValidationError):
        TwcChargerConfig.model_validate({"type": "twc"})  # the port is required


def test_example_config_is_valid(repo_root: Path) -> None:
    config = load_config(repo_root / "examples" / "twc.yaml", env={})
    assert {c.type for c in config.chargers.values()} == {"twc"}


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(
        "site: {grid_meter: g}\nmeters: {g: {type: replay}}\n"
        "chargers: {t: {type: twc, port: /dev/x, stop_method: api}}\nloadpoints: {l: {charger: t}}\n"
    )
    with pytest.raises(ConfigError, match=r"chargers\.t\.stop_method"):
        load_config(f, env={})


async def test_reports_at_least_every_interval_while_the_port_is_missing() -> None:
    clock = ScaledClock(100)
    ctx = DeviceContext(clock=clock)
    charger = TwcCharger.from_config("a", cfg(port="/nonexistent/ttyTWC", report_interval_s=10), ctx)
    seen: list[float] = []
    charger.add_listener(lambda name, r: seen.append(r.t_s))
    task = asyncio.create_task(charger.run())
    await asyncio.sleep(1.0)  # 100 clock seconds
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    # re-reported about every 10 s, never silent for 60 s (slack for event-loop jitter x100 on a busy machine)
    assert len(seen) >= 6 and max(gaps) <= 10 + 10
    last = charger.reading()
    assert last is not None and not last.online and not last.charging
    assert charger.error is not None and "/nonexistent/ttyTWC" in charger.error
    assert charger.details()["linked"] is False and charger.bus.opens == 0


async def test_nonsense_commands_become_zero_and_cap_at_max() -> None:
    charger = TwcCharger.from_config("a", cfg(max_a=16), DeviceContext())
    for bad in (math.nan, math.inf, -4.0):
        await charger.set_current(bad)
        assert charger.requested_a == 0.0
    assert charger.rejected == 3
    await charger.set_current(40)
    assert charger.requested_a == 16 and charger.bus.protocol.requests["a"] == 16
