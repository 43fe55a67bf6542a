"""IotaWatt power monitor: ``GET /status?outputs`` lists every output with its name, units and value.

One request serves every mapped output. Only outputs in ``Watts`` are accepted as powers (an output
in Volts or Amps mapped as grid is a configuration mistake, reported as such).
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import IotaWattConfig, IwOutput
from ecotrack.meters.http.mapped import roles_of
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import json_path, reading_from_roles, role_value, to_float

__all__ = ["IotaWattSource", "parse_outputs"]


def parse_outputs(data: Any) -> dict[str, tuple[float, str | None]]:
    """``{output name: (value, unit)}`` from a status?outputs answer (units: Watts -> W)."""
    outputs = json_path(data, "outputs")
    if not isinstance(outputs, list):
        raise SourceError("status: 'outputs' is not a list")
    result: dict[str, tuple[float, str | None]] = {}
    for i, out in enumerate(outputs):
        if not isinstance(out, dict) or not isinstance(out.get("name"), str):
            raise SourceError(f"outputs[{i}]: expected an object with a name")
        units = out.get("units")
        unit = "W" if units == "Watts" else (str(units) if units is not None else None)
        value = out.get("value")
        if value is None:
            continue
        result[out["name"]] = (to_float(value, f"output {out['name']}"), unit)
    return result


class IotaWattSource(HttpSource):
    """Reads the configured outputs of an IotaWatt in one request."""

    def __init__(self, *args: Any, mapping: dict[str, IwOutput], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mapping = mapping

    async def fetch(self, t_s: float) -> MeterReading:
        outputs = parse_outputs(await self.get_json("/status", params={"outputs": ""}))
        values: dict[str, float | None] = {}
        for role, spec in self.mapping.items():
            name = spec.output
            if name not in outputs:
                known = ", ".join(sorted(outputs)) or "none"
                raise SourceError(f"IotaWatt has no output {name!r} with a value (outputs: {known})")
            value, unit = outputs[name]
            if unit is None or unit not in ("W",):
                raise SourceError(f"output {name!r} is in {unit or 'no unit'}, not Watts")
            values[role] = role_value(
                role, value, unit, f"output {name}", invert=spec.invert, scale=spec.scale
            )
        return reading_from_roles(t_s, values)

    @classmethod
    def from_config(cls, name: str, config: IotaWattConfig, context: DeviceContext) -> IotaWattSource:
        """Build from an :class:`IotaWattConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            mapping={role: spec for role, spec in roles_of(config).items() if isinstance(spec, IwOutput)},
        )
