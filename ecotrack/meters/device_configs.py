"""The union of every device meter's configuration model, for :mod:`ecotrack.config`'s ``MeterConfig``."""

from __future__ import annotations

from ecotrack.meters.dsmr.config import DsmrConfig
from ecotrack.meters.http.config import HttpMeterConfig
from ecotrack.meters.modbus.config import ModbusMeterConfig

__all__ = ["DeviceMeterConfig"]

#: HTTP, Modbus and DSMR meters, told apart by ``type``.
DeviceMeterConfig = HttpMeterConfig | ModbusMeterConfig | DsmrConfig
