"""Configuration model of the DSMR P1 meter (no serial import)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec

__all__ = ["DRIVERS", "DsmrConfig"]


class DsmrConfig(ConfigModel):
    """DSMR P1 smart meter on a serial port (DSMR 4/5: 115200 8N1; DSMR 2.2/3: 9600 7E1)."""

    type: Literal["dsmr"] = Field(description="Meter type.")
    port: str = Field(
        min_length=1,
        description="Serial port, e.g. /dev/ttyUSB0, or a pyserial URL such as socket://host:2001.",
    )
    baudrate: int = Field(115_200, ge=300, le=921_600, description="Serial speed (DSMR 4/5: 115200).")
    bytesize: Literal[7, 8] = Field(8, description="Data bits (DSMR 2.2/3: 7).")
    parity: Literal["N", "E", "O"] = Field("N", description="Parity (DSMR 2.2/3: E).")
    stopbits: Literal[1, 2] = Field(1, description="Stop bits.")
    require_crc: bool = Field(
        True, description="Reject telegrams without a CRC (DSMR 4/5 always send one; false for DSMR 2.2/3)."
    )
    timeout_s: float = Field(
        30.0, gt=0, le=3600, description="No complete telegram for this long puts the meter in error (s)."
    )
    reopen_delay_s: float = Field(
        5.0, gt=0, le=3600, description="Pause before reopening a lost serial port (s)."
    )


#: The drivers of this package (see :mod:`ecotrack.devices.registry`); they load httpx, pymodbus or
#: pyserial only when built.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("meter", "dsmr", DsmrConfig, "ecotrack.meters.dsmr.source:DsmrSource.from_config"),
)
