"""Meter sources fed by MQTT messages: the ecotrack monitor, emonhub, DSMR-reader and a generic one.

Each source subscribes its topics on the shared :class:`~ecotrack.transport.mqtt.connection.MqttConnection`
(bound by :func:`ecotrack.services.mqtt.service.attach_mqtt`), converts each message to the project's sign
convention (grid + import, PV >= 0) and emits a :class:`~ecotrack.meters.base.MeterReading` stamped
with the clock time of **arrival** (the messages carry no trustworthy time of their own).

A message that cannot be used (not JSON, wrong type, NaN, missing key, too large) is rejected: logged
with topic and payload (a sample, when there are many), counted in ``rejected``, and nothing is emitted,
so the core's staleness failsafe sees the silence.

The parsing is in plain methods (:meth:`MqttSource.parse`) that tests call without a broker.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Self

from ecotrack.clock import Clock
from ecotrack.core.bounds import meter_reading_problem
from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading, MeterSink, Source
from ecotrack.meters.mqtt.config import (
    DsmrReaderMeterConfig,
    EcotrackMonitorMeterConfig,
    EmonhubMeterConfig,
    MqttMeterConfig,
    MqttValueConfig,
)
from ecotrack.transport.mqtt.connection import MqttConnection, Subscription
from ecotrack.transport.mqtt.payloads import Bad, LogLimiter, at_path, decode_json, preview, to_number
from ecotrack.transport.mqtt.topics import matches

__all__ = [
    "DsmrReaderSource",
    "EcotrackMonitorSource",
    "EmonhubSource",
    "GenericMqttSource",
    "MqttSource",
]

log = logging.getLogger(__name__)


class MqttSource(Source):
    """Base of MQTT meter sources: subscribe, parse, emit or reject."""

    def __init__(self, name: str, clock: Clock, max_payload_bytes: int) -> None:
        super().__init__(name)
        self.clock = clock
        self.max_payload_bytes = max_payload_bytes
        self.connection: MqttConnection | None = None
        #: Messages rejected as unusable.
        self.rejected = 0
        #: Readings emitted.
        self.emitted = 0
        self._log_limit = LogLimiter()

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> Self:
        """Registry factory of every MQTT meter (its ``__init__`` takes name, config, clock): listens on the
        context's MQTT connection (ValueError when there is none)."""
        # Every concrete MQTT meter's __init__ is (name, config, clock); the base's is not.
        source = cls(name, config, context.clock)  # type: ignore[arg-type]
        source.connection = context.require_mqtt(f"meter {name!r}")
        return source

    def json_object(self, payload: bytes) -> dict[str, Any] | Bad:
        """The payload as a JSON object (bounded in size), or why it is not one."""
        data = decode_json(payload, self.max_payload_bytes)
        if isinstance(data, Bad):
            return data
        if not isinstance(data, dict):
            return Bad(f"expected a JSON object, got {type(data).__name__}")
        return data

    @abstractmethod
    def topics(self) -> list[str]:
        """Topic filters this source listens to."""

    @abstractmethod
    def parse(self, topic: str, payload: bytes, now_s: float) -> MeterReading | Bad | None:
        """A reading, a rejection, or None for a valid message that carries no reading (e.g. ``type: day``)."""

    async def run(self, sink: MeterSink) -> None:
        """Listen until cancelled. Raises when built without an MQTT connection (no ``mqtt:`` section)."""
        if self.connection is None:
            raise RuntimeError(f"meter {self.name!r} needs MQTT but the configuration has no mqtt: section")
        self.error = None
        subs: list[Subscription] = []

        def handle(topic: str, payload: bytes, retained: bool) -> None:
            if retained:  # a retained meter value is old news of unknown age: not a reading
                log.debug("meter %s: ignoring retained message on %s", self.name, topic)
                return
            self.on_message(topic, payload, sink)

        try:
            for topic_filter in self.topics():
                subs.append(self.connection.subscribe(topic_filter, handle))
            await asyncio.Event().wait()
        finally:
            for sub in subs:
                sub.cancel()

    def on_message(self, topic: str, payload: bytes, sink: MeterSink) -> None:
        """Parse one message and emit its reading (or reject it)."""
        now = self.clock.now()
        if len(payload) > self.max_payload_bytes:
            result: MeterReading | Bad | None = Bad(
                f"payload of {len(payload)} bytes is larger than the limit of {self.max_payload_bytes}"
            )
        else:
            try:
                result = self.parse(topic, payload, now)
            except Exception as e:  # a parser bug must look like a bad message, not kill the source
                log.exception("meter %s: parser failed", self.name)
                result = Bad(f"parser failed: {e}")
        if isinstance(result, MeterReading) and (problem := meter_reading_problem(result)) is not None:
            result = Bad(f"implausible: {problem}")  # emon/data pwr1: -1e12 is a broken sensor, not a site
        if isinstance(result, Bad):
            self.rejected += 1
            self.failures += 1
            if self._log_limit.allow(now):
                log.warning(
                    "meter %s: ignored message on %s %s: %s",
                    self.name,
                    topic,
                    preview(payload),
                    result.reason,
                )
            return
        if result is not None:
            self.emitted += 1
            self.failures = 0
            sink.on_meter_reading(self.name, result)


def _pv(value: float) -> float:
    """PV is >= 0: a CT's small negative night reading becomes 0."""
    return max(0.0, value)


def _optional_number(data: dict[str, Any], key: str | None) -> float | None:
    """A valid number under ``key``, else None (optional values never reject a message)."""
    if key is None or key not in data:
        return None
    value = to_number(data[key])
    return None if isinstance(value, Bad) else value


# --------------------------------------------------------------------------------- ecotrack monitor


class EcotrackMonitorSource(MqttSource):
    """The seed program's energy monitor on ``emon/data``: ``{"type":"power","pwr1":..,"volts":..}``."""

    def __init__(self, name: str, config: EcotrackMonitorMeterConfig, clock: Clock) -> None:
        super().__init__(name, clock, config.max_payload_bytes)
        self.config = config

    def topics(self) -> list[str]:
        return [self.config.topic]

    def parse(self, topic: str, payload: bytes, now_s: float) -> MeterReading | Bad | None:
        data = self.json_object(payload)
        if isinstance(data, Bad):
            return data
        kind = data.get("type")
        if kind is None:
            return Bad("no 'type' key")
        if kind != "power":  # 'day' totals and others: valid, but not a power reading
            return None
        cfg = self.config
        if cfg.grid_key not in data:
            return Bad(f"no {cfg.grid_key!r} key")
        grid = to_number(data[cfg.grid_key])
        if isinstance(grid, Bad):
            return Bad(f"{cfg.grid_key}: {grid.reason}")
        pv = _optional_number(data, cfg.pv_key)
        return MeterReading(
            t_s=now_s,
            grid_w=grid,
            pv_w=_pv(pv) if pv is not None else None,
            voltage_v=_optional_number(data, cfg.voltage_key),
        )


# ------------------------------------------------------------------------------------------ emonhub


@dataclass(slots=True)
class _Latest:
    value: float
    t_s: float


class EmonhubSource(MqttSource):
    """emonhub: per-key topics ``emon/<node>/<key>`` or one JSON object per node on ``emon/<node>``.

    A reading is emitted when the grid key arrives; PV and voltage are the latest values of their keys
    if they are younger than ``max_age_s`` (in the per-key form they arrive as separate messages).
    """

    def __init__(self, name: str, config: EmonhubMeterConfig, clock: Clock) -> None:
        super().__init__(name, clock, config.max_payload_bytes)
        self.config = config
        self.node_topic = f"{config.base_topic}/{config.node}"
        self._latest: dict[str, _Latest] = {}

    def topics(self) -> list[str]:
        return [self.node_topic, f"{self.node_topic}/+"]

    def _wanted(self) -> set[str]:
        cfg = self.config
        return {k for k in (cfg.grid_key, cfg.pv_key, cfg.voltage_key) if k is not None}

    def parse(self, topic: str, payload: bytes, now_s: float) -> MeterReading | Bad | None:
        values: dict[str, float] = {}
        if topic == self.node_topic:
            data = self.json_object(payload)
            if isinstance(data, Bad):
                return data
            for key in self._wanted() & set(data):
                number = to_number(data[key])
                if isinstance(number, Bad):
                    return Bad(f"{key}: {number.reason}")
                values[key] = number
        elif matches(f"{self.node_topic}/+", topic):
            key = topic.rsplit("/", 1)[1]
            if key not in self._wanted():
                return None  # another input of the node (temperature, pulse count)
            number = to_number(payload)
            if isinstance(number, Bad):
                return Bad(f"{key}: {number.reason}")
            values[key] = number
        else:
            return None
        for key, value in values.items():
            self._latest[key] = _Latest(value, now_s)
        cfg = self.config
        if cfg.grid_key not in values:
            return None  # PV or voltage alone: remembered for the next grid value
        grid = -values[cfg.grid_key] if cfg.grid_invert else values[cfg.grid_key]
        pv = self._fresh(cfg.pv_key, now_s)
        if pv is not None:
            pv = _pv(-pv if cfg.pv_invert else pv)
        return MeterReading(t_s=now_s, grid_w=grid, pv_w=pv, voltage_v=self._fresh(cfg.voltage_key, now_s))

    def _fresh(self, key: str | None, now_s: float) -> float | None:
        if key is None:
            return None
        latest = self._latest.get(key)
        if latest is None or now_s - latest.t_s > self.config.max_age_s:
            return None
        return latest.value


# -------------------------------------------------------------------------------------- DSMR-reader


class DsmrReaderSource(MqttSource):
    """DSMR-reader's JSON telegram: grid = (currently delivered - currently returned) kW x 1000."""

    def __init__(self, name: str, config: DsmrReaderMeterConfig, clock: Clock) -> None:
        super().__init__(name, clock, config.max_payload_bytes)
        self.config = config

    def topics(self) -> list[str]:
        return [self.config.topic]

    def parse(self, topic: str, payload: bytes, now_s: float) -> MeterReading | Bad | None:
        data = self.json_object(payload)
        if isinstance(data, Bad):
            return data
        cfg = self.config
        kw: list[float] = []
        for key in (cfg.delivered_key, cfg.returned_key):
            if key not in data:
                return Bad(f"no {key!r} key")
            number = to_number(data[key])
            if isinstance(number, Bad):
                return Bad(f"{key}: {number.reason}")
            if number < 0:
                return Bad(f"{key}: negative power {number} kW")
            kw.append(number)
        return MeterReading(
            t_s=now_s, grid_w=(kw[0] - kw[1]) * 1000.0, voltage_v=_optional_number(data, cfg.voltage_key)
        )


# ------------------------------------------------------------------------------------------ generic


_QUANTITIES = ("grid", "pv", "battery", "battery_soc", "voltage")


class GenericMqttSource(MqttSource):
    """One topic per quantity, each a plain number or JSON with a dotted path, scaled and signed.

    With a grid value configured, a reading is emitted on each grid message, combined with the latest
    fresh values of the other quantities; without one (a PV-only meter), on each message.
    """

    def __init__(self, name: str, config: MqttMeterConfig, clock: Clock) -> None:
        super().__init__(name, clock, config.max_payload_bytes)
        self.config = config
        self.values: dict[str, MqttValueConfig] = {
            q: v for q in _QUANTITIES if (v := getattr(config, q)) is not None
        }
        self._latest: dict[str, _Latest] = {}

    def topics(self) -> list[str]:
        return list(dict.fromkeys(v.topic for v in self.values.values()))

    @staticmethod
    def extract(value_cfg: MqttValueConfig, payload: bytes, max_bytes: int) -> float | Bad:
        """The scaled, signed value of one message for one quantity."""
        number: float | Bad
        if value_cfg.path:
            data = decode_json(payload, max_bytes)
            if isinstance(data, Bad):
                return data
            found = at_path(data, value_cfg.path)
            number = found if isinstance(found, Bad) else to_number(found)
        else:
            number = to_number(payload)
            if isinstance(number, Bad):  # a JSON number ("12.5" is both) or a JSON string of one
                data = decode_json(payload, max_bytes)
                if not isinstance(data, Bad) and not isinstance(data, dict | list):
                    number = to_number(data)
        if isinstance(number, Bad):
            return number
        number *= value_cfg.scale
        return -number if value_cfg.invert else number

    def parse(self, topic: str, payload: bytes, now_s: float) -> MeterReading | Bad | None:
        updated: list[str] = []
        for quantity, value_cfg in self.values.items():
            if value_cfg.topic != topic:
                continue
            number = self.extract(value_cfg, payload, self.max_payload_bytes)
            if isinstance(number, Bad):
                return Bad(f"{quantity}: {number.reason}")
            if quantity == "battery_soc" and not 0.0 <= number <= 100.0:
                return Bad(f"battery_soc: {number} % is outside 0..100")
            updated.append(quantity)
            self._latest[quantity] = _Latest(number, now_s)
        if not updated:
            return None
        if "grid" in self.values and "grid" not in updated:
            return None  # remembered for the next grid value

        def fresh(q: str) -> float | None:
            latest = self._latest.get(q)
            if latest is None or now_s - latest.t_s > self.config.max_age_s:
                return None
            return latest.value

        pv = fresh("pv")
        return MeterReading(
            t_s=now_s,
            grid_w=fresh("grid"),
            pv_w=_pv(pv) if pv is not None else None,
            battery_w=fresh("battery"),
            battery_soc_pct=fresh("battery_soc"),
            voltage_v=fresh("voltage"),
        )
