"""Victron GX device (Cerbo GX, Venus GX, CCGX) over Modbus TCP: the system overview, unit id 100.

From Victron's "CCGX Modbus TCP register list" (service com.victronenergy.system, scale factor 1
for all of these, so the registers are whole watts and percent):

====  ==========================================  ======
addr  meaning                                     type
====  ==========================================  ======
808   PV AC-coupled on output L1 (809 L2, 810 L3)  uint16 W
811   PV AC-coupled on input L1 (812 L2, 813 L3)   uint16 W
820   Grid L1 (821 L2, 822 L3), + import           int16 W
842   Battery power, + charging                    int16 W
843   Battery state of charge                      uint16 %
850   PV DC-coupled power                          uint16 W
====  ==========================================  ======

PV is the sum of the AC-coupled inverters on both sides and the DC-coupled chargers. Victron's
battery power is positive while charging; the project's is positive while discharging, so it is
negated. A register the GX has no value for reads as 0xFFFF (uint16) / 0x7FFF (int16) on some
firmware: those count as 0 W for PV (no such inverter) and are refused elsewhere.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.modbus.client import ModbusSource, Transport
from ecotrack.meters.modbus.config import VictronConfig
from ecotrack.meters.modbus.decode import int16, uint16
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import bounded, soc_pct

__all__ = ["BATTERY_BLOCK", "GRID_BLOCK", "PV_AC_BLOCK", "PV_DC", "VictronSource", "parse_system"]

PV_AC_BLOCK = (808, 6)  # 808..813: PV on AC-out L1-L3, PV on AC-in L1-L3
GRID_BLOCK = (820, 3)  # 820..822: grid L1-L3
BATTERY_BLOCK = (842, 2)  # 842 power, 843 SoC
PV_DC = (850, 1)

UINT16_NONE = 0xFFFF
INT16_NONE = 0x7FFF


def parse_system(
    pv_ac: list[int], grid: list[int], pv_dc: list[int], battery: list[int] | None, t_s: float
) -> MeterReading:
    """The reading in the raw registers of the four blocks (``battery`` None: no battery read)."""
    pv = 0.0
    for reg in [*pv_ac, *pv_dc]:
        if uint16(reg) != UINT16_NONE:
            pv += uint16(reg)
    phases = []
    for n, reg in enumerate(grid, start=1):
        if int16(reg) == INT16_NONE:
            raise SourceError(f"grid L{n} (register {819 + n}): not available")
        phases.append(float(int16(reg)))
    battery_w = soc = None
    if battery is not None:
        power, charge = battery
        if int16(power) == INT16_NONE or uint16(charge) == UINT16_NONE:
            raise SourceError("battery (registers 842/843): not available; set battery: false without one")
        battery_w = -float(int16(power))
        soc = soc_pct(float(uint16(charge)), "battery state of charge (register 843)")
    return MeterReading(
        t_s=t_s,
        grid_w=bounded(sum(phases), "grid power (registers 820-822)"),
        pv_w=bounded(pv, "PV power (registers 808-813, 850)", low=0.0),
        battery_w=battery_w,
        battery_soc_pct=soc,
    )


class VictronSource(ModbusSource):
    """Reads grid, PV and battery from a GX device's system service."""

    def __init__(self, *args: Any, battery: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.battery = battery

    async def fetch(self, t_s: float) -> MeterReading:
        pv_ac = await self.read(*PV_AC_BLOCK)
        grid = await self.read(*GRID_BLOCK)
        pv_dc = await self.read(*PV_DC)
        battery = await self.read(*BATTERY_BLOCK) if self.battery else None
        return parse_system(pv_ac, grid, pv_dc, battery, t_s)

    @classmethod
    def from_config(cls, name: str, config: VictronConfig, context: DeviceContext) -> VictronSource:
        """Build from a :class:`VictronConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            transport=Transport.from_config(config),
            unit_id=config.unit_id,
            battery=config.battery,
        )
