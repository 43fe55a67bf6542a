"""Victron GX (com.victronenergy.system, unit 100) against a pymodbus TCP server with its registers."""

from __future__ import annotations

from typing import Any

import pytest

from ecotrack.config_load import parse_config
from ecotrack.meters.modbus.victron import parse_system
from ecotrack.meters.polling import SourceError

from .test_modbus_sources import FAST, build, device, i16, tcp

__all__ = ["tcp"]


def gx_registers(
    *,
    grid: tuple[int, int, int],
    pv_out: tuple[int, ...],
    pv_in: tuple[int, ...],
    pv_dc: int,
    battery_w: int,
    soc: int,
) -> dict[int, int]:
    regs: dict[int, int] = {}
    for i, w in enumerate(pv_out + pv_in):
        regs[808 + i] = w
    for i, w in enumerate(grid):
        regs[820 + i] = i16(w)
    regs[842] = i16(battery_w)
    regs[843] = soc
    regs[850] = pv_dc
    return regs


async def test_victron_grid_pv_and_battery_with_victrons_signs(tcp: Any) -> None:
    regs = gx_registers(
        grid=(-900, 150, -250), pv_out=(1200, 0, 0), pv_in=(0, 0, 0), pv_dc=2300, battery_w=1500, soc=72
    )
    port = await tcp(device(100, regs, size=900))
    r = await build({"type": "victron", "host": "127.0.0.1", "port": port, **FAST}).read_once()
    assert (r.grid_w, r.pv_w, r.battery_w, r.battery_soc_pct) == (-1000.0, 3500.0, -1500.0, 72.0)


async def test_victron_without_battery_and_wrong_unit_id(tcp: Any) -> None:
    regs = gx_registers(grid=(400, 0, 0), pv_out=(0,) * 3, pv_in=(0xFFFF, 0, 0), pv_dc=0, battery_w=0, soc=0)
    port = await tcp(device(100, regs, size=900))
    meter = {"type": "victron", "host": "127.0.0.1", "port": port, "battery": False, **FAST}
    r = await build(meter).read_once()
    assert (r.grid_w, r.pv_w, r.battery_w, r.battery_soc_pct) == (400.0, 0.0, None, None)
    with pytest.raises(SourceError):
        await build({**meter, "unit_id": 7, "timeout_s": 0.3}).read_once()


@pytest.mark.parametrize(
    ("battery", "message"),
    [([i16(100), 140], "outside 0..100"), ([0x7FFF, 50], "battery (registers 842/843): not available")],
)
def test_victron_junk_registers_are_errors(battery: list[int], message: str) -> None:
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_system([0] * 6, [0, 0, 0], [0], battery, 0.0)
    with pytest.raises(SourceError, match="grid L2"):
        parse_system([0] * 6, [0, 0x7FFF, 0], [0], None, 0.0)


def test_victron_defaults_to_port_502_unit_100() -> None:
    cfg = parse_config(
        {
            "site": {"grid_meter": "m"},
            "meters": {"m": {"type": "victron", "host": "gx"}},
            "chargers": {},
            "loadpoints": {},
        }
    )
    meter: Any = cfg.meters["m"]
    assert (meter.port, meter.unit_id, meter.battery) == (502, 100, True)
