"""SunSpec over Modbus: find the models, then read an inverter (101-103) and a meter (201-204).

A SunSpec device starts its map with the marker ``SunS`` (0x5375 0x6E53) at 40000 (sometimes 0 or
50000), followed by a chain of models, each ``ID, L`` and ``L`` registers of data, ending with
ID 0xFFFF. The chain is walked once per connection. Points are integers with a shared scale factor
(``W`` x 10^``W_SF``); 0x8000 (signed) or 0xFFFF (unsigned) mean "not implemented".

Offsets within a model's data block (after ``ID`` and ``L``):

* inverter 101/102/103: ``A`` 0 (uint16), ``AphA..C`` 1-3, ``A_SF`` 4, ``PhVphA..C`` 8-10,
  ``V_SF`` 11, ``W`` 12 (int16), ``W_SF`` 13, ``DCW`` 29, ``DCW_SF`` 30;
* meter 201/202/203/204: ``A`` 0, ``AphA..C`` 1-3, ``A_SF`` 4, ``PhVphA..C`` 6-8, ``V_SF`` 13,
  ``W`` 16, ``WphA..C`` 17-19, ``W_SF`` 20 (all int16).

PV is the inverter's AC ``W``; the grid is the meter's ``W``, whose sign convention varies by vendor
(``meter_sign``; SolarEdge counts export as positive). Per-phase currents from the meter are signed
by the phase's power.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.modbus.client import ModbusSource, Transport
from ecotrack.meters.modbus.config import SunSpecConfig
from ecotrack.meters.modbus.decode import int16, scaled, uint16
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import pv_nonnegative

__all__ = [
    "INVERTER_MODELS",
    "METER_MODELS",
    "SUNS",
    "Model",
    "SunSpecSource",
    "parse_inverter",
    "parse_meter",
]

SUNS = (0x5375, 0x6E53)
INVERTER_MODELS = (101, 102, 103)
METER_MODELS = (201, 202, 203, 204)
BASE_ADDRESSES = (40000, 0, 50000)
_MAX_MODELS = 64


@dataclass(frozen=True, slots=True)
class Model:
    """A model found in the chain: its id, the address of its data and its length."""

    id: int
    address: int
    length: int


def _phase_values(data: list[int], offsets: tuple[int, ...], sf_offset: int, what: str) -> list[float]:
    sf = int16(data[sf_offset])
    values = [scaled(int16(data[o]), sf, what) for o in offsets]
    return [v for v in values if v is not None]


def parse_inverter(data: list[int], model_id: int) -> float:
    """AC power (W) of an inverter model's data block."""
    w = scaled(int16(data[12]), int16(data[13]), f"model {model_id} W")
    if w is None:
        raise SourceError(f"model {model_id}: W is not implemented")
    return pv_nonnegative(w)


def parse_meter(
    data: list[int], model_id: int, *, export_positive: bool = False
) -> tuple[float, tuple[float, ...] | None, tuple[float, ...] | None]:
    """Grid power (+ import), phase voltages and signed phase currents of a meter model's data block."""
    w = scaled(int16(data[16]), int16(data[20]), f"model {model_id} W")
    if w is None:
        raise SourceError(f"model {model_id}: W is not implemented")
    sign = -1.0 if export_positive else 1.0
    n = {201: 1, 202: 2}.get(model_id, 3)
    volts = _phase_values(data, (6, 7, 8)[:n], 13, f"model {model_id} PhV")
    amps = [abs(a) for a in _phase_values(data, (1, 2, 3)[:n], 4, f"model {model_id} A")]
    powers = [sign * p for p in _phase_values(data, (17, 18, 19)[:n], 20, f"model {model_id} Wph")]
    if len(powers) == len(amps):
        amps = [-a if p < 0 else a for a, p in zip(amps, powers, strict=True)]
    return sign * w, (tuple(volts) or None), (tuple(amps) or None)


class SunSpecSource(ModbusSource):
    """Reads a SunSpec inverter and/or meter on one unit."""

    def __init__(
        self, *args: object, base_address: int | None = None, export_positive: bool = False, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.base_address = base_address
        self.export_positive = export_positive
        self.models: list[Model] | None = None

    async def discover(self) -> list[Model]:
        """Walk the model chain (once per connection)."""
        if self.models is not None:
            return self.models
        bases = (self.base_address,) if self.base_address is not None else BASE_ADDRESSES
        start = None
        for base in bases:
            try:
                marker = await self.read(base, 2)
            except SourceError:
                if len(bases) == 1:
                    raise
                continue
            if tuple(uint16(r) for r in marker) == SUNS:
                start = base + 2
                break
        if start is None:
            where = ", ".join(str(b) for b in bases)
            raise SourceError(f"{self.describe()}: no SunSpec marker 'SunS' at {where}")
        models: list[Model] = []
        address = start
        for _ in range(_MAX_MODELS):
            model_id, length = (uint16(r) for r in await self.read(address, 2))
            if model_id == 0xFFFF:
                break
            models.append(Model(model_id, address + 2, length))
            address += 2 + length
        if not any(m.id in INVERTER_MODELS or m.id in METER_MODELS for m in models):
            found = ", ".join(str(m.id) for m in models) or "none"
            raise SourceError(
                f"{self.describe()}: no inverter (101-103) or meter (201-204) model (found: {found})"
            )
        self.models = models
        return models

    async def fetch(self, t_s: float) -> MeterReading:
        models = await self.discover()
        inverter = next((m for m in models if m.id in INVERTER_MODELS), None)
        meter = next((m for m in models if m.id in METER_MODELS), None)
        pv = grid = None
        volts = amps = None
        if inverter is not None:
            if inverter.length < 14:
                raise SourceError(f"model {inverter.id} is {inverter.length} registers long, too short")
            pv = parse_inverter(await self.read(inverter.address, 14), inverter.id)
        if meter is not None:
            if meter.length < 21:
                raise SourceError(f"model {meter.id} is {meter.length} registers long, too short")
            grid, volts, amps = parse_meter(
                await self.read(meter.address, 21), meter.id, export_positive=self.export_positive
            )
        return MeterReading(
            t_s=t_s,
            grid_w=grid,
            pv_w=pv,
            voltage_v=sum(volts) / len(volts) if volts else None,
            voltages_v=volts,
            currents_a=amps,
        )

    async def reset(self) -> None:
        await super().reset()
        self.models = None

    @classmethod
    def from_config(cls, name: str, config: SunSpecConfig, context: DeviceContext) -> SunSpecSource:
        """Build from a :class:`SunSpecConfig` (or :class:`SolarEdgeModbusConfig`)."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            transport=Transport.from_config(config),
            unit_id=config.unit_id,
            base_address=config.base_address,
            export_positive=config.meter_sign == "export_positive",
        )
