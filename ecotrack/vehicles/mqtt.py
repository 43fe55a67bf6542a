"""Vehicle sources fed by MQTT: TeslaMate, Tesla Fleet Telemetry, Home Assistant's statestream, generic.

Each source maps the topics of its bridge to vehicle fields with a pure :meth:`MqttVehicle.parse`
(tests call it without a broker) and applies the result to its state. Retained messages are used:
TeslaMate and the statestream retain the car's last values, which is what a restarted daemon needs.
A payload that cannot be used is counted and logged as a sample; the state keeps its last good value.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext
from ecotrack.transport.mqtt.connection import MqttConnection, Subscription
from ecotrack.transport.mqtt.payloads import Bad, at_path, decode_json, preview
from ecotrack.transport.mqtt.topics import matches
from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.config import (
    FleetTelemetryVehicleConfig,
    HomeAssistantVehicleConfig,
    MqttVehicleConfig,
    TeslaMateVehicleConfig,
)
from ecotrack.vehicles.model import parse_bool, parse_number

__all__ = [
    "FleetTelemetryVehicle",
    "GenericMqttVehicle",
    "HomeAssistantVehicle",
    "MqttVehicle",
    "TeslaMateVehicle",
]

log = logging.getLogger(__name__)

#: A parse result: vehicle field -> raw value (checked by :func:`ecotrack.vehicles.model.apply`).
Update = dict[str, Any]

KM_PER_MILE = 1.609344


class MqttVehicle(Vehicle):
    """Base of the MQTT vehicle sources: subscribe, parse, update or reject."""

    def __init__(
        self, name: str, config: Any, clock: Clock, wall: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(name, config, clock, wall)
        self.connection: MqttConnection | None = None
        self.max_payload_bytes: int = int(config.max_payload_bytes)

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> MqttVehicle:
        """Registry factory: listens on the context's MQTT connection (ValueError when there is none)."""
        vehicle = cls(name, config, context.clock)
        vehicle.connection = context.require_mqtt(f"vehicle {name!r}")
        return vehicle

    @abstractmethod
    def topics(self) -> list[str]:
        """Topic filters this source listens to."""

    @abstractmethod
    def parse(self, topic: str, payload: bytes) -> Update | Bad | None:
        """Field updates, a rejection, or None for a message that says nothing this source uses."""

    def on_message(self, topic: str, payload: bytes) -> None:
        """Handle one message: parse, then apply or reject (never raises)."""
        if len(payload) > self.max_payload_bytes:
            self.reject(f"message on {topic}: {len(payload)} bytes, above the limit of {self.max_payload_bytes}")
            return
        try:
            result = self.parse(topic, payload)
        except Exception as e:  # a parser bug must look like a bad message, not kill the source
            log.exception("vehicle %s: parser failed", self.name)
            result = Bad(f"parser failed: {e}")
        if isinstance(result, Bad):
            self.reject(f"message on {topic} {preview(payload)}: {result.reason}")
        elif result:
            self.update(result, f"{topic} {preview(payload)}")

    async def run(self) -> None:
        """Listen until cancelled. Raises when built without an MQTT connection."""
        if self.connection is None:
            raise RuntimeError(f"vehicle {self.name!r} needs MQTT but the configuration has no mqtt: section")
        self.error = None

        def handle(topic: str, payload: bytes, retained: bool) -> None:
            self.on_message(topic, payload)

        subs: list[Subscription] = [self.connection.subscribe(t, handle) for t in self.topics()]
        try:
            await asyncio.Event().wait()
        finally:
            for sub in subs:
                sub.cancel()


def _text(payload: bytes) -> str | Bad:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Bad("payload is not UTF-8")


# ------------------------------------------------------------------------------------------ TeslaMate

#: TeslaMate topic suffix -> vehicle field (plain-text payloads).
_TESLAMATE_FIELDS: dict[str, str] = {
    "battery_level": "soc_pct",
    "charge_limit_soc": "charge_limit_pct",
    "plugged_in": "plugged_in",
    "est_battery_range_km": "range_km",
    "latitude": "latitude",
    "longitude": "longitude",
    "state": "status",
    "charger_actual_current": "current_a",
}


class TeslaMateVehicle(MqttVehicle):
    """TeslaMate: ``teslamate/cars/<car_id>/<key>`` with plain-text values (retained)."""

    config: TeslaMateVehicleConfig

    def __init__(
        self, name: str, config: TeslaMateVehicleConfig, clock: Clock, wall: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(name, config, clock, wall)
        self.prefix = f"{config.base_topic}/cars/{config.car_id}/"

    def topics(self) -> list[str]:
        return [self.prefix + "+"]

    def parse(self, topic: str, payload: bytes) -> Update | Bad | None:
        if not topic.startswith(self.prefix):
            return None
        key = topic[len(self.prefix) :]
        text = _text(payload)
        if isinstance(text, Bad):
            return text
        if key == "geofence":  # empty: outside every geofence
            return {"geofence": text or None}
        if key == "charging_state":  # Charging, Complete, Disconnected, Stopped, NoPower, Starting
            return {"charging": text.casefold() in ("charging", "starting")} if text else None
        if key == "state" and text.casefold() == "charging":
            return {"status": text, "charging": True}
        field = _TESLAMATE_FIELDS.get(key)
        if field is None:
            return None  # one of TeslaMate's many other topics
        if not text:
            return {field: None}
        return {field: text}


# ------------------------------------------------------------------------------- Fleet Telemetry (MQTT)


def _telemetry_value(payload: bytes, max_bytes: int) -> Any | Bad:
    """A Fleet Telemetry MQTT value: JSON (a number, a string, an object); plain text is taken as is."""
    data = decode_json(payload, max_bytes)
    if isinstance(data, Bad):
        text = _text(payload)
        return text
    if isinstance(data, dict) and "value" in data and len(data) <= 2:
        return data["value"]
    return data


class FleetTelemetryVehicle(MqttVehicle):
    """Fleet Telemetry's MQTT datastore: ``<base_topic>/<VIN>/v/<Field>``, one JSON value per field."""

    config: FleetTelemetryVehicleConfig

    def __init__(
        self,
        name: str,
        config: FleetTelemetryVehicleConfig,
        clock: Clock,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(name, config, clock, wall)
        self.prefix = f"{config.base_topic}/{config.vin}/v/"

    def topics(self) -> list[str]:
        return [self.prefix + "+"]

    def parse(self, topic: str, payload: bytes) -> Update | Bad | None:
        if not topic.startswith(self.prefix):
            return None
        field = topic[len(self.prefix) :]
        value = _telemetry_value(payload, self.max_payload_bytes)
        if isinstance(value, Bad):
            return value
        if field in ("BatteryLevel", "Soc"):
            return {"soc_pct": value}
        if field == "ChargeLimitSoc":
            return {"charge_limit_pct": value}
        if field == "ChargeAmps":
            return {"current_a": value}
        if field in ("EstBatteryRange", "RatedRange"):
            miles = parse_number(value)
            if miles is None:
                return Bad(f"{field}: expected a number of miles")
            return {"range_km": round(miles * KM_PER_MILE, 1)}
        if field == "Location":
            if not isinstance(value, dict):
                return Bad("Location: expected an object with latitude and longitude")
            return {"latitude": value.get("latitude"), "longitude": value.get("longitude")}
        if field == "DetailedChargeState":
            if not isinstance(value, str) or not value:
                return Bad("DetailedChargeState: expected a state name")
            state = value.removeprefix("DetailedChargeState")
            return {
                "plugged_in": state not in ("Disconnected", "Unknown"),
                "charging": state in ("Charging", "Starting"),
                "status": state,
            }
        return None


# ------------------------------------------------------------------------------ Home Assistant


class HomeAssistantVehicle(MqttVehicle):
    """Home Assistant's ``mqtt_statestream``: ``<base>/<domain>/<object>/state`` (plain) and attributes (JSON)."""

    config: HomeAssistantVehicleConfig

    def __init__(
        self,
        name: str,
        config: HomeAssistantVehicleConfig,
        clock: Clock,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(name, config, clock, wall)
        c = config
        self._states: dict[str, str] = {}
        for entity, field in (
            (c.soc_entity, "soc_pct"),
            (c.charge_limit_entity, "charge_limit_pct"),
            (c.plugged_entity, "plugged_in"),
            (c.charging_entity, "charging"),
            (c.location_entity, "at_home"),
            (c.range_entity, "range_km"),
        ):
            if entity is not None:
                self._states[self._topic(entity, "state")] = field
        self._location = c.location_entity

    def _topic(self, entity: str, leaf: str) -> str:
        domain, _, obj = entity.partition(".")
        return f"{self.config.base_topic}/{domain}/{obj}/{leaf}"

    def topics(self) -> list[str]:
        out = list(self._states)
        if self._location is not None:
            out += [self._topic(self._location, "latitude"), self._topic(self._location, "longitude")]
        return out

    def parse(self, topic: str, payload: bytes) -> Update | Bad | None:
        text = _text(payload)
        if isinstance(text, Bad):
            return text
        field = self._states.get(topic)
        if field is not None:
            if text in ("unknown", "unavailable", ""):
                return {field: None}
            if field == "at_home":  # a device_tracker: 'home', 'not_home' or a zone name
                return {"at_home": text.casefold() == "home", "geofence": text}
            return {field: text}
        if self._location is not None:
            for leaf in ("latitude", "longitude"):
                if topic == self._topic(self._location, leaf):
                    return {leaf: text}
        return None


# ------------------------------------------------------------------------------------ generic MQTT

_GENERIC_FIELDS: tuple[tuple[str, str], ...] = (
    ("soc", "soc_pct"),
    ("charge_limit", "charge_limit_pct"),
    ("plugged_in", "plugged_in"),
    ("charging", "charging"),
    ("at_home", "at_home"),
    ("geofence", "geofence"),
    ("latitude", "latitude"),
    ("longitude", "longitude"),
    ("range_km", "range_km"),
)


class GenericMqttVehicle(MqttVehicle):
    """Any bridge: each configured value has its topic and a dotted path into its JSON (or none)."""

    config: MqttVehicleConfig

    def __init__(
        self, name: str, config: MqttVehicleConfig, clock: Clock, wall: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(name, config, clock, wall)
        self._values: list[tuple[str, str, str]] = []  # (topic, path, field)
        for key, field in _GENERIC_FIELDS:
            value = getattr(config, key)
            if value is not None:
                self._values.append((value.topic, value.path, field))

    def topics(self) -> list[str]:
        return sorted({t for t, _, _ in self._values})

    def parse(self, topic: str, payload: bytes) -> Update | Bad | None:
        wanted = [(path, field) for t, path, field in self._values if matches(t, topic)]
        if not wanted:
            return None
        update: Update = {}
        data: Any = None
        for path, field in wanted:
            if not path:
                text = _text(payload)
                if isinstance(text, Bad):
                    return text
                update[field] = text
                continue
            if data is None:
                data = decode_json(payload, self.max_payload_bytes)
                if isinstance(data, Bad):
                    return data
            value = at_path(data, path)
            if isinstance(value, Bad):
                return Bad(f"{field}: {value.reason}")
            if field in ("plugged_in", "charging", "at_home") and parse_bool(value) is None:
                return Bad(f"{field}: expected true/false, got {str(value)[:40]!r}")
            update[field] = value
        return update
