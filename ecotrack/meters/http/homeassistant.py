"""Home Assistant REST API: ``GET /api/states/<entity_id>`` with a long-lived token.

The answer's ``state`` is a string (``"1234.5"``, or ``"unavailable"``/``"unknown"`` when the
integration behind the entity is down — an error, never 0) and
``attributes.unit_of_measurement`` says W or kW (or % for a state of charge).
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.http.config import HaEntity, HomeAssistantConfig
from ecotrack.meters.http.mapped import MappedHttpSource, roles_of
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import json_path, parse_quantity

__all__ = ["HomeAssistantSource", "parse_state"]


def parse_state(data: Any, entity: str, unit_override: str | None = None) -> tuple[float, str | None]:
    """Value and unit of an entity's state answer."""
    state = json_path(data, "state")
    if not isinstance(state, str | int | float) or isinstance(state, bool):
        raise SourceError(f"{entity}: state is {state!r}, not a number")
    if isinstance(state, str) and state.strip().lower() in ("unavailable", "unknown", "none", ""):
        raise SourceError(f"{entity} is {state.strip() or 'empty'} in Home Assistant")
    value, inline_unit = parse_quantity(str(state), entity)
    unit = json_path(data, "attributes.unit_of_measurement", default=None)
    if not isinstance(unit, str) or not unit:
        unit = inline_unit or unit_override
    return value, unit


class HomeAssistantSource(MappedHttpSource):
    """Reads the configured entities from Home Assistant."""

    #: An entity without unit_of_measurement could be W or kW: the user must say (``unit``).
    default_unit = None

    async def read_value(self, role: str, spec: HaEntity) -> tuple[float, str | None]:
        data = await self.get_json(f"/api/states/{spec.entity}")
        return parse_state(data, spec.entity, spec.unit)

    def label(self, spec: Any) -> str:
        return str(spec.entity)

    @classmethod
    def from_config(
        cls, name: str, config: HomeAssistantConfig, context: DeviceContext
    ) -> HomeAssistantSource:
        """Build from a :class:`HomeAssistantConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            headers={"Authorization": f"Bearer {config.token.get_secret_value()}"},
            mapping=roles_of(config),
        )
