"""Emoncms (OpenEnergyMonitor): the latest value of several feeds in one request.

``GET /feed/fetch.json?ids=1,2,3`` answers a JSON list with one value per id, in the order asked;
a feed that has no data yet (or that the key may not read) is ``null`` or ``false`` in its place.
Emoncms takes the read API key as ``Authorization: Bearer <key>``, so the key never appears in a
URL (nor in httpx's request log line). A wrong key is answered either with HTTP 401 (newer
versions) or with ``{"success": false, "message": "..."}`` and status 200; both are errors that
say to check the key. Feeds carry no unit: powers are W (``scale: 1000`` for a kW feed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.config import MappedValue
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import EmonCmsConfig, EmonFeed
from ecotrack.meters.http.mapped import roles_of
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import bounded, reading_from_roles, role_value, to_float

__all__ = ["PATH", "EmonCmsSource", "parse_feed_values"]

PATH = "/feed/fetch.json"


def parse_feed_values(data: Any, feeds: Sequence[int]) -> list[float]:
    """The numbers in a fetch.json answer for ``feeds`` (same order), or a :class:`SourceError`."""
    if isinstance(data, Mapping):
        message = data.get("message") or data.get("error") or "no reason given"
        hint = "; check the apikey" if "key" in str(message).lower() or "auth" in str(message).lower() else ""
        raise SourceError(f"Emoncms refused the request: {str(message)[:120]}{hint}")
    if not isinstance(data, list):
        raise SourceError(f"expected a list of feed values, got {type(data).__name__}")
    if len(data) != len(feeds):
        raise SourceError(f"asked for {len(feeds)} feeds, got {len(data)} values")
    values: list[float] = []
    for feed, value in zip(feeds, data, strict=True):
        if value is None or value is False:
            raise SourceError(f"feed {feed}: no value (wrong id, no data yet, or not readable with this key)")
        values.append(to_float(value, f"feed {feed}"))
    return values


class EmonCmsSource(HttpSource):
    """Polls the configured feeds of an Emoncms server."""

    def __init__(self, *args: Any, mapping: dict[str, MappedValue], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mapping = {role: spec for role, spec in mapping.items() if isinstance(spec, EmonFeed)}

    async def fetch(self, t_s: float) -> MeterReading:
        roles = list(self.mapping)
        feeds = [self.mapping[role].feed for role in roles]
        data = await self.get_json(PATH, params={"ids": ",".join(str(f) for f in feeds)})
        raw = parse_feed_values(data, feeds)
        values: dict[str, float | None] = {}
        for role, feed, value in zip(roles, feeds, raw, strict=True):
            spec = self.mapping[role]
            what = f"feed {feed}"
            converted = role_value(role, value, None, what, invert=spec.invert, scale=spec.scale)
            values[role] = converted if role == "battery_soc" else bounded(converted, what)
        return reading_from_roles(t_s, values)

    @classmethod
    def from_config(cls, name: str, config: EmonCmsConfig, context: DeviceContext) -> EmonCmsSource:
        """Build from an :class:`EmonCmsConfig`."""
        headers = {"Authorization": f"Bearer {config.apikey.get_secret_value()}"} if config.apikey else None
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            headers=headers,
            mapping=roles_of(config),
        )
