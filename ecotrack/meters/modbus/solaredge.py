"""SolarEdge inverters over Modbus TCP: SunSpec with SolarEdge's defaults.

SolarEdge serves SunSpec at 40000 on port 1502, unit 1: common model, inverter model 103 at 40069
(``I_AC_Power`` = 40083, its scale factor 40084) and, with a SolarEdge meter, meter model 203 at
40188 (``M_AC_Power`` = 40206, scale 40210). The meter counts export as positive, so its sign is
flipped to ecotrack's ``+`` import. Only one Modbus TCP client may be connected at a time.
Battery (StorEdge) registers are not read. Configured by
:class:`~ecotrack.meters.modbus.config.SolarEdgeModbusConfig`.
"""

from __future__ import annotations

from ecotrack.meters.modbus.sunspec import SunSpecSource

__all__ = ["SolarEdgeModbusSource"]


class SolarEdgeModbusSource(SunSpecSource):
    """A :class:`SunSpecSource` built from a :class:`SolarEdgeModbusConfig` (SolarEdge's address, port and meter sign).

    ``from_config`` is inherited: the config's defaults carry everything SolarEdge-specific.
    """
