"""Kostal Plenticore / Piko IQ over Modbus TCP (port 1502, unit 71), holding registers.

From Kostal's "MODBUS (TCP) & SunSpec" interface description, the registers used (float32 = two
registers):

====  =======================================  ======
addr  meaning                                  type
====  =======================================  ======
5     byte order: 0 little-endian (CDAB), 1 big-endian (ABCD)  U16
100   total DC power (sum of PV inputs), W     float32
200   battery current, charge - / discharge +  float32
210   battery state of charge, %               float32
222   powermeter current phase 1, A (then +10 per phase: 232, 242)  float32
224   powermeter active power phase 1, W (234, 244)  float32
230   powermeter voltage phase 1, V (240, 250)  float32
252   powermeter total active power, W (+ import)  float32
582   battery charge (-) / discharge (+) power, W  S16
====  =======================================  ======

The float word order is whatever register 5 says (the installer can switch it to SunSpec's big
endian); ``byte_order`` in the configuration overrides it. Per-phase currents are signed by the
phase's active power.
"""

from __future__ import annotations

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.modbus.client import ModbusSource, Transport
from ecotrack.meters.modbus.config import KostalConfig
from ecotrack.meters.modbus.decode import float32, int16, uint16
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import pv_nonnegative, soc_pct

__all__ = ["BYTE_ORDER_REGISTER", "KostalSource"]

BYTE_ORDER_REGISTER = 5
PV_BLOCK = (100, 2)  # total DC power
METER_BLOCK = (218, 36)  # 218..253: powermeter phases and total active power
BATTERY_BLOCK = (200, 12)  # 200..211: battery current .. state of charge
BATTERY_POWER = 582


class KostalSource(ModbusSource):
    """Reads PV, grid (with phases) and optionally the battery from a Kostal inverter."""

    def __init__(
        self, *args: object, byte_order: str = "auto", battery: bool = False, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.byte_order = byte_order
        self.battery = battery
        self._word_order: str | None = None if byte_order == "auto" else byte_order

    async def word_order(self) -> str:
        """``"little"`` or ``"big"``: configured, or read once from register 5."""
        if self._word_order is None:
            (flag,) = await self.read(BYTE_ORDER_REGISTER, 1)
            if uint16(flag) not in (0, 1):
                raise SourceError(f"{self.describe()}: register 5 (byte order) is {flag}, expected 0 or 1")
            self._word_order = "big" if flag == 1 else "little"
        return self._word_order

    async def fetch(self, t_s: float) -> MeterReading:
        order = await self.word_order()

        def f32(regs: list[int], base: int, addr: int) -> float:
            i = addr - base
            return float32(regs[i : i + 2], order)

        pv_regs = await self.read(*PV_BLOCK)
        meter = await self.read(*METER_BLOCK)
        base = METER_BLOCK[0]
        grid = f32(meter, base, 252)
        currents = []
        voltages = []
        for phase in range(3):
            amps = abs(f32(meter, base, 222 + 10 * phase))
            watts = f32(meter, base, 224 + 10 * phase)
            currents.append(-amps if watts < 0 else amps)
            voltages.append(f32(meter, base, 230 + 10 * phase))
        battery_w = soc = None
        if self.battery:
            bat = await self.read(*BATTERY_BLOCK)
            soc = soc_pct(f32(bat, BATTERY_BLOCK[0], 210), "battery state of charge (register 210)")
            (raw,) = await self.read(BATTERY_POWER, 1)
            battery_w = float(int16(raw))
        return MeterReading(
            t_s=t_s,
            grid_w=grid,
            pv_w=pv_nonnegative(float32(pv_regs, order)),
            battery_w=battery_w,
            battery_soc_pct=soc,
            voltage_v=sum(voltages) / 3.0,
            voltages_v=tuple(voltages),
            currents_a=tuple(currents),
        )

    async def reset(self) -> None:
        await super().reset()
        if self.byte_order == "auto":
            self._word_order = None  # the installer may have switched it; read it again

    @classmethod
    def from_config(cls, name: str, config: KostalConfig, context: DeviceContext) -> KostalSource:
        """Build from a :class:`KostalConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            transport=Transport.from_config(config),
            unit_id=config.unit_id,
            byte_order=config.byte_order,
            battery=config.battery,
        )
