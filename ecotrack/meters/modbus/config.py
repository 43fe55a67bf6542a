"""Configuration models of the Modbus meters (no pymodbus import)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ecotrack.devices.registry import DriverSpec
from ecotrack.meters.config import PollConfig

__all__ = [
    "DRIVERS",
    "KostalConfig",
    "ModbusMeterConfig",
    "SolarEdgeModbusConfig",
    "SunSpecConfig",
    "VictronConfig",
]


class ModbusConfig(PollConfig):
    """Where the device is: ``host`` (Modbus TCP) or ``device`` (Modbus RTU over a serial port)."""

    host: str | None = Field(None, description="Host name or IP address (Modbus TCP).")
    port: int = Field(502, ge=1, le=65535, description="TCP port.")
    device: str | None = Field(None, description="Serial port (Modbus RTU), e.g. /dev/ttyUSB0.")
    baudrate: int = Field(9600, ge=300, le=921_600, description="Serial speed (RTU).")
    parity: Literal["N", "E", "O"] = Field("N", description="Serial parity (RTU).")
    stopbits: Literal[1, 2] = Field(1, description="Serial stop bits (RTU).")
    unit_id: int = Field(1, ge=0, le=255, description="Modbus unit (slave) id.")
    interval_s: float = Field(2.0, gt=0, le=86_400, description="Seconds between two readings.")
    timeout_s: float = Field(3.0, gt=0, le=600, description="Longest wait for the device's answer (s).")

    @model_validator(mode="after")
    def _one_transport(self) -> ModbusConfig:
        if (self.host is None) == (self.device is None):
            raise ValueError("set exactly one of host (Modbus TCP) or device (Modbus RTU)")
        return self


class KostalConfig(ModbusConfig):
    """Kostal Plenticore / Piko IQ inverter (Modbus TCP port 1502, unit 71)."""

    type: Literal["kostal"] = Field(description="Meter type.")
    port: int = Field(1502, ge=1, le=65535, description="TCP port (Kostal: 1502).")
    unit_id: int = Field(71, ge=0, le=255, description="Modbus unit id (Kostal: 71).")
    byte_order: Literal["auto", "little", "big"] = Field(
        "auto",
        description="Word order of the float registers; auto reads register 5 (0: little/CDAB, 1: big/ABCD).",
    )
    battery: bool = Field(False, description="A battery is attached: read its power and state of charge.")


class SunSpecConfig(ModbusConfig):
    """Any SunSpec device: inverter models 101-103 (PV) and meter models 201-204 (grid), with scale factors."""

    type: Literal["sunspec"] = Field(description="Meter type.")
    base_address: int | None = Field(
        None, ge=0, le=65_000, description="Address of the 'SunS' marker; null tries 40000, 0 and 50000."
    )
    meter_sign: Literal["import_positive", "export_positive"] = Field(
        "import_positive",
        description="Sign of the meter model's W: import_positive (SunSpec) or export_positive.",
    )


class SolarEdgeModbusConfig(SunSpecConfig):
    """SolarEdge inverter over Modbus TCP (SunSpec): inverter model 103, meter model 203 (export positive)."""

    type: Literal["solaredge_modbus"] = Field(description="Meter type.")  # type: ignore[assignment]
    port: int = Field(1502, ge=1, le=65535, description="TCP port (SolarEdge: 1502).")
    base_address: int | None = Field(40000, ge=0, le=65_000, description="Address of the 'SunS' marker.")
    meter_sign: Literal["import_positive", "export_positive"] = Field(
        "export_positive", description="SolarEdge meters count export as positive W."
    )


class VictronConfig(ModbusConfig):
    """Victron GX device (Cerbo GX, Venus GX, CCGX) over Modbus TCP: the system service (unit 100)."""

    type: Literal["victron"] = Field(description="Meter type.")
    unit_id: int = Field(100, ge=0, le=255, description="Modbus unit id of com.victronenergy.system (100).")
    battery: bool = Field(
        True, description="Read the battery's power and state of charge (a battery is attached)."
    )


#: Every Modbus meter config.
ModbusMeterConfig = KostalConfig | SunSpecConfig | SolarEdgeModbusConfig | VictronConfig

#: The drivers of this package (see :mod:`ecotrack.devices.registry`); they load httpx, pymodbus or
#: pyserial only when built.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("meter", "kostal", KostalConfig, "ecotrack.meters.modbus.kostal:KostalSource.from_config"),
    DriverSpec("meter", "sunspec", SunSpecConfig, "ecotrack.meters.modbus.sunspec:SunSpecSource.from_config"),
    DriverSpec(
        "meter",
        "solaredge_modbus",
        SolarEdgeModbusConfig,
        "ecotrack.meters.modbus.solaredge:SolarEdgeModbusSource.from_config",
    ),
    DriverSpec("meter", "victron", VictronConfig, "ecotrack.meters.modbus.victron:VictronSource.from_config"),
)
