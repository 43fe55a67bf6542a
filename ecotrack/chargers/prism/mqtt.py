"""The Prism over its firmware's MQTT API, through the shared ecotrack MQTT connection.

Subscribes ``<base>/<port>/+`` (retained status, published on change), ``<base>/commandresult/#``
(``.../<cmd>/error`` is a fault until the same command succeeds) and ``<base>/hello``. Commands go to
``<base>/<port>/command/set_current_limit`` and ``.../set_mode``. Bad status values are logged with
topic and payload and change nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ecotrack.chargers.prism.base import PrismChargerBase
from ecotrack.chargers.prism.config import PrismChargerConfig
from ecotrack.chargers.prism.state import PrismMode, format_amps
from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext
from ecotrack.transport.mqtt.connection import MqttConnection, Subscription
from ecotrack.transport.mqtt.payloads import Bad, LogLimiter, preview

__all__ = ["PrismMqttCharger"]

log = logging.getLogger(__name__)

#: Status payloads longer than this are not numbers; rejected unread.
_MAX_STATUS_BYTES = 256
#: The commands this driver sends; results for others are ignored.
_COMMANDS = frozenset({"set_current_limit", "set_mode"})


class PrismMqttCharger(PrismChargerBase):
    """A Prism controlled over MQTT (see the module docstring)."""

    def __init__(self, name: str, config: PrismChargerConfig, clock: Clock) -> None:
        super().__init__(name, config, clock)
        self.mqtt_config = config
        self.base = f"{config.base_topic}/{config.port}"
        self.connection: MqttConnection | None = None
        #: Status messages rejected as unusable.
        self.rejected = 0
        self._log_limit = LogLimiter()
        #: ``hello`` and ``commandresult/*/error`` lines: a few a minute, whatever is published.
        self._hello_log = LogLimiter(burst=3, window_s=60.0)
        self._result_log = LogLimiter(burst=5, window_s=60.0)
        self._failed_commands: set[str] = set()

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> PrismMqttCharger:
        """Registry factory: talks through the context's MQTT connection (ValueError when there is none)."""
        charger = cls(name, config, context.clock)
        charger.connection = context.require_mqtt(f"charger {name!r}")
        return charger

    # ------------------------------------------------------------------ transport
    def _transport_up(self) -> bool:
        return self.connection is not None and self.connection.connected

    async def _command(self, name: str, payload: str) -> None:
        if self.connection is None:
            raise ConnectionError(f"charger {self.name}: no MQTT connection")
        await self.connection.publish(f"{self.base}/command/{name}", payload, qos=1)

    async def _send_limit(self, amps: float) -> None:
        await self._command("set_current_limit", format_amps(amps))

    async def _send_mode(self, mode: PrismMode) -> None:
        await self._command("set_mode", str(int(mode)))

    # ------------------------------------------------------------------ run
    async def run(self) -> None:
        """Listen to the Prism and keep its reports fresh until cancelled."""
        if self.connection is None:
            raise RuntimeError(
                f"charger {self.name!r} is a Prism over MQTT but the configuration has no mqtt: section"
            )
        self.error = None
        subs: list[Subscription] = [
            self.connection.subscribe(f"{self.base}/+", self._on_status),
            self.connection.subscribe(f"{self.mqtt_config.base_topic}/commandresult/#", self._on_result),
            self.connection.subscribe(f"{self.mqtt_config.base_topic}/hello", self._on_hello),
        ]
        try:
            await self._housekeeping()
        finally:
            for sub in subs:
                sub.cancel()

    def _reject(self, topic: str, payload: bytes, reason: str) -> None:
        self.rejected += 1
        if self._log_limit.allow(self.clock.now()):
            log.warning("charger %s: ignored %s %s: %s", self.name, topic, preview(payload), reason)

    def _on_status(self, topic: str, payload: bytes, retained: bool) -> None:
        key = topic.rsplit("/", 1)[1]
        if len(payload) > _MAX_STATUS_BYTES:
            self._reject(topic, payload, f"{len(payload)} bytes is too long for a status value")
            return
        result = self.status.apply(key, payload)
        if isinstance(result, Bad):
            self._reject(topic, payload, result.reason)
            return
        if key == "amp":
            self._measured()
        if key == "error":
            code = self.status.error
            self._set_fault(f"Prism reports error {code}" if code else self._command_fault())
        self._status_changed()

    def _command_fault(self) -> str | None:
        if not self._failed_commands:
            return None
        return "Prism rejected " + ", ".join(sorted(self._failed_commands))

    def _on_result(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained:
            return  # an old result of an earlier run says nothing about now
        parts = topic.split("/")
        if len(parts) < 3 or parts[-1] not in ("success", "error"):
            return
        command = parts[-2]
        if command not in _COMMANDS:
            return  # a result for a command we never send (another client, or junk): nothing to keep
        if parts[-1] == "error":
            self._failed_commands.add(command)
            text = payload[:200].decode("utf-8", "replace")
            if self._result_log.allow(self.clock.now()):
                log.warning("charger %s: Prism rejected %s: %s", self.name, command, text)
            self._set_fault(f"Prism rejected {command}: {text}")
        else:
            self._failed_commands.discard(command)
            if not self.status.error:
                self._set_fault(self._command_fault())
        self._wake.set()

    def _on_hello(self, topic: str, payload: bytes, retained: bool) -> None:
        text = payload[:200].decode("utf-8", "replace").strip()
        if text:
            if self._hello_log.allow(self.clock.now()):
                log.info("charger %s: %s", self.name, text)
            self.status.firmware = text
        self._wake.set()

    async def wait_for_status(self, timeout_s: float) -> None:
        """Wait until the first status arrived (tests and tools)."""
        async with asyncio.timeout(timeout_s):
            while self._last_status_s is None:
                await asyncio.sleep(0.01)
